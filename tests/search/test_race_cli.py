"""The race through `scalesearch grid` with a fake trainer whose networks tie: best.json's decision, the lines
under the table, the report's race plot, `scale --from` saying what it takes, resuming, --no-race, and the
race options' bad input."""

from __future__ import annotations

import csv
import json
from pathlib import Path
from typing import Any

import pytest
import search_fakes
from typer.testing import CliRunner

from scalesearch.cli.main import app
from scalesearch.core.runs import ProxyResult, RunStatus
from scalesearch.core.spec import NetSpec
from scalesearch.report.view import rebuild_command
from scalesearch.search import run as search_run
from scalesearch.train import Dataset, ProxyConfig

runner = CliRunner()
SMALL = ["--data", "synthetic", "--alpha", "1.0:2.0:0.2", "--beta", "1.0:1.4:0.2", "--gamma", "1.0:1.4:0.2",
         "--tolerance", "0.1", "--references", "none", "--batch-size", "32", "--rungs", "2x1,4x2",
         "--promote", "0.9", "--workers", "1", "--w", "0"]  # w 0: the score is the accuracy, so a tie stays one


def tie_train(spec: NetSpec, data: Dataset, config: ProxyConfig, *, seed: int = 0, **_: Any) -> ProxyResult:
    """Every network the same accuracy up to a seed-dependent wobble of +-0.2 points, the same for all at a
    seed plus a small network-dependent part: a tie the leaders rule cannot break."""
    key = sum(map(ord, spec.architecture_key()))
    acc = 0.80 + 0.002 * ((seed * 7919) % 5 - 2) + 0.0005 * ((seed * 31 + key) % 3 - 1)
    log = __import__("os").environ.get("SCALESEARCH_FAKE_LOG")
    if log:
        with open(log, "a") as f:
            f.write(f"{seed}@{config.epochs}\n")
    return ProxyResult(RunStatus.OK, acc, loss=1.0, history=(acc / 2, acc), epochs_run=config.epochs, seconds=1.0,
                       seed=seed)


@pytest.fixture
def tie_grid(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> Path:
    monkeypatch.setattr("scalesearch.cli.grid.run_search",
                        lambda config, **kw: search_run.run_search(config, trainer=tie_train, **kw))
    log = tmp_path / "trained.log"
    monkeypatch.setenv("SCALESEARCH_FAKE_LOG", str(log))
    monkeypatch.setenv("SCALESEARCH_CACHE_DIR", str(tmp_path / "cache"))
    return log


def run(*args: str) -> Any:
    return runner.invoke(app, list(args))


def study_dir(out: Path) -> Path:
    return next(p.parent for p in out.glob("*/best.json"))


def best_flops(folder: Path, point: dict[str, Any]) -> int:
    """The multiply-adds trials.csv gives the candidate at ``point``."""
    with (folder / "trials.csv").open() as f:
        return next(int(r["flops"]) for r in csv.DictReader(f)
                    if (float(r["alpha"]), float(r["beta"]), float(r["gamma"]))
                    == (point["alpha"], point["beta"], point["gamma"]))


def test_a_tie_is_raced_to_a_decision_shown_everywhere(tiny_file: Path, tmp_path: Path, tie_grid: Path) -> None:
    out = tmp_path / "res"
    result = run("grid", "--baseline", str(tiny_file), *SMALL, "--out", str(out), "--equivalence", "4")
    assert result.exit_code == 0, result.output
    folder = study_dir(out)
    best = json.loads((folder / "best.json").read_text())
    decision = best["decision"]
    assert decision["decision"] == "equivalent" and decision["finished"]
    assert len(decision["entrants"]) >= 2 and decision["rounds"]  # the tie entered, at least one round ran
    assert decision["used_runs"] == sum(len(r["survivors"]) for r in decision["rounds"]) <= decision["budget_runs"]
    assert decision["family_wise_error"] == 0.05 and "Hsu" in decision["test"]
    # the race's extra seeds: index 2 onwards, at the last rung's 4 epochs, only for the race's entrants
    extra = [line for line in tie_grid.read_text().split() if int(line.split("@")[0]) >= 2]
    assert extra and all(line.endswith("@4") for line in extra) and len(extra) == decision["used_runs"]
    # recommended = the cheapest of the equivalent survivors (their order by mean is noise), and best.json says so
    pick = decision["recommended"]
    cheapest = min(decision["survivors"], key=lambda s: (best_flops(folder, s), decision["survivors"].index(s)))
    assert (pick["alpha"], pick["beta"], pick["gamma"]) == (cheapest["alpha"], cheapest["beta"], cheapest["gamma"])
    assert (best["alpha"], best["beta"], best["gamma"]) == (pick["alpha"], pick["beta"], pick["gamma"])
    assert decision["recommended_by"] == "the cheapest of the equivalent survivors"
    assert "the cheapest of them" in result.output
    assert "equivalent: any of" in result.output and "race test:" in result.output
    assert (folder / "report" / "race.png").is_file()
    assert "equivalent: any of" in (folder / "report" / "summary.md").read_text()
    # the race settings are stored (not the default margin) and the rebuilt command repeats them
    assert best["settings"]["race"] == {"enabled": True, "budget": "24", "equivalence": 4.0}
    assert "--equivalence 4" in rebuild_command(best["settings"])
    # a rerun resumes: nothing trained again
    before = tie_grid.read_text()
    again = run("grid", "--baseline", str(tiny_file), *SMALL, "--out", str(out), "--equivalence", "4")
    assert again.exit_code == 0, again.output
    assert tie_grid.read_text() == before
    # scale --from says which point it takes and why
    scaled = run("scale", "--from", str(folder), "--phi", "1", "--out", str(tmp_path / "scaled"))
    assert scaled.exit_code == 0, scaled.output
    assert "the cheapest of" in scaled.output and "equivalent (within 4 score points)" in scaled.output


def test_no_race_trains_no_extra_seed(tiny_file: Path, tmp_path: Path, tie_grid: Path) -> None:
    out = tmp_path / "res"
    result = run("grid", "--baseline", str(tiny_file), *SMALL, "--out", str(out), "--no-race", "--no-report")
    assert result.exit_code == 0, result.output
    assert all(int(line.split("@")[0]) < 2 for line in tie_grid.read_text().split())
    best = json.loads((study_dir(out) / "best.json").read_text())
    assert best["decision"] is None and best["settings"]["race"]["enabled"] is False
    assert "--no-race" in rebuild_command(best["settings"])


@pytest.mark.parametrize(("args", "message"), [
    (["--race-budget", "0"], "--race-budget '0': must be at least 1 run"),
    (["--race-budget", "soon"], "give a number of runs"),
    (["--equivalence", "-1"], "--equivalence -1.0: must be a number of score points > 0"),
    (["--equivalence", "abc"], "Invalid value for '--equivalence'"),
])
def test_bad_race_options_are_one_line_exit_2(tiny_file: Path, tmp_path: Path, args: list[str], message: str) -> None:
    result = run("grid", "--baseline", str(tiny_file), *SMALL, "--out", str(tmp_path), "--dry-run", *args)
    assert result.exit_code == 2
    assert message in result.output and "Traceback" not in result.output


def test_the_help_groups_the_race_options() -> None:
    result = runner.invoke(app, ["grid", "--help"], env={"COLUMNS": "100"})
    assert "Race: a decision among the leaders" in result.output
    for flag in ("--race-budget", "--equivalence", "--no-race"):
        assert flag in result.output


def test_a_fake_trainer_that_separates_networks_needs_no_race(tiny_file: Path, tmp_path: Path,
                                                              monkeypatch: pytest.MonkeyPatch) -> None:
    """search_fakes.fake_train ranks networks far apart: one leader, the decision is 'winner' with no round."""
    monkeypatch.setattr("scalesearch.cli.grid.run_search",
                        lambda config, **kw: search_run.run_search(config, trainer=search_fakes.fake_train, **kw))
    monkeypatch.setenv("SCALESEARCH_CACHE_DIR", str(tmp_path / "cache"))
    out = tmp_path / "res"
    result = run("grid", "--baseline", str(tiny_file), *SMALL, "--out", str(out), "--no-report")
    assert result.exit_code == 0, result.output
    decision = json.loads((study_dir(out) / "best.json").read_text())["decision"]
    assert decision["decision"] == "winner" and decision["rounds"] == [] and decision["used_runs"] == 0


def test_confirm_phi_trains_the_survivors_at_that_phi_and_scale_uses_it(tiny_file: Path, tmp_path: Path,
                                                                         tie_grid: Path,
                                                                         monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr("scalesearch.compare.confirm.train_proxy", tie_train)
    # the tiny baseline's widths round in steps of 8 channels: its families miss a target by up to 12%
    monkeypatch.setattr("scalesearch.compare.confirm.TOLERANCE", 0.5)
    out = tmp_path / "res"
    result = run("grid", "--baseline", str(tiny_file), *SMALL, "--out", str(out), "--equivalence", "4",
                 "--confirm-phi", "3", "--no-report")
    assert result.exit_code == 0, result.output
    best = json.loads((study_dir(out) / "best.json").read_text())
    confirmed, survivors = best["confirmed"], best["decision"]["survivors"]
    assert confirmed["phi"] == 3 and confirmed["seeds"] == 3 and len(confirmed["rows"]) == len(survivors)
    assert {(r["alpha"], r["beta"], r["gamma"]) for r in confirmed["rows"]} == {
        (s["alpha"], s["beta"], s["gamma"]) for s in survivors}
    for r in confirmed["rows"]:  # each survivor matched to phi's target
        assert abs(r["flops"] / confirmed["target_flops"] - 1) <= 0.5 and len(r["scores"]) == 3
    top = confirmed["best"]
    assert (best["alpha"], best["beta"], best["gamma"]) == (top["alpha"], top["beta"], top["gamma"])
    assert "confirmed at phi = 3" in result.output
    scaled = run("scale", "--from", str(study_dir(out)), "--phi", "1", "--out", str(tmp_path / "scaled"))
    assert scaled.exit_code == 0, scaled.output
    assert "confirmed at phi = 3" in scaled.output


def test_a_survivor_that_cannot_reach_the_phi_is_one_line_and_the_search_is_kept(
        tiny_file: Path, tmp_path: Path, tie_grid: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr("scalesearch.compare.confirm.train_proxy", tie_train)
    monkeypatch.setattr("scalesearch.compare.confirm.TOLERANCE", 0.01)  # no tiny network lands within 1%
    out = tmp_path / "res"
    result = run("grid", "--baseline", str(tiny_file), *SMALL, "--out", str(out), "--equivalence", "4",
                 "--confirm-phi", "3", "--no-report")
    assert result.exit_code == 2
    assert "cannot reach the target" in result.output and "Traceback" not in result.output
    best = json.loads((study_dir(out) / "best.json").read_text())
    assert best["decision"]["decision"] == "equivalent" and "confirmed" not in best


@pytest.mark.parametrize(("args", "message"), [
    (["--confirm-phi", "0"], "--confirm-phi 0.0: must be a number in (0, 8]"),
    (["--confirm-phi", "1", "--no-race"], "--confirm-phi confirms the race's survivors"),
])
def test_bad_confirm_phi_is_one_line_exit_2(tiny_file: Path, tmp_path: Path, args: list[str], message: str) -> None:
    result = run("grid", "--baseline", str(tiny_file), *SMALL, "--out", str(tmp_path), "--dry-run", *args)
    assert result.exit_code == 2, result.output
    assert message in result.output and "Traceback" not in result.output
