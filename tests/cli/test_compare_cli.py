"""`scalesearch compare` end to end on a tiny conv baseline and synthetic data (1 epoch, real training): the
table fits 80 columns, files are written, a rerun trains nothing; bad input is one line and an exit code."""

from __future__ import annotations

import io
import json
from pathlib import Path

import pytest
from rich.console import Console
from typer.testing import CliRunner

from scalesearch.cli import compare as compare_cmd
from scalesearch.cli.main import app
from scalesearch.core.specio import save_spec
from tests.compare.test_compare import compare_spec

runner = CliRunner()
EXAMPLE = Path(__file__).resolve().parents[2] / "results" / "example" / "best.json"
FAST = ["--alpha", "1.2", "--beta", "1.1", "--gamma", "1.15", "--phi", "1", "--data", "synthetic", "--epochs", "1",
        "--seeds", "2", "--base-resolution", "16", "--batch-size", "64", "--threads", "1", "--device", "cpu",
        "--tolerance", "0.1", "--phi-step", "0.05"]


@pytest.fixture
def tiny_file(tmp_path: Path) -> str:
    return str(save_spec(compare_spec(), tmp_path / "tiny.yaml"))


@pytest.fixture
def private_cache(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """A proxy-run cache of this test's own (the cost cache stays the session's: counts are shared)."""
    from scalesearch.search import runcache

    monkeypatch.setattr(runcache, "default_cache_dir", lambda: tmp_path / "cache")


def test_table_files_and_a_rerun_that_trains_nothing(tiny_file: str, tmp_path: Path, private_cache: None,
                                                      monkeypatch: pytest.MonkeyPatch) -> None:
    screen = Console(width=80, file=io.StringIO(), force_terminal=True, color_system=None)
    monkeypatch.setattr(compare_cmd, "console", screen)
    out = tmp_path / "cmp"
    result = runner.invoke(app, ["compare", "--baseline", tiny_file, *FAST, "--out", str(out)])
    assert result.exit_code == 0, result.output
    text = screen.file.getvalue()  # type: ignore[attr-defined]  # the console writes to a StringIO
    table = [line for line in text.splitlines() if line.startswith(("┃", "│"))]
    assert len(table) == 8 and all(len(line) <= 80 for line in text.splitlines() if not line.startswith("wrote "))
    assert "…" not in text and "resolution-only" in text and "verdict:" in text
    assert "proxy run(s) to train" in result.stderr
    assert {p.name for p in out.iterdir()} == {"compare.csv", "compare.json", "compare.png"}
    first = json.loads((out / "compare.json").read_text())
    assert first["runs_trained"] > 0 and all(r["seeds_ok"] == 2 for r in first["rows"])

    again = runner.invoke(app, ["compare", "--baseline", tiny_file, *FAST, "--out", str(out), "--json"])
    assert again.exit_code == 0, again.output
    data = json.loads(again.stdout)
    assert data["runs_trained"] == 0 and "nothing to train" in again.stderr
    assert [r["accuracy_mean"] for r in data["rows"]] == [r["accuracy_mean"] for r in first["rows"]]


def study_folder(tmp_path: Path, finished: bool) -> Path:
    folder = tmp_path / "study"
    folder.mkdir()
    best = json.loads(EXAMPLE.read_text())
    best["search_finished"] = finished
    (folder / "best.json").write_text(json.dumps(best))
    return folder


def test_from_a_study_defaults_to_its_compare_subfolder(tmp_path: Path, tiny_file: str) -> None:
    # A study's baseline with --baseline replaced; a tolerance no strategy meets stops it before training.
    folder = study_folder(tmp_path, finished=True)
    result = runner.invoke(app, ["compare", "--from", str(folder), "--baseline", tiny_file, "--phi", "1",
                                 "--tolerance", "0.000001", "--phi-step", "0.05"])
    assert result.exit_code == 2 and "cannot reach the target" in result.stderr
    assert not (folder / "compare").exists()  # nothing written before the rows are matched


@pytest.mark.parametrize("args, text", [
    (["--seeds", "0"], "--seeds 0: must be an integer >= 1"),
    (["--phi", "0"], "--phi 0.0: must be a number > 0"),
    (["--tolerance", "1e-6"], "cannot reach the target"),
    (["--alpha", "1", "--beta", "1", "--gamma", "1"], "compound cannot reach the target"),
])
def test_bad_input_is_one_line(args: list[str], text: str, tiny_file: str, tmp_path: Path) -> None:
    base = [a for a in FAST if a not in ("--alpha", "1.2", "--beta", "1.1", "--gamma", "1.15")]
    base = base if "--alpha" in args else [*FAST]
    result = runner.invoke(app, ["compare", "--baseline", tiny_file, *base, *args, "--out", str(tmp_path / "o")])
    assert result.exit_code == 2, result.output
    # In a log (not a terminal) the solving step may print its progress lines first; the error is one line.
    errors = [line for line in result.stderr.strip().splitlines() if not line.startswith("solving ")]
    assert len(errors) == 1 and errors[0].startswith("error: ") and text in errors[0]
    assert "Traceback" not in result.output


@pytest.mark.parametrize("setup, text", [
    ("empty", "has no best.json"),
    ("unfinished", "the search was interrupted"),
])
def test_not_a_finished_study_is_one_line(setup: str, text: str, tmp_path: Path) -> None:
    folder = study_folder(tmp_path, finished=False) if setup == "unfinished" else tmp_path / "nothing"
    folder.mkdir(exist_ok=True)
    result = runner.invoke(app, ["compare", "--from", str(folder), "--phi", "2"])
    assert result.exit_code == 2 and text in result.stderr
    assert len(result.stderr.strip().splitlines()) == 1


def test_missing_coefficients_is_one_line() -> None:
    result = runner.invoke(app, ["compare", "--alpha", "1.2"])
    assert result.exit_code == 2 and "--beta, --gamma missing" in result.stderr


def test_help_groups_the_options() -> None:
    result = runner.invoke(app, ["compare", "--help"], env={"COLUMNS": "100"})
    assert result.exit_code == 0
    for panel in ("Strategies and target", "Proxy training", "Output"):
        assert panel in result.stdout
