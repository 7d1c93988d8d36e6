"""--seed-base N: the trainer gets seed N + index while the study keeps the indices; a seed base is a study
setting stored only when not 0 (earlier studies keep their fingerprint), and the proxy-run cache never hands
a run of one seed base to a study of another."""

from __future__ import annotations

import dataclasses
import json
from pathlib import Path

import pytest
import search_fakes
from typer.testing import CliRunner

from scalesearch.cli.main import app
from scalesearch.core.racing import MAX_ROUNDS
from scalesearch.core.record import StudyRecord, fingerprint, network_runs
from scalesearch.core.runs import ProxyResult, RunStatus
from scalesearch.core.settings import MAX_SEED, StudySettings
from scalesearch.report.view import rebuild_command
from scalesearch.search.config import SearchConfig
from scalesearch.search.run import Outcome, run_search
from scalesearch.search.runcache import ProxyRunCache, run_scope
from scalesearch.search.schedule import Rung

runner = CliRunner()
SMALL = ["--data", "synthetic", "--alpha", "1.0:2.0:0.2", "--beta", "1.0:1.4:0.2", "--gamma", "1.0:1.4:0.2",
         "--tolerance", "0.1", "--references", "none", "--batch-size", "32", "--rungs", "2x1,4x2",
         "--workers", "1", "--no-report", "--json"]


def trained(log: Path) -> list[int]:
    """The seeds the fake trainer was called with, one per training (its log line ends 'SEED@EPOCHS PID')."""
    return [int(line.split()[-2].split("@")[0]) for line in log.read_text().splitlines()] if log.exists() else []


def stored_seeds(outcome: Outcome) -> set[int]:
    """Every seed the study's records hold: the SeedRun's and its result's."""
    out: set[int] = set()
    for per_network in network_runs(outcome.study.trials).values():
        for runs in per_network.values():
            for run in runs:
                assert run.result.seed == run.seed
                out.add(run.seed)
    return out


@pytest.fixture
def log(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    path = tmp_path / "trained.log"
    monkeypatch.setenv("SCALESEARCH_FAKE_LOG", str(path))
    return path


def test_the_trainer_gets_base_plus_index_and_the_study_keeps_the_index(small_config: SearchConfig,
                                                                        log: Path) -> None:
    default = run_search(small_config, trainer=search_fakes.fake_train)
    assert set(trained(log)) == {0, 1} and stored_seeds(default) == {0, 1}  # rung 1 trains 2 seeds
    log.unlink()
    shifted = run_search(small_config.replace(seed_base=1000), trainer=search_fakes.fake_train)
    assert set(trained(log)) == {1000, 1001}  # nothing from the seed-base-0 runs in the shared cache
    assert stored_seeds(shifted) == {0, 1}  # indices: rungs, pairing and the scheduler are unchanged
    assert len(trained(log)) == sum(r.reused is None for per in network_runs(shifted.study.trials).values()
                                    for runs in per.values() for r in runs)
    # The accuracies are those of the seeds trained: seed index k holds the fake's accuracy for seed 1000 + k.
    record = StudyRecord.read(shifted.study)
    epochs = {i: r.epochs for i, r in enumerate(small_config.rungs)}
    for rung, per_network in network_runs(shifted.study.trials).items():
        for network, runs in per_network.items():
            spec = record.networks[network].spec
            assert [r.result.accuracy for r in runs] == [
                search_fakes.fake_accuracy(spec, 1000 + r.seed, epochs[rung]) for r in runs]
    assert shifted.plan.study_name != default.plan.study_name


def test_a_study_with_a_seed_base_resumes_and_its_runs_are_cached_under_it(small_config: SearchConfig,
                                                                           log: Path) -> None:
    config = small_config.replace(seed_base=1000, rungs=(Rung(2, 1),))
    first = run_search(config, trainer=search_fakes.fake_train)
    trainings = len(trained(log))
    assert trainings and set(trained(log)) == {1000}
    again = run_search(config, trainer=search_fakes.fake_train)  # the same command: the same study, done
    assert again.plan.study_name == first.plan.study_name and len(trained(log)) == trainings
    other = run_search(config.replace(study="another"), trainer=search_fakes.fake_train)  # a new study: cache hits
    assert len(trained(log)) == trainings and stored_seeds(other) == {0}
    base0 = run_search(config.replace(seed_base=0, study="base0"), trainer=search_fakes.fake_train)
    assert len(trained(log)) == 2 * trainings and set(trained(log)[trainings:]) == {0}  # no seed-1000 result
    assert stored_seeds(base0) == {0}


def test_the_cache_scope_holds_the_seed_base_only_when_set(small_config: SearchConfig, tmp_path: Path) -> None:
    proxy = small_config.proxy
    assert run_scope("synthetic", proxy, 2) == {"data": "synthetic", "proxy": run_scope("synthetic", proxy, 2)["proxy"]}
    assert run_scope("synthetic", proxy, 2, seed_base=0) == run_scope("synthetic", proxy, 2)
    assert run_scope("synthetic", proxy, 2, seed_base=1000)["seed_base"] == 1000
    assert small_config.run_scope(0) == run_scope("synthetic", proxy, 2)  # the scope every cached run has
    path = tmp_path / "runs.sqlite"
    result = ProxyResult(RunStatus.OK, 0.5, history=(0.25, 0.5), epochs_run=2, seed=0)
    zero = ProxyRunCache(path, small_config.run_scope(0))
    zero.put("net", 0, result)
    thousand = ProxyRunCache(path, small_config.replace(seed_base=1000).run_scope(0))
    try:
        assert zero.get("net", 0) == result
        assert thousand.get("net", 0) is None
    finally:
        zero.close()
        thousand.close()


def test_the_seed_base_is_stored_and_fingerprinted_only_when_not_zero() -> None:
    base = SearchConfig().settings("key", 10)
    assert "seed_base" not in base
    assert SearchConfig(seed_base=0).settings("key", 10) == base
    shifted = SearchConfig(seed_base=1000).settings("key", 10)
    assert shifted == {**base, "seed_base": 1000}
    assert fingerprint(shifted) != fingerprint(base)
    assert SearchConfig().study_name(shifted) != SearchConfig().study_name(base)
    assert StudySettings.from_stored(shifted).seed_base == 1000 and StudySettings.from_stored(base).seed_base == 0
    assert StudySettings.from_stored(shifted).to_stored() == shifted
    assert "--seed-base 1000" in rebuild_command(shifted) and "--seed-base" not in rebuild_command(base)


@pytest.mark.parametrize("value, message", [
    (-1, "seed_base -1: must be an integer >= 0"),
    (1.5, "seed_base 1.5: must be an integer >= 0"),
    (True, "seed_base True: must be an integer >= 0"),
    # the default rungs train seeds 0 and 1, and the race up to MAX_ROUNDS more
    (MAX_SEED, f"must be at most {MAX_SEED - 1 - MAX_ROUNDS:,}"),
])
def test_a_bad_seed_base_is_refused(value: object, message: str) -> None:
    with pytest.raises(ValueError, match=message):
        SearchConfig(seed_base=value)  # type: ignore[arg-type]
    SearchConfig(seed_base=MAX_SEED - 1 - MAX_ROUNDS)  # its last seed, index 1 + MAX_ROUNDS, is MAX_SEED itself


@pytest.mark.parametrize("value, message", [
    ("-1", "--seed-base -1: must be an integer >= 0"),
    ("abc", "Invalid value for '--seed-base': Input should be a valid integer"),
    ("1.5", "Invalid value for '--seed-base': Input should be a valid integer"),
    (str(MAX_SEED), f"--seed-base 2147483647: must be at most {MAX_SEED - 1 - MAX_ROUNDS:,}"),
])
def test_a_bad_seed_base_on_the_command_line_is_one_line(tiny_file: Path, tmp_path: Path, value: str,
                                                         message: str) -> None:
    result = runner.invoke(app, ["grid", "--baseline", str(tiny_file), "--data", "synthetic", "--out",
                                 str(tmp_path), "--seed-base", value])
    assert result.exit_code == 2, result.output
    assert message in result.stderr and len(result.stderr.strip().splitlines()) == 1
    assert "Traceback" not in result.output


def test_grid_seed_base_trains_fresh_seeds_and_records_them(fake_grid: list[bool], tiny_file: Path,
                                                            tmp_path: Path, log: Path,
                                                            monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("SCALESEARCH_CACHE_DIR", str(tmp_path / "cache"))
    common = ["grid", "--baseline", str(tiny_file), *SMALL, "--out", str(tmp_path / "res")]
    plain = runner.invoke(app, common)
    assert plain.exit_code == 0, plain.output
    assert set(trained(log)) == {0, 1}
    before = len(trained(log))
    shifted = runner.invoke(app, [*common, "--seed-base", "1000"])
    assert shifted.exit_code == 0, shifted.output
    assert set(trained(log)[before:]) == {1000, 1001}
    a, b = json.loads(plain.stdout)["study"], json.loads(shifted.stdout)["study"]
    assert a != b  # another study, in its own folder
    best = json.loads((tmp_path / "res" / b / "best.json").read_text())
    assert best["settings"]["seed_base"] == 1000
    assert "seed_base" not in json.loads((tmp_path / "res" / a / "best.json").read_text())["settings"]
    report = runner.invoke(app, ["report", str(tmp_path / "res" / b)])
    assert report.exit_code == 0, report.output
    summary = (tmp_path / "res" / b / "report" / "summary.md").read_text()
    assert "seeds 1,000 + index (--seed-base 1000)" in summary
    assert "seed-base" not in (tmp_path / "res" / a / "best.json").read_text()


def test_grid_help_shows_the_seed_base_in_the_study_panel() -> None:
    result = runner.invoke(app, ["grid", "--help"], env={"COLUMNS": "200"})
    assert result.exit_code == 0
    text = result.stdout
    panel = text.index("Study and workers")
    assert panel < text.index("--seed-base") < text.index("--sampler")


def test_the_stored_runs_of_a_seed_base_study_keep_their_indices(small_config: SearchConfig) -> None:
    shifted = run_search(dataclasses.replace(small_config, seed_base=7), trainer=search_fakes.fake_train)
    record = StudyRecord.read(shifted.study)
    assert record.settings["seed_base"] == 7
    assert StudySettings.from_stored(record.settings).seed_base == 7
    assert stored_seeds(shifted) == {0, 1}
