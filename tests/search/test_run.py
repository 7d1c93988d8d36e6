"""The search driver with a fake trainer, in one process: every unit once, resume, reuse, faults."""

from __future__ import annotations

import dataclasses
from collections import Counter
from pathlib import Path

import optuna
import pytest
import search_fakes
from optuna.trial import TrialState

from scalesearch.errors import StorageError, UsageError
from scalesearch.report.study import study_frame, write_outputs
from scalesearch.search.best import load_best
from scalesearch.search.config import GridConfig
from scalesearch.search.run import plan, run_grid


@pytest.fixture
def fake_log(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    log = tmp_path / "trained.log"
    monkeypatch.setenv("SCALESEARCH_FAKE_LOG", str(log))
    return log


def trained(log: Path) -> Counter[tuple[str, str, str]]:
    """(proxy architecture, resolution, seed) -> times trained."""
    if not log.exists():
        return Counter()
    return Counter(tuple(line.split()[:3]) for line in log.read_text().splitlines())  # type: ignore[misc]


def test_every_network_trained_once_then_confirmed(small_config: GridConfig, fake_log: Path) -> None:
    p = plan(small_config)
    n = len(p.space.proxy_groups)
    assert 3 < n < len(p.space.candidates)
    outcome = run_grid(small_config, trainer=search_fakes.fake_train, the_plan=p)
    runs = trained(fake_log)
    assert set(runs.values()) == {1}  # nothing trained twice
    assert len(runs) == n + small_config.confirm  # every network at seed 0, the two leaders at seed 1 too
    frame = study_frame(outcome.study)
    assert len(frame) == len(p.space.candidates)  # one row per triple
    assert (frame["status"] == "ok").all()
    assert sorted(frame.loc[frame["seeds"] == 2, "proxy_group"].unique().tolist()) == sorted(
        frame.drop_duplicates("proxy_group").head(2)["proxy_group"].tolist())  # the confirmed are the leaders
    # Triples sharing a network share its accuracy; the score differs only by their FLOPs.
    for _, g in frame.groupby("proxy_group"):
        assert g["accuracy_mean"].nunique() == 1


def test_rerun_trains_nothing_and_starts_no_trial(small_config: GridConfig, fake_log: Path) -> None:
    first = run_grid(small_config, trainer=search_fakes.fake_train)
    n_trials = len(first.study.trials)
    log_before = fake_log.read_text()
    second = run_grid(small_config, trainer=search_fakes.fake_train)
    assert len(second.study.trials) == n_trials  # an exhausted grid starts no extra trial
    assert fake_log.read_text() == log_before


def test_other_study_reuses_cached_runs(small_config: GridConfig, fake_log: Path) -> None:
    run_grid(small_config, trainer=search_fakes.fake_train)
    before = trained(fake_log)
    # Another target: another study, the same training and (T scales every score alike) the same leaders.
    other = dataclasses.replace(small_config, target_flops=10**9)
    outcome = run_grid(other, trainer=search_fakes.fake_train)
    assert outcome.study.study_name != run_grid(small_config, trainer=search_fakes.fake_train).study.study_name
    assert trained(fake_log) == before
    reused = [r["reused"] for t in outcome.study.trials for r in t.user_attrs.get("results", [])]
    assert reused and all(r == "cache" for r in reused)
    no_cache = dataclasses.replace(small_config, w=-0.2, cache=False)
    run_grid(no_cache, trainer=search_fakes.fake_train)
    assert sum(trained(fake_log).values()) > sum(before.values())


def test_diverged_candidates_are_recorded_and_the_search_goes_on(small_config: GridConfig) -> None:
    outcome = run_grid(small_config, trainer=search_fakes.diverging_train)
    frame = study_frame(outcome.study)
    deep = frame["layers"] > 3
    assert deep.any() and (~deep).any()
    assert (frame.loc[deep, "status"] == "diverged").all()
    assert (frame.loc[~deep, "status"] == "ok").all()
    assert frame.loc[deep, "score"].isna().all() and frame.loc[deep, "rank"].isna().all()
    assert all(t.state == TrialState.COMPLETE for t in outcome.study.trials)


def test_outputs_and_best_json(small_config: GridConfig) -> None:
    outcome = run_grid(small_config, trainer=search_fakes.fake_train)
    folder = outcome.plan.study_dir
    frame, noise, paths = write_outputs(outcome.study, folder, storage="sqlite", command="scalesearch grid",
                                        finished=True, seconds=1.0)
    csv = paths["trials"].read_text().splitlines()
    assert len(csv) == 1 + len(frame)
    for column in ("alpha", "beta", "gamma", "d", "w", "r", "resolution", "proxy_resolution", "flops", "params",
                   "activations", "flops_ratio", "accuracy_mean", "accuracy_std", "score", "status", "seconds",
                   "group"):
        assert column in csv[0].split(",")
    best = load_best(folder)
    top = frame[frame["feasible"]].iloc[0]
    assert (best.alpha, best.beta, best.gamma) == (top["alpha"], top["beta"], top["gamma"])
    assert best.baseline == small_config.baseline and best.baseline_spec.name == "tiny"
    assert best.record["versions"]["optuna"] == optuna.__version__
    assert best.record["settings"]["proxy"]["epochs"] == 2
    assert best.record["noise"]["verdict"] == noise["verdict"]
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


def test_changed_settings_under_one_study_name_are_refused(small_config: GridConfig) -> None:
    named = dataclasses.replace(small_config, study="mine")
    run_grid(named, trainer=search_fakes.fake_train)
    with pytest.raises(UsageError, match=r"other settings \(proxy.epochs: 2 \(study\) vs 3 \(now\)"):
        run_grid(dataclasses.replace(named, proxy=dataclasses.replace(named.proxy, epochs=3)),
                 trainer=search_fakes.fake_train)


def test_unreachable_storage_fails_before_any_work(small_config: GridConfig, fake_log: Path) -> None:
    bad = dataclasses.replace(small_config, storage="postgresql://user:secret@127.0.0.1:9/nope")
    with pytest.raises(StorageError, match=r"cannot open study storage postgresql://user:\*\*\*@127.0.0.1:9/nope"):
        run_grid(bad, trainer=search_fakes.fake_train)
    assert not fake_log.exists()


def test_budgeted_tpe_search_stays_within_the_candidates(small_config: GridConfig, fake_log: Path) -> None:
    tpe = dataclasses.replace(small_config, sampler="tpe", n_trials=6, confirm=0)
    outcome = run_grid(tpe, trainer=search_fakes.fake_train)
    finished = [t for t in outcome.study.trials if t.state == TrialState.COMPLETE]
    assert len(finished) == 6
    assert set(trained(fake_log).values()) == {1}  # a repeated pick reuses, never retrains
    assert len(outcome.study.trials) == len(run_grid(tpe, trainer=search_fakes.fake_train).study.trials)


def test_median_pruner_prunes_weak_networks(small_config: GridConfig) -> None:
    # 14 networks: the median pruner starts after 5 finished trials, and the grid's order is seeded.
    pruned = dataclasses.replace(small_config, pruner="median", alpha="1.0:2.0:0.1", beta="1.0:1.4:0.1",
                                 gamma="1.0:1.4:0.1", proxy=dataclasses.replace(small_config.proxy, epochs=3))
    outcome = run_grid(pruned, trainer=search_fakes.fake_train)
    states = Counter(t.state for t in outcome.study.trials)
    assert states[TrialState.PRUNED] >= 1 and states[TrialState.COMPLETE] >= 5
    frame = study_frame(outcome.study)
    assert set(frame["status"]) == {"ok", "pruned"}
