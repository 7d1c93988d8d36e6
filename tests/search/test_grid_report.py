"""`grid` ends with the report (also when interrupted, for what is done) unless --no-report; runs the real
command with the fake trainer in-process (one worker)."""

from __future__ import annotations

import json
import re
from pathlib import Path

from typer.testing import CliRunner

from scalesearch.cli.main import app

runner = CliRunner()
SMALL = ["--data", "synthetic", "--alpha", "1.0:2.0:0.2", "--beta", "1.0:1.4:0.2", "--gamma", "1.0:1.4:0.2",
         "--tolerance", "0.1", "--rungs", "2x1", "--references", "none", "--batch-size", "32", "--workers", "1",
         "--no-cache", "--study", "rep"]


def test_grid_writes_the_report(fake_grid: list[bool], tiny_file: Path, tmp_path: Path) -> None:
    result = runner.invoke(app, ["grid", "--baseline", str(tiny_file), *SMALL, "--out", str(tmp_path)])
    assert result.exit_code == 0, result.output
    folder = tmp_path / "rep" / "report"
    assert (folder / "index.html").is_file() and (folder / "budget-shares.png").is_file()
    assert "report: budget-shares.png" in result.stdout and "index.html" in result.stdout
    # stderr is no terminal here: the progress is one plain line per finished run, no control codes
    runs = [line for line in result.stderr.splitlines() if re.match(r"\[\d+/\d+\] network \d+ seed \d+: ok", line)]
    assert len(runs) >= 7 and "\x1b" not in result.stderr and "\r" not in result.stderr
    counts = [tuple(map(int, re.match(r"\[(\d+)/(\d+)\]", line).groups())) for line in runs]  # type: ignore[union-attr]  # matched above
    assert runs[0].startswith("[1/") and [d for d, _ in counts] == sorted(d for d, _ in counts)  # it only counts up
    # A line per trained run; a candidate that only copies a result adds to the count without a line of its own.
    assert all(d <= t for d, t in counts) and counts[-1][0] >= len(runs) and counts[-1][0] >= counts[-1][1] - 1


def test_no_report(fake_grid: list[bool], tiny_file: Path, tmp_path: Path) -> None:
    result = runner.invoke(app, ["grid", "--baseline", str(tiny_file), *SMALL, "--out", str(tmp_path), "--no-report",
                                 "--json"])
    assert result.exit_code == 0, result.output
    assert json.loads(result.stdout)["report"] == []
    assert not (tmp_path / "rep" / "report").exists() and (tmp_path / "rep" / "trials.csv").is_file()


def test_an_interrupted_grid_reports_what_is_done(fake_grid: list[bool], tiny_file: Path, tmp_path: Path) -> None:
    fake_grid[0] = True
    result = runner.invoke(app, ["grid", "--baseline", str(tiny_file), *SMALL, "--out", str(tmp_path)])
    assert result.exit_code == 130
    page = (tmp_path / "rep" / "report" / "index.html").read_text()
    assert "not finished" in page and "Resume with" in result.stderr
