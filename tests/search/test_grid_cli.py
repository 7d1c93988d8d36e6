"""`scalesearch grid` through Typer's runner: dry runs, one-line errors, a real tiny search, `scale --from`."""

from __future__ import annotations

import json
from pathlib import Path

import pandas as pd
import pytest
from typer.testing import CliRunner

from scalesearch.cli.main import app
from scalesearch.search.best import load_best

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
        assert {"flops", "params", "flops_ratio", "group", "proxy_group"} <= set(r)
    assert not (tmp_path / "res").exists()  # trains nothing, writes nothing


def test_dry_run_table(tiny_file: Path, tmp_path: Path) -> None:
    result = run("grid", "--baseline", str(tiny_file), *SMALL, "--out", str(tmp_path), "--dry-run")
    assert result.exit_code == 0, result.output
    assert "feasible of 54 grid points" in result.output and "multiply-adds" in result.output


@pytest.mark.parametrize("args, code, message", [
    (["--alpha", "1.0:1.4:x"], 2, "--alpha '1.0:1.4:x' does not parse"),
    (["--data", "nosuch"], 3, "unknown data source 'nosuch'"),
    (["--alpha", "1.0", "--beta", "1.0", "--gamma", "1.0:1.1:0.1"], 5, "widen --tolerance"),
    (["--storage", "postgresql://u:pw@127.0.0.1:9/db"], 4, "cannot open study storage postgresql://u:***@"),
    (["--sampler", "tpe"], 2, "needs --n-trials"),
])
def test_bad_input_is_one_line(tiny_file: Path, tmp_path: Path, args: list[str], code: int, message: str) -> None:
    result = run("grid", "--baseline", str(tiny_file), "--data", "synthetic", "--out", str(tmp_path), *args)
    assert result.exit_code == code, result.output
    assert message in result.stderr and len(result.stderr.strip().splitlines()) == 1
    assert "Traceback" not in result.output


@pytest.mark.slow
def test_tiny_search_then_scale_from(tiny_file: Path, tmp_path: Path) -> None:
    args = ["grid", "--baseline", str(tiny_file), *SMALL, "--epochs", "1", "--batch-size", "32", "--train-subset",
            "64", "--workers", "1", "--confirm", "1", "--confirm-seeds", "2", "--out", str(tmp_path / "res"),
            "--study", "e2e", "--no-cache"]
    result = run(*args)
    assert result.exit_code == 0, result.output
    folder = tmp_path / "res" / "e2e"
    frame = pd.read_csv(folder / "trials.csv")
    assert len(frame) == 8 and set(frame["status"]) <= {"ok", "diverged"}
    assert frame["accuracy_mean"].between(0, 1).all() and frame["seconds"].gt(0).any()
    best = json.loads((folder / "best.json").read_text())
    assert best["settings"]["proxy"]["epochs"] == 1 and "torch" in best["versions"]
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
