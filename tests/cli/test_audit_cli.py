"""`scalesearch audit` through Typer's runner, with the fake trainer patched in for train_proxy: the plan line,
the table, --json, the report's section, resume, and one-line errors with their exit codes."""

from __future__ import annotations

import io
import json
import shutil
from pathlib import Path
from typing import Any

import optuna
import pytest
from audit_studies import Counting, finished_study, ten_hour_runs, tiny
from rich.console import Console
from typer.testing import CliRunner

import scalesearch.audit.plan as audit_plan
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


def test_audits_of_typo_size_are_refused_before_any_work(study: Path, trainer: Counting) -> None:
    line = one_line_error(run("audit", str(study), "--seeds", "101"), 2)
    assert "--seeds 101: must be an integer from 1 to 100" in line
    line = one_line_error(run("audit", str(study), "--epochs", "100000"), 2)
    assert "--epochs 100000: must be an integer from 1 to 1000" in line
    assert trainer.calls == 0 and not (study / "audit.json").exists()


@pytest.fixture(scope="module")
def slow_built(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return finished_study(tmp_path_factory.mktemp("audit-slow"), tiny(), study="slow-audit", trainer=ten_hour_runs)


class Witness(Counting):
    """Counts calls, and notes whether the plan line was on stderr when the first training started."""

    def __init__(self, said: io.StringIO) -> None:
        super().__init__()
        self.said, self.plan_first = said, None

    def __call__(self, *args: Any, **kwargs: Any) -> Any:
        if self.plan_first is None:
            self.plan_first = "audit of study" in self.said.getvalue()
        return super().__call__(*args, **kwargs)


def test_an_audit_estimated_over_the_bound_needs_allow_long(slow_built: Path, tmp_path: Path,
                                                            monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("SCALESEARCH_CACHE_DIR", str(tmp_path / "cache"))
    monkeypatch.setattr(audit_plan, "available_cores", lambda: 2)  # the estimate shares runs over the cores
    said = io.StringIO()
    monkeypatch.setattr(audit_cmd, "err_console", Console(file=said, width=200))
    fake = Witness(said)
    monkeypatch.setattr(audit_run, "train_proxy", fake)
    study = Path(shutil.copytree(slow_built, tmp_path / slow_built.name))
    args = ["audit", str(study), "--sample", "3", "--seeds", "2", "--resamples", "100", "--json"]
    refused = run(*args)
    assert refused.exit_code == 2 and "Traceback" not in refused.output
    # Typer's runner shows the error on its own stderr; nothing else was said, nothing trained.
    line = one_line_error(refused, 2)
    assert "the audit would take about" in line and " h (6 runs to train" in line and "over the 12 h bound" in line
    assert "--allow-long" in line and said.getvalue() == "" and fake.calls == 0 and refused.stdout == ""

    allowed = run(*args, "--allow-long")
    assert allowed.exit_code == 0, allowed.output
    assert json.loads(allowed.stdout)["config"]["seeds"] == 2  # --json: stdout holds only the JSON
    assert "audit of study slow-audit" in said.getvalue() and "about " in said.getvalue()  # the estimate, on stderr
    assert fake.calls == 6 and fake.plan_first is True  # said before the first run started
