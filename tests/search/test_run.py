"""The search driver with a fake trainer, in one process: every unit once, resume, reuse, faults."""

from __future__ import annotations

import dataclasses
import sqlite3
from collections import Counter
from pathlib import Path

import optuna
import pandas as pd
import pytest
import search_fakes
from optuna.trial import TrialState

from scalesearch.core import evidence
from scalesearch.core.errors import StorageError, UsageError
from scalesearch.core.record import TrialRecord
from scalesearch.report.best import load_best
from scalesearch.report.outputs import write_outputs
from scalesearch.report.table import frame as rows_frame, ranked_rows, ranked_study
from scalesearch.search.config import SearchConfig
from scalesearch.search.plan import plan
from scalesearch.search.run import progress, run_search
from scalesearch.search.runcache import ProxyRunCache
from scalesearch.search.schedule import Rung


@pytest.fixture
def fake_log(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    log = tmp_path / "trained.log"
    monkeypatch.setenv("SCALESEARCH_FAKE_LOG", str(log))
    return log


def study_frame(study: optuna.Study):  # noqa: ANN201
    return rows_frame(ranked_rows(study)[1])


def trained(log: Path) -> Counter[tuple[str, str, str]]:
    """(proxy architecture, resolution, seed) -> times trained."""
    if not log.exists():
        return Counter()
    return Counter(tuple(line.split()[:3]) for line in log.read_text().splitlines())  # type: ignore[misc]  # three fields per log line


def test_every_network_trained_once_then_the_leaders_promoted(small_config: SearchConfig, fake_log: Path) -> None:
    p = plan(small_config)
    n = len(p.space.proxy_groups)
    assert 3 < n < len(p.space.candidates)
    outcome = run_search(small_config, trainer=search_fakes.fake_train, the_plan=p)
    runs = trained(fake_log)
    assert set(runs.values()) == {1}  # nothing trained twice
    promoted = small_config.schedule.promoted_count(n - 1)  # the infeasible baseline never moves up
    assert len(runs) == n + 2 * promoted  # every network at rung 0 (1 seed), the leaders at rung 1 (2 seeds)
    assert sum(1 for k in runs if k[2].endswith("@4")) == 2 * promoted  # rung 1 trains 4 epochs, from scratch
    frame = study_frame(outcome.study)
    assert len(frame) == len(p.space.candidates)  # one row per triple
    assert (frame["status"] == "ok").all()
    ranked = frame[frame["rank"].notna()]
    top = ranked.drop_duplicates("network").head(promoted)
    assert (top["rung"] == 1).all() and (top["seeds"] == 2).all()  # the promoted rank first, at their rung
    assert (ranked.drop_duplicates("network").iloc[promoted:]["rung"] == 0).all()
    assert ranked["training_speed"].notna().all()
    # Triples sharing a network share its accuracy; the score differs only by their FLOPs.
    for _, g in frame.groupby("network"):
        assert g["accuracy_mean"].nunique() == 1


def test_rerun_trains_nothing_and_starts_no_trial(small_config: SearchConfig, fake_log: Path) -> None:
    first = run_search(small_config, trainer=search_fakes.fake_train)
    n_trials = len(first.study.trials)
    log_before = fake_log.read_text()
    second = run_search(small_config, trainer=search_fakes.fake_train)
    assert len(second.study.trials) == n_trials  # an exhausted grid starts no extra trial
    assert fake_log.read_text() == log_before


def test_other_study_reuses_cached_runs(small_config: SearchConfig, fake_log: Path) -> None:
    run_search(small_config, trainer=search_fakes.fake_train)
    before = trained(fake_log)
    # Another target: another study, the same training and (T scales every score alike) the same leaders.
    other = dataclasses.replace(small_config, target_flops=10**9)
    outcome = run_search(other, trainer=search_fakes.fake_train)
    assert outcome.study.study_name != run_search(small_config, trainer=search_fakes.fake_train).study.study_name
    assert trained(fake_log) == before
    records = [TrialRecord.read(t) for t in outcome.study.trials]
    reused = [r.reused for rec in records if rec for r in rec.results]
    assert reused and None not in reused  # nothing trained: every result came from the cache or a sibling trial
    assert "cache" in reused
    no_cache = dataclasses.replace(small_config, w=-0.2, cache=False)
    run_search(no_cache, trainer=search_fakes.fake_train)
    assert sum(trained(fake_log).values()) > sum(before.values())


def test_diverged_candidates_are_recorded_and_the_search_goes_on(small_config: SearchConfig) -> None:
    outcome = run_search(small_config, trainer=search_fakes.diverging_train)
    frame = study_frame(outcome.study)
    deep = frame["layers"] > 3
    assert deep.any() and (~deep).any()
    assert (frame.loc[deep, "status"] == "diverged").all()
    assert (frame.loc[~deep, "status"] == "ok").all()
    assert frame.loc[deep, "score"].isna().all() and frame.loc[deep, "rank"].isna().all()
    assert all(t.state == TrialState.COMPLETE for t in outcome.study.trials)


def test_outputs_and_best_json(small_config: SearchConfig) -> None:
    outcome = run_search(small_config, trainer=search_fakes.fake_train)
    folder = outcome.plan.study_dir
    out = write_outputs(outcome.study, folder, storage="sqlite", command="scalesearch grid", finished=True,
                        seconds=1.0)
    frame, noise, paths = out.frame, out.noise, out.paths
    csv = paths["trials"].read_text().splitlines()
    assert len(csv) == 1 + len(frame)
    for column in ("alpha", "beta", "gamma", "depth_achieved", "width_achieved", "resolution_achieved",
                   "resolution_px", "proxy_resolution_px", "flops", "params",
                   "activations", "flops_ratio", "accuracy_mean", "accuracy_std", "score", "status", "seconds",
                   "group"):
        assert column in csv[0].split(",")
    best = load_best(folder)
    top = frame[frame["rank"] == 1].iloc[0]
    assert (best.alpha, best.beta, best.gamma) == (top["alpha"], top["beta"], top["gamma"])
    assert best.baseline == small_config.baseline and best.baseline_spec.name == "tiny"
    assert best.record["versions"]["optuna"] == optuna.__version__
    assert best.record["settings"]["rungs"] == [[2, 1], [4, 2]] and "epochs" not in best.record["settings"]["proxy"]
    assert best.record["rung"] == 1 and best.record["leaders"]["members"][0]["alpha"] == best.alpha
    assert [r["rung"] for r in best.record["rungs"]] == [0, 1]
    assert best.record["rungs"][1]["spearman_vs_previous"] is not None
    assert best.record["noise"]["verdict"] == noise.verdict
    assert load_best(paths["best"]).score == pytest.approx(best.score)


def test_load_best_errors_are_usage_errors(tmp_path: Path) -> None:
    with pytest.raises(UsageError, match="no best.json"):
        load_best(tmp_path)
    (tmp_path / "best.json").write_text("{not json")
    with pytest.raises(UsageError, match="not a readable"):
        load_best(tmp_path)
    (tmp_path / "best.json").write_text('{"alpha": 1.2}')
    with pytest.raises(UsageError, match="missing beta"):
        load_best(tmp_path / "best.json")


def test_changed_settings_under_one_study_name_are_refused(small_config: SearchConfig) -> None:
    named = dataclasses.replace(small_config, study="mine")
    run_search(named, trainer=search_fakes.fake_train)
    with pytest.raises(UsageError, match=r"other settings \(promote: 0.3 \(study\) vs 0.5 \(now\)"):
        run_search(dataclasses.replace(named, promote=0.5), trainer=search_fakes.fake_train)


def test_unreachable_storage_fails_before_any_work(small_config: SearchConfig, fake_log: Path) -> None:
    bad = dataclasses.replace(small_config, storage="postgresql://user:secret@127.0.0.1:9/nope")
    with pytest.raises(StorageError, match=r"cannot open study storage postgresql://user:\*\*\*@127.0.0.1:9/nope"):
        run_search(bad, trainer=search_fakes.fake_train)
    assert not fake_log.exists()


def test_budgeted_tpe_search_stays_within_the_candidates(small_config: SearchConfig, fake_log: Path) -> None:
    tpe = dataclasses.replace(small_config, sampler="tpe", n_trials=6, rungs=(Rung(2, 1),))
    outcome = run_search(tpe, trainer=search_fakes.fake_train)
    finished = [t for t in outcome.study.trials if t.state == TrialState.COMPLETE]
    assert len(finished) == 6
    # Draws outside the constraint are pruned at once, train nothing and do not count towards the budget.
    assert all(t.user_attrs.get("status") == "infeasible" for t in outcome.study.trials if t not in finished)
    assert set(trained(fake_log).values()) == {1}  # a repeated pick reuses, never retrains
    assert len(outcome.study.trials) == len(run_search(tpe, trainer=search_fakes.fake_train).study.trials)


def test_median_pruner_prunes_weak_networks(small_config: SearchConfig) -> None:
    # 14 networks: the median pruner starts after 5 finished trials, and the grid's order is seeded.
    pruned = dataclasses.replace(small_config, pruner="median", alpha="1.0:2.0:0.1", beta="1.0:1.4:0.1",
                                 gamma="1.0:1.4:0.1", rungs=(Rung(3, 1),))
    outcome = run_search(pruned, trainer=search_fakes.fake_train)
    states = Counter(t.state for t in outcome.study.trials)
    assert states[TrialState.PRUNED] >= 1 and states[TrialState.COMPLETE] >= 5
    frame = study_frame(outcome.study)
    assert set(frame["status"]) == {"ok", "pruned"}


def baseline_best_train(spec, data, config, *, seed=0, **kw):  # noqa: ANN001, ANN201
    """The baseline (the smallest network) trains best of all: it lies outside the band, so it must not lead."""
    result = search_fakes.fake_train(spec, data, config, seed=seed, **kw)
    if spec.total_layers == 3 and spec.stages[-1].channels == 24:
        return dataclasses.replace(result, accuracy=0.99, history=(0.5, 0.99))
    return result


def test_progress_table_best_json_and_promotions_agree(small_config: SearchConfig) -> None:
    # An infeasible baseline with the best score, networks shared by several triples, 3-seed vs 1-seed networks:
    # the places that each computed "the best" their own way now call one ranking.
    config = dataclasses.replace(small_config, rungs=(Rung(2, 1), Rung(4, 3)), promote=0.25)
    outcome = run_search(config, trainer=baseline_best_train)
    out = write_outputs(outcome.study, outcome.plan.study_dir, storage="sqlite", command="x", finished=True,
                        seconds=1.0)
    frame, noise, paths = out.frame, out.noise, out.paths
    base = frame[frame["baseline"]].iloc[0]
    assert not base["feasible"] and pd.isna(base["rank"]) and base["score"] == frame["score"].max()
    top = frame[frame["rank"] == 1].iloc[0]
    live = progress(outcome.study, config).leader
    best = load_best(paths["best"])
    assert live is not None and live.candidate.triple == (top["alpha"], top["beta"], top["gamma"])
    assert (best.alpha, best.beta, best.gamma) == live.candidate.triple
    assert noise.leader == live.candidate.triple
    confirmed = set(frame.loc[frame["rung"] == 1, "network"])
    assert base["network"] not in confirmed and base["seeds"] == 1
    assert confirmed == set(frame[frame["rank"].notna()].drop_duplicates("network").head(3)["network"])
    shared = frame.groupby("network").filter(lambda g: len(g) > 1)
    assert len(shared) and (shared["seeds"] <= 3).all()  # a shared network's seeds are counted once
    for network, g in frame.groupby("network"):
        rung = int(g["rung"].iloc[0])
        seeds = {r.seed for t in outcome.study.trials if (rec := TrialRecord.read(t)) and rec.network == network
                 and rec.rung == rung for r in rec.results}
        assert set(g["seeds"]) == {len(seeds)}


@pytest.mark.parametrize("raw", ["garbage{", "{}", "[0.9, 0.8]", '{"status": "ok", "accuracy": "high"}',
                                 '{"status": "pruned", "accuracy": 0.99}'])
def test_damaged_proxy_cache_entries_are_retrained_not_fatal(small_config: SearchConfig, fake_log: Path,
                                                             raw: str) -> None:
    small_config = dataclasses.replace(small_config, rungs=(Rung(2, 1),))  # one rung: one cache scope
    first = run_search(small_config, trainer=search_fakes.fake_train)
    runs = trained(fake_log)
    cache = ProxyRunCache(small_config.cache_path,
                          settings={"data": small_config.data, "proxy": small_config.proxy_settings(0)})
    stored = [(n.proxy_key, seed) for n in first.plan.space.networks() for seed in range(small_config.rungs[0].seeds)
              if cache.get(n.proxy_key, seed) is not None]
    assert len(stored) == len(runs)  # every run trained is in the cache
    with sqlite3.connect(small_config.cache_path) as db:  # ... and is now damaged, under its own key
        for proxy_key, seed in stored:
            assert db.execute("UPDATE runs SET value = ? WHERE key = ?", (raw, cache._key(proxy_key, seed))).rowcount
    assert all(cache.get(proxy_key, seed) is None for proxy_key, seed in stored)
    other = run_search(dataclasses.replace(small_config, target_flops=10**9), trainer=search_fakes.fake_train)
    assert trained(fake_log) == Counter({run: 2 for run in runs})  # each run trained again, once
    accuracy = {(r["network"], r["seeds"]): r["accuracy_mean"] for _, r in study_frame(first.study).iterrows()}
    again = {(r["network"], r["seeds"]): r["accuracy_mean"] for _, r in study_frame(other.study).iterrows()}
    assert again == accuracy
    assert all(cache.get(proxy_key, seed) is not None for proxy_key, seed in stored)  # retrains replaced them


@pytest.mark.parametrize("damage", ["garbage", "truncated"])
def test_damaged_study_file_says_how_to_recover_and_the_rerun_retrains_nothing(
        small_config: SearchConfig, fake_log: Path, damage: str) -> None:
    assert small_config.cache  # the proxy-run cache is what makes the way back free
    first = run_search(small_config, trainer=search_fakes.fake_train)
    before = trained(fake_log)
    ranking = study_frame(first.study)[["alpha", "beta", "gamma", "accuracy_mean", "rank"]]
    db = first.plan.study_dir / "study.db"
    data = db.read_bytes()
    db.write_bytes(b"this is not a study\n" * 500 if damage == "garbage" else data[: len(data) // 2])
    with pytest.raises(StorageError) as info:
        run_search(small_config, trainer=search_fakes.fake_train)
    message = str(info.value)
    assert "\n" not in message and info.value.exit_code == 4
    assert f"cannot open study storage sqlite:///{db}" in message
    assert f"the file is damaged: move it aside (mv {db} {db}.damaged) and rerun the same command" in message
    assert "finished proxy runs are kept in the proxy-run cache" in message
    db.rename(db.with_name("study.db.damaged"))
    again = run_search(small_config, trainer=search_fakes.fake_train)
    assert trained(fake_log) == before  # every proxy run came back from the cache
    pd.testing.assert_frame_equal(study_frame(again.study)[ranking.columns], ranking)


class StopAfter:
    """The fake trainer, then Ctrl-C (KeyboardInterrupt) at its call number ``n``: a search interrupted there."""

    def __init__(self, n: int) -> None:
        self.n, self.calls = n, 0

    def __call__(self, spec, data, config, **kw):  # noqa: ANN001, ANN204
        self.calls += 1
        if self.calls == self.n:
            raise KeyboardInterrupt
        return search_fakes.fake_train(spec, data, config, **kw)


def test_evidence_knows_how_far_each_rung_is_as_the_scheduler_does(small_config: SearchConfig) -> None:
    """evidence.progress (core, no scheduler) plans each rung's networks as search.schedule decides them, so
    a finished search is never called partial and an interrupted one always is."""
    config = dataclasses.replace(small_config, rungs=(Rung(2, 1), Rung(4, 2), Rung(6, 2)), promote=0.2,
                                 references=("depth-only", "width-only"))
    stopped = run_search(config, trainer=StopAfter(5))
    assert stopped.interrupted and not stopped.complete
    record, rows, runs = ranked_study(stopped.study)
    steps = evidence.progress(record, runs)
    assert len(steps) == 1 and steps[0].trained == 4 and not steps[0].complete
    assert steps[0].planned == len(stopped.plan.space.proxy_groups)
    out = write_outputs(stopped.study, stopped.plan.study_dir, storage="sqlite", command="x", finished=False,
                        seconds=1.0)
    assert out.noise.verdict.startswith("partial: 4 of ") and out.evidence is not None and out.evidence.partial
    assert load_best(out.paths["best"]).record["leaders"]["partial"] is True

    done = run_search(config, trainer=search_fakes.fake_train)  # resumes to the end
    assert done.complete and not done.notes
    record, rows, runs = ranked_study(done.study)
    steps = evidence.progress(record, runs)
    assert [p.planned for p in steps] == [len(runs[r]) for r in range(3)]  # what the scheduler trained
    assert all(p.complete for p in steps)
    assert any(c.reference and c.network in runs[2] for c in record.candidates)  # yardsticks carried up: counted
    assert evidence.partial(record, runs) == ""
    out = write_outputs(done.study, done.plan.study_dir, storage="sqlite", command="x", finished=True, seconds=1.0)
    assert out.evidence is not None and not out.evidence.partial and "partial" not in out.noise.verdict
