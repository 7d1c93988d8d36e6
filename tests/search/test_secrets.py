"""A password in a storage URL never reaches a file the tool writes or a line it prints.

SQLAlchemy's SQLite driver ignores a ``?password=`` query parameter, so a real (fake-trained) grid runs on
a storage URL carrying a planted secret; then every byte written under --out, and everything printed by
grid (finished, interrupted, interrupted while measuring), report and audit (and its Ctrl-C), is searched
for it. Error paths (a refused server, a URL SQLAlchemy cannot read, a missing driver) are checked too.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

import pytest
from audit_studies import Counting
from typer.testing import CliRunner

from scalesearch.audit import run as audit_run
from scalesearch.cli.main import app
from scalesearch.core.redaction import MASKED_NOTE

runner = CliRunner()
SECRET = "Pl4nted-S3cret"
SMALL = ["--data", "synthetic", "--alpha", "1.0:2.0:0.2", "--beta", "1.0:1.4:0.2", "--gamma", "1.0:1.4:0.2",
         "--tolerance", "0.1", "--rungs", "2x1", "--references", "none", "--batch-size", "32", "--workers", "1",
         "--no-cache", "--study", "sec"]


def storage_url(tmp_path: Path) -> str:
    return f"sqlite:///{tmp_path / 'db' / 'study.db'}?password={SECRET}"


def invoke(monkeypatch: pytest.MonkeyPatch, *args: str):
    """The CLI as a user runs it: the recorded command line is sys.argv, which CliRunner leaves alone."""
    monkeypatch.setattr(sys, "argv", ["scalesearch", *args])
    return runner.invoke(app, list(args))


def files_holding(root: Path, text: str) -> list[Path]:
    """Every file under ``root`` whose bytes hold ``text`` (databases, pictures and pages alike)."""
    return [p for p in sorted(root.rglob("*")) if p.is_file() and text.encode() in p.read_bytes()]


def printed(result) -> str:
    return result.stdout + result.stderr


def grid_args(tiny_file: Path, tmp_path: Path, *storage: str) -> list[str]:
    return ["grid", "--baseline", str(tiny_file), *SMALL, *(storage or ("--storage", storage_url(tmp_path))),
            "--out", str(tmp_path / "res")]


@pytest.mark.parametrize("joined", [False, True], ids=["--storage URL", "--storage=URL"])
def test_a_grid_writes_and_prints_no_password(fake_grid: list[bool], monkeypatch: pytest.MonkeyPatch,
                                              tiny_file: Path, tmp_path: Path, joined: bool) -> None:
    url = storage_url(tmp_path)
    result = invoke(monkeypatch, *grid_args(tiny_file, tmp_path, *([f"--storage={url}"] if joined else [])))
    assert result.exit_code == 0, result.output
    folder = tmp_path / "res" / "sec"
    written = {p.relative_to(folder).as_posix() for p in folder.rglob("*") if p.is_file()}
    assert {"best.json", "trials.csv", "report/index.html", "report/summary.md"} <= written
    assert files_holding(tmp_path, SECRET) == []
    assert SECRET not in printed(result) and "password=***" in result.stderr  # the study's header line
    best = json.loads((folder / "best.json").read_text())
    assert best["storage"].endswith("study.db?password=***")
    assert "password=***" in best["command"] and best["command"].startswith("scalesearch grid --baseline")
    assert "password=***" in (folder / "report" / "summary.md").read_text()  # Reproduce: the masked command


@pytest.fixture
def finished(fake_grid: list[bool], monkeypatch: pytest.MonkeyPatch, tiny_file: Path, tmp_path: Path) -> Path:
    """A finished study in the planted storage (SQLite ignores the query parameter); its folder."""
    result = invoke(monkeypatch, *grid_args(tiny_file, tmp_path), "--no-report")
    assert result.exit_code == 0, result.output
    monkeypatch.setenv("SCALESEARCH_CACHE_DIR", str(tmp_path / "cache"))
    return tmp_path / "res" / "sec"


def test_report_and_audit_of_a_study_in_that_storage_print_no_password(finished: Path, monkeypatch: pytest.MonkeyPatch,
                                                                       tmp_path: Path) -> None:
    url = storage_url(tmp_path)
    report = invoke(monkeypatch, "report", "--storage", url, "--out", str(tmp_path / "rep"))
    assert report.exit_code == 0, report.output
    assert (tmp_path / "rep" / "index.html").is_file()
    assert SECRET not in printed(report) and files_holding(tmp_path, SECRET) == []
    monkeypatch.setattr(audit_run, "train_proxy", Counting())
    audit = invoke(monkeypatch, "audit", str(finished), "--storage", url, "--sample", "4", "--seeds", "1")
    assert audit.exit_code == 0, audit.output
    assert SECRET not in printed(audit) and files_holding(tmp_path, SECRET) == []
    assert json.loads((finished / "audit.json").read_text())["storage"].endswith("password=***")


def test_a_best_json_of_an_earlier_version_holding_a_password_is_masked_in_the_report(
        finished: Path, monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    best = finished / "best.json"
    record = json.loads(best.read_text())
    record["command"] = f"scalesearch grid --storage 'postgresql://user:{SECRET}@db.example/scale' --study sec"
    best.write_text(json.dumps(record))
    result = invoke(monkeypatch, "report", str(finished), "--storage", storage_url(tmp_path))
    assert result.exit_code == 0, result.output
    assert files_holding(finished / "report", SECRET) == []
    assert "postgresql://user:***@db.example/scale" in (finished / "report" / "summary.md").read_text()


def test_the_resume_lines_print_no_password(fake_grid: list[bool], monkeypatch: pytest.MonkeyPatch, tiny_file: Path,
                                            tmp_path: Path) -> None:
    args = grid_args(tiny_file, tmp_path)
    fake_grid[0] = True  # Ctrl-C during the search
    result = invoke(monkeypatch, *args)
    assert result.exit_code == 130, result.output
    resume = result.stderr[result.stderr.index("Resume with:"):].splitlines()
    assert resume[1].strip().startswith("scalesearch grid --baseline") and "password=***" in resume[1]
    assert " ".join(resume[2:]).split() == MASKED_NOTE.split()
    assert SECRET not in printed(result) and files_holding(tmp_path, SECRET) == []

    def interrupted(*_a: object, **_k: object) -> None:
        raise KeyboardInterrupt

    monkeypatch.setattr("scalesearch.cli.grid.plan", interrupted)  # Ctrl-C while measuring the candidates
    early = invoke(monkeypatch, *args)
    assert early.exit_code == 130 and "Resume with:" in early.stderr and "password=***" in early.stderr
    assert SECRET not in printed(early)


def test_the_audit_resume_line_prints_no_password(finished: Path, monkeypatch: pytest.MonkeyPatch,
                                                  tmp_path: Path) -> None:
    monkeypatch.setattr(audit_run, "train_proxy", Counting(stop_after=1))  # Ctrl-C in the second run
    result = invoke(monkeypatch, "audit", str(finished), "--storage", storage_url(tmp_path), "--sample", "4")
    assert result.exit_code == 130, result.output
    assert "Resume with:" in result.stderr and "password=***" in result.stderr and "PGPASSWORD" in result.stderr
    assert SECRET not in printed(result)


@pytest.mark.parametrize("url, code, says", [
    (f"postgresql://user:{SECRET}@127.0.0.1:9/db", 4, "cannot open study storage postgresql://user:***@127.0.0.1:9/db"),
    (f"postgresql://user:{SECRET[:4]}@{SECRET[4:]}@127.0.0.1:9/db", 4, "the password holds an unencoded '@'"),
    (f"postgresql://:{SECRET}@127.0.0.1:9/db", 4, "cannot open study storage postgresql://:***@127.0.0.1:9/db"),
    (f"postgresql://127.0.0.1:9/db?password={SECRET}", 4, "postgresql://127.0.0.1:9/db?password=***"),
    (f"sqlite://user:{SECRET}@//tmp/x.db", 4, "Invalid SQLite URL: sqlite://user:***@"),  # SQLAlchemy quotes it
    (f"user:{SECRET}@127.0.0.1/db", 4, "storage 'user:***@127.0.0.1/db' is not a URL"),
    (f"postgresql://user:{SECRET}@127.0.0.1:port/db", 4, "not a database URL SQLAlchemy can read"),
])
def test_a_storage_error_is_one_line_without_the_password(tiny_file: Path, tmp_path: Path,
                                                          monkeypatch: pytest.MonkeyPatch, url: str, code: int,
                                                          says: str) -> None:
    result = invoke(monkeypatch, "grid", "--baseline", str(tiny_file), "--data", "synthetic", "--out",
                    str(tmp_path / "res"), "--storage", url)
    assert result.exit_code == code, result.output
    assert says in result.stderr and len(result.stderr.strip().splitlines()) == 1
    for piece in (SECRET, SECRET[:4], SECRET[4:]):
        assert piece not in printed(result)
    assert "Traceback" not in result.output
