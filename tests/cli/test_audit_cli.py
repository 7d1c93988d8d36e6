"""`scalesearch audit` through Typer's runner, with the fake trainer patched in for train_proxy: the plan line,
the table, --json, the report's section, resume, and one-line errors with their exit codes."""

from __future__ import annotations

import io
import json
import shutil
from pathlib import Path

import optuna
import pytest
from audit_studies import Counting, finished_study, tiny
from rich.console import Console
from typer.testing import CliRunner

import scalesearch.audit.run as audit_run
import scalesearch.cli.audit as audit_cmd
from scalesearch.cli.main import app
from scalesearch.search.storage import default_url

runner = CliRunner()


@pytest.fixture(scope="module")
def built(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return finished_study(tmp_path_factory.mktemp("audit-cli"), tiny())


@pytest.fixture
def study(built: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.setenv("SCALESEARCH_CACHE_DIR", str(tmp_path / "cache"))  # a private proxy-run cache
    return Path(shutil.copytree(built, tmp_path / built.name))


@pytest.fixture
def trainer(monkeypatch: pytest.MonkeyPatch) -> Counting:
    fake = Counting()
    monkeypatch.setattr(audit_run, "train_proxy", fake)
    return fake


def run(*args: str, columns: int = 80):
    return runner.invoke(app, list(args), env={"COLUMNS": str(columns)})


def one_line_error(result, code: int) -> str:
    assert result.exit_code == code, result.output
    assert "Traceback" not in result.output
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("error: "), result.stderr
    return lines[0]


def test_audit_prints_the_plan_a_table_that_fits_and_the_verdicts(study: Path, trainer: Counting,
                                                                   monkeypatch: pytest.MonkeyPatch) -> None:
    terminal = Console(width=80, file=io.StringIO(), force_terminal=True, color_system=None)
    monkeypatch.setattr(audit_cmd, "console", terminal)
    result = run("audit", str(study), "--sample", "4", "--resamples", "200")
    assert result.exit_code == 0, result.output
    assert "audit of study" in result.stderr and "runs at 8 epoch(s)" in result.stderr
    text = terminal.file.getvalue()  # type: ignore[attr-defined]  # the console writes to a StringIO
    table = [line for line in text.splitlines() if line[:1] in "┏┃┡│└"]
    assert table and all(len(line) <= 80 for line in table) and "…" not in text, text
    assert "Spearman" in text and "audit.json" in text
    assert (study / "audit.json").is_file() and trainer.calls > 0
    # A rerun trains nothing: every run is in the cache.
    calls = trainer.calls
    monkeypatch.setattr(audit_cmd, "console", Console(file=io.StringIO()))
    again = run("audit", str(study), "--sample", "4", "--resamples", "200")
    assert again.exit_code == 0 and "nothing to train" in again.stderr and trainer.calls == calls
    # The report shows the audit.
    assert run("report", str(study)).exit_code == 0
    assert "Audit at a higher fidelity" in (study / "report" / "summary.md").read_text()


def test_audit_json_prints_only_json(study: Path, trainer: Counting) -> None:
    result = run("audit", str(study), "--sample", "3", "--seeds", "1", "--epochs", "2", "--proxy-width", "0.25",
                 "--json", "--resamples", "100")
    assert result.exit_code == 0, result.output
    data = json.loads(result.stdout)
    assert data["config"]["epochs"] == 2 and data["config"]["seeds"] == 1 and data["compute"]["nominal_ratio"] == 0.5
    assert data["seed_noise"]["audit"] is None and not data["meaningful"]


def test_audit_on_a_shared_storage(study: Path, trainer: Counting, tmp_path: Path) -> None:
    out = tmp_path / "elsewhere"
    result = run("audit", str(out), "--storage", default_url(study), "--study", study.name, "--sample", "3",
                 "--json", "--resamples", "100")
    assert result.exit_code == 0, result.output
    assert (out / "audit.json").is_file()


def test_bad_input_is_one_line(study: Path, trainer: Counting, tmp_path: Path) -> None:
    assert "not a study folder" in one_line_error(run("audit", str(tmp_path)), 2)
    assert "--seeds 0" in one_line_error(run("audit", str(study), "--seeds", "0"), 2)
    assert "--sample 2" in one_line_error(run("audit", str(study), "--sample", "2"), 2)
    s = optuna.load_study(study_name=study.name, storage=default_url(study))
    s.ask()  # still running
    assert "not finished" in one_line_error(run("audit", str(study)), 5)
    assert trainer.calls == 0
