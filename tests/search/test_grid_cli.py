"""`scalesearch grid` through Typer's runner: dry runs, one-line errors, a real tiny search, `scale --from`."""

from __future__ import annotations

import json
from pathlib import Path

import pandas as pd
import pytest
from typer.testing import CliRunner

from scalesearch.cli.main import app
from scalesearch.core.errors import UsageError
from scalesearch.report.best import load_best
from scalesearch.search.schedule import Rung

runner = CliRunner()
SMALL = ["--data", "synthetic", "--alpha", "1.0:2.0:0.2", "--beta", "1.0:1.4:0.2", "--gamma", "1.0:1.4:0.2",
         "--tolerance", "0.1"]


def run(*args: str):
    return runner.invoke(app, list(args))


def test_dry_run_json_lists_feasible_points(tiny_file: Path, tmp_path: Path) -> None:
    result = run("grid", "--baseline", str(tiny_file), *SMALL, "--out", str(tmp_path / "res"), "--dry-run", "--json")
    assert result.exit_code == 0, result.output
    rows = json.loads(result.stdout)
    assert rows[0]["baseline"] and (rows[0]["alpha"], rows[0]["beta"], rows[0]["gamma"]) == (1.0, 1.0, 1.0)
    for r in rows[1:]:
        assert 1.8 <= r["alpha"] * r["beta"] ** 2 * r["gamma"] ** 2 <= 2.2 + 1e-9
        assert {"flops", "params", "flops_ratio", "group", "network"} <= set(r)
    assert not (tmp_path / "res").exists()  # trains nothing, writes nothing


def test_dry_run_table(tiny_file: Path, tmp_path: Path) -> None:
    result = run("grid", "--baseline", str(tiny_file), *SMALL, "--out", str(tmp_path), "--dry-run")
    assert result.exit_code == 0, result.output
    assert "feasible of 54 grid points" in result.output and "multiply-adds" in result.output


@pytest.mark.parametrize("args, code, message", [
    (["--alpha", "1.0:1.4:x"], 2, "--alpha '1.0:1.4:x': does not parse"),
    (["--data", "nosuch"], 3, "unknown data source 'nosuch'"),
    (["--alpha", "1.0", "--beta", "1.0", "--gamma", "1.0:1.1:0.1"], 5, "widen --tolerance"),
    (["--storage", "postgresql://u:pw@127.0.0.1:9/db"], 4, "cannot open study storage postgresql://u:***@"),
    (["--sampler", "tpe"], 2, "--n-trials: required by the tpe and random samplers"),
    (["--rungs", "3x1,2x2"], 2, "--rungs '3x1,2x2': rung 2x2 does not increase on 3x1"),
    (["--rungs", "3x0"], 2, "--rungs '3x0': epochs and seeds must be >= 1"),
    (["--promote", "1"], 2, "--promote 1.0: must lie strictly between 0 and 1"),
    (["--references", "papr"], 2, "--references 'papr': unknown strategy (did you mean 'paper'?); known: paper,"),
])
def test_bad_input_is_one_line(tiny_file: Path, tmp_path: Path, args: list[str], code: int, message: str) -> None:
    result = run("grid", "--baseline", str(tiny_file), "--data", "synthetic", "--out", str(tmp_path), *args)
    assert result.exit_code == code, result.output
    assert message in result.stderr and len(result.stderr.strip().splitlines()) == 1
    assert "Traceback" not in result.output


@pytest.mark.slow
def test_tiny_search_then_scale_from(tiny_file: Path, tmp_path: Path) -> None:
    args = ["grid", "--baseline", str(tiny_file), *SMALL, "--rungs", "1x1,2x2", "--batch-size", "32",
            "--train-subset", "64", "--workers", "1", "--promote", "0.3", "--references", "none", "--out",
            str(tmp_path / "res"), "--study", "e2e", "--no-cache"]
    result = run(*args)
    assert result.exit_code == 0, result.output
    folder = tmp_path / "res" / "e2e"
    frame = pd.read_csv(folder / "trials.csv")
    assert len(frame) == 8 and set(frame["status"]) <= {"ok", "diverged"}
    assert frame["accuracy_mean"].between(0, 1).all() and frame["seconds"].gt(0).any()
    best = json.loads((folder / "best.json").read_text())
    assert best["settings"]["rungs"] == [[1, 1], [2, 2]] and "torch" in best["versions"]
    assert set(frame["rung"]) == {0, 1} and best["leaders"]["members"]
    assert "rung 1 (2 epochs x 2 seeds)" in result.output and "Spearman vs rung 0" in result.output
    assert "leaders at rung 1" in result.output
    assert "compound coefficients, ranked" in result.output.lower()

    again = run(*args)  # resume of a finished study: nothing to do, same answer
    assert again.exit_code == 0
    assert json.loads((folder / "best.json").read_text())["alpha"] == best["alpha"]

    scaled = run("scale", "--phi", "2", "--from", str(folder), "--out", str(tmp_path / "scaled"), "--json")
    assert scaled.exit_code == 0, scaled.output
    out = json.loads(scaled.stdout)
    b = load_best(folder)
    assert (out["alpha"], out["beta"], out["gamma"]) == (b.alpha, b.beta, b.gamma)
    assert out["baseline"] == "tiny" and out["models"]


def test_ctrl_c_while_measuring_prints_the_resume_command(tiny_file: Path, tmp_path: Path, monkeypatch) -> None:
    def interrupted(*args, **kwargs):
        raise KeyboardInterrupt

    monkeypatch.setattr("scalesearch.cli.grid.plan", interrupted)
    result = run("grid", "--baseline", str(tiny_file), *SMALL, "--out", str(tmp_path))
    assert result.exit_code == 130
    assert "interrupted while measuring" in result.stderr and "Resume with" in result.stderr
    assert "Traceback" not in result.output


@pytest.mark.parametrize("args, message", [
    (["--device", "cuda"], "sees no CUDA GPU"),
    (["--devices", "cuda:0,cuda:1"], "sees no CUDA GPU"),
    (["--workers", "1000"], "--workers 1000: at most"),
])
def test_devices_and_workers_are_checked_before_any_work(tiny_file: Path, tmp_path: Path, args: list[str],
                                                         message: str) -> None:
    if "cuda" in " ".join(args):
        pytest.importorskip("torch")
        import torch

        if torch.cuda.is_available():
            pytest.skip("this machine has CUDA")
    result = run("grid", "--baseline", str(tiny_file), "--data", "synthetic", "--out", str(tmp_path / "res"), *args)
    assert result.exit_code == 2 and message in result.stderr
    assert len(result.stderr.strip().splitlines()) == 1
    assert not (tmp_path / "res").exists()  # no study, nothing counted into a folder

@pytest.fixture
def finished_study(small_config, tmp_path: Path) -> Path:
    """A study folder with trials.csv and best.json from a fake-trained search."""
    import search_fakes

    from scalesearch.report.outputs import write_outputs
    from scalesearch.search.run import run_search

    outcome = run_search(small_config, trainer=search_fakes.fake_train)
    folder = outcome.plan.study_dir
    write_outputs(outcome.study, folder, storage="sqlite", command="scalesearch grid", finished=True, seconds=1.0)
    return folder


def _rewrite_best(folder: Path, **changes: object) -> None:
    path = folder / "best.json"
    best = json.loads(path.read_text())
    for key, value in changes.items():
        if value is None:
            best.pop(key)
        else:
            best[key] = value
    path.write_text(json.dumps(best))


@pytest.mark.parametrize("fmt, shown", [(2, "format 2 is not"), ("1", "format '1' is not"), (None, "no format: not")])
def test_scale_from_refuses_a_best_json_of_another_format(finished_study: Path, tmp_path: Path, fmt: object,
                                                          shown: str) -> None:
    _rewrite_best(finished_study, format=fmt)
    with pytest.raises(UsageError, match="the best.json format this scalesearch reads"):
        load_best(finished_study)
    result = run("scale", "--phi", "1", "--from", str(finished_study), "--out", str(tmp_path / "scaled"))
    assert result.exit_code == 2, result.output
    message = result.stderr.strip()
    assert len(message.splitlines()) == 1 and "Traceback" not in result.output
    assert f"best.json: {shown} the best.json format this scalesearch reads (1); rerun the grid command" in message
    assert not (tmp_path / "scaled").exists()


def test_scale_from_an_interrupted_search_warns_that_its_leader_is_provisional(finished_study: Path,
                                                                                tmp_path: Path) -> None:
    finished = run("scale", "--phi", "1", "--from", str(finished_study), "--out", str(tmp_path / "a"), "--json")
    assert finished.exit_code == 0, finished.output
    assert "interrupted" not in finished.stderr
    _rewrite_best(finished_study, search_finished=False)
    result = run("scale", "--phi", "1", "--from", str(finished_study), "--out", str(tmp_path / "b"), "--json")
    assert result.exit_code == 0, result.output
    assert json.loads(result.stdout)["models"]  # still scales: the warning does not stop it
    assert "warning: the search behind this best.json" in result.stderr
    assert ("was interrupted: its leader is provisional; rerun the grid command to finish it"
            in " ".join(result.stderr.split()))


def test_damaged_study_file_is_one_line_with_the_way_back(tiny_file: Path, tmp_path: Path) -> None:
    db = tmp_path / "res" / "dmg" / "study.db"
    db.parent.mkdir(parents=True)
    db.write_bytes(b"\x00garbage" * 1000)
    result = run("grid", "--baseline", str(tiny_file), *SMALL, "--out", str(tmp_path / "res"), "--study", "dmg")
    assert result.exit_code == 4, result.output
    assert "Traceback" not in result.output
    message = result.stderr.strip().splitlines()[-1]  # after the study's header line, the one-line error
    assert message.startswith("error: cannot open study storage sqlite:///")
    assert f"move it aside (mv {db} {db}.damaged) and rerun the same command" in message


def test_sqlite_storage_below_a_regular_file_is_one_line(tiny_file: Path, tmp_path: Path) -> None:
    blocker = tmp_path / "file"
    blocker.write_text("x")
    result = run("grid", "--baseline", str(tiny_file), "--data", "synthetic", "--out", str(tmp_path / "res"),
                 "--storage", f"sqlite:///{blocker}/study.db")
    assert result.exit_code == 4 and "cannot create the folder" in result.stderr
    assert len(result.stderr.strip().splitlines()) == 1 and "Traceback" not in result.output


def test_a_latency_cost_search_records_its_cost_everywhere(small_config, tmp_path: Path) -> None:
    import search_fakes

    from scalesearch.measure import LatencyConfig
    from scalesearch.report.outputs import write_outputs
    from scalesearch.search.run import run_search

    timing = LatencyConfig(threads=1, warmup=1, repeats=3, min_repeats=3, budget_seconds=0.2)
    config = small_config.replace(cost="latency", target=5.0, latency=timing, rungs=(Rung(2, 1),))
    outcome = run_search(config, trainer=search_fakes.fake_train)
    assert outcome.plan.cost == "latency" and outcome.plan.target == 5.0
    assert "ms per pass of 1" in outcome.plan.cost_note and "only comparable on this machine" in outcome.plan.cost_note
    out = write_outputs(outcome.study, tmp_path / "out", storage="sqlite", command="x", finished=True, seconds=1.0)
    frame, paths = out.frame, out.paths
    assert set(frame["cost"]) == {"latency"} and set(frame["cost_unit"]) == {"ms"}
    assert (frame["latency_ms"] > 0).all() and (frame["cost_value"] == frame["latency_ms"]).all()
    assert {"flops", "activations"} <= set(frame.columns) and "1 thread(s)" in frame["cost_device"].iloc[0]
    best = json.loads(paths["best"].read_text())
    assert best["cost"]["kind"] == "latency" and best["cost"]["unit"] == "ms" and best["cost"]["target"] == 5.0
    assert best["latency_ms"] == best["cost"]["value"] and best["cost"]["device"]
    # the leader is the best accuracy x (latency / 5 ms)^w among the ranked rows
    ranked = frame[frame["rank"].notna()]
    expected = ranked["accuracy_mean"] * (ranked["latency_ms"] / 5.0) ** config.w
    assert list(ranked["score"]) == pytest.approx(list(expected))


@pytest.mark.parametrize("args, message", [
    (["--cost", "latency", "--target", "400M"], "--target '400M': has no time unit"),
    (["--cost", "latency", "--target-flops", "400M"], "--target-flops 400000000: sets T for the flops cost"),
    (["--cost", "flops", "--target", "5ms"], "--target '5ms': is a duration"),
    (["--cost", "latency", "--latency-device", "cuda:7"], "--latency-device: device 'cuda:7'"),
    (["--cost", "speed"], "'--cost': 'speed' is not one of"),
])
def test_bad_cost_input_is_one_line(tiny_file: Path, tmp_path: Path, args: list[str], message: str) -> None:
    result = run("grid", "--baseline", str(tiny_file), "--data", "synthetic", "--out", str(tmp_path), "--dry-run",
                 *args)
    assert result.exit_code == 2, result.output
    assert message in result.stderr and len(result.stderr.strip().splitlines()) == 1


def test_dry_run_with_a_measured_activations_band(tiny_file: Path, tmp_path: Path) -> None:
    result = run("grid", "--baseline", str(tiny_file), *SMALL, "--cost", "activations", "--constraint", "measured",
                 "--out", str(tmp_path), "--dry-run", "--json")
    assert result.exit_code == 0, result.output
    rows = json.loads(result.stdout)
    base = rows[0]["activations"]
    kept = [r for r in rows[1:] if r["feasible"]]  # reference points off the grid are listed, feasible or not
    assert all(1.8 <= r["activations"] / base <= 2.2 + 1e-9 for r in kept) and len(kept) > 1
    assert all(not (1.8 <= r["activations"] / base <= 2.2 + 1e-9) for r in rows[1:] if not r["feasible"])
