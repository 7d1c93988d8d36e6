"""`scalesearch report` through Typer's runner: the files, --json, and one-line errors for bad input."""

from __future__ import annotations

import json
from pathlib import Path

import optuna
import pytest
from report_studies import make_study
from typer.testing import CliRunner

from scalesearch.cli.main import app
from scalesearch.spec import NetSpec

runner = CliRunner()


def run(*args: str):
    return runner.invoke(app, list(args))


def one_line_error(result, code: int) -> str:
    assert result.exit_code == code, result.output
    assert "Traceback" not in result.output
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("error: "), result.stderr
    return lines[0]


@pytest.fixture
def study(tmp_path: Path, tiny_spec: NetSpec) -> Path:
    optuna.logging.set_verbosity(optuna.logging.ERROR)
    return make_study(tmp_path / "tiny-study", tiny_spec)


def test_report_writes_and_lists_the_files(study: Path) -> None:
    result = run("report", str(study))
    assert result.exit_code == 0, result.output
    assert "index.html" in result.stdout and "noise:" in result.stdout
    assert (study / "report" / "index.html").is_file() and (study / "report" / "leaders.png").is_file()


def test_json_is_only_json(study: Path, tmp_path: Path) -> None:
    result = run("report", str(study), "--json", "--out", str(tmp_path / "elsewhere"))
    assert result.exit_code == 0, result.output
    data = json.loads(result.stdout)
    assert [Path(p).name for p in data["files"]][-2:] == ["index.html", "summary.md"]
    assert data["finished"] is True and "verdict" in data["noise"]
    assert all(Path(p).parent == tmp_path / "elsewhere" for p in data["files"])


def test_shared_storage_by_name(study: Path, tmp_path: Path) -> None:
    url = f"sqlite:///{study / 'study.db'}"
    result = run("report", "--storage", url, "--study", "tiny-study", "--out", str(tmp_path / "r"), "--json")
    assert result.exit_code == 0, result.output
    assert (tmp_path / "r" / "index.html").is_file()
    line = one_line_error(run("report", "--storage", url, "--study", "nope", "--out", str(tmp_path / "r")), 2)
    assert "--study 'nope': not in" in line and "tiny-study" in line


def test_a_running_study_says_so(tmp_path: Path, tiny_spec: NetSpec) -> None:
    folder = make_study(tmp_path / "live", tiny_spec, running=True)
    result = run("report", str(folder))
    assert result.exit_code == 0, result.output
    assert "not finished" in result.stderr


def test_not_a_study_folder(tmp_path: Path) -> None:
    (tmp_path / "plain").mkdir()
    line = one_line_error(run("report", str(tmp_path / "plain")), 2)
    assert "is not a study folder (no study.db)" in line and str(tmp_path / "plain") in line
    assert "no such folder" in one_line_error(run("report", str(tmp_path / "missing")), 2)


def test_a_study_with_nothing_finished(tmp_path: Path, tiny_spec: NetSpec) -> None:
    folder = make_study(tmp_path / "empty", tiny_spec, trained=False)
    line = one_line_error(run("report", str(folder)), 5)
    assert "no finished proxy run yet" in line and str(folder) in line


def test_a_study_of_an_older_format(tmp_path: Path) -> None:
    folder = tmp_path / "old"
    folder.mkdir()
    old = optuna.create_study(study_name="old", storage=f"sqlite:///{folder / 'study.db'}")
    old.set_user_attr("groups", [])  # what scalesearch 0.1 stored
    line = one_line_error(run("report", str(folder)), 5)
    assert "written by scalesearch 0.1" in line and str(folder) in line


def test_not_a_database(tmp_path: Path) -> None:
    folder = tmp_path / "junk"
    folder.mkdir()
    (folder / "study.db").write_text("not sqlite\n")
    line = one_line_error(run("report", str(folder)), 4)
    assert "cannot open study storage" in line
