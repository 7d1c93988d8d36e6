"""A study record of the right format but the wrong shape (a field missing, of another type, out of range),
in the study or in one of its trials, is one line naming the field in `report`, `audit` and a `grid` resume:
exit 4 (storage), no traceback."""

from __future__ import annotations

import json
import shutil
import sqlite3
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

import optuna
import pytest
import search_fakes
from audit_studies import Counting, tiny
from typer.testing import CliRunner

from scalesearch.audit import run as audit_run
from scalesearch.cli.main import app
from scalesearch.core.specio import save_spec
from scalesearch.search import run as search_run
from scalesearch.search.storage import default_url

runner = CliRunner()
STUDY = "dmg"
SMALL = ["--data", "synthetic", "--alpha", "1.0:2.0:0.2", "--beta", "1.0:1.4:0.2", "--gamma", "1.0:1.4:0.2",
         "--tolerance", "0.1", "--rungs", "2x1", "--references", "none", "--batch-size", "32", "--workers", "1",
         "--study", STUDY, "--no-report"]


def fake_run(config: Any, **kwargs: Any) -> Any:
    return search_run.run_search(config, trainer=search_fakes.fake_train, **kwargs)


@pytest.fixture(scope="module")
def built(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A finished fake-trained study made by `grid` (root/res/dmg), built once for the module."""
    root = tmp_path_factory.mktemp("damaged")
    save_spec(tiny(), root / "tiny.yaml")
    with pytest.MonkeyPatch.context() as mp:
        mp.setattr("scalesearch.cli.grid.run_search", fake_run)
        mp.setenv("SCALESEARCH_CACHE_DIR", str(root / "cache"))
        result = runner.invoke(app, grid_args(root))
    assert result.exit_code == 0, result.output
    return root


def grid_args(root: Path, baseline: Path | None = None) -> list[str]:
    return ["grid", "--baseline", str(baseline or root / "tiny.yaml"), *SMALL, "--out", str(root / "res")]


@pytest.fixture
def root(built: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A private copy of the built study, with the fake trainer for grid and audit (the cost cache is the
    build's: the candidates are measured once)."""
    copy = Path(shutil.copytree(built, tmp_path / "root", ignore=shutil.ignore_patterns("cache")))
    monkeypatch.setattr("scalesearch.cli.grid.run_search", fake_run)
    monkeypatch.setattr(audit_run, "train_proxy", Counting())
    monkeypatch.setenv("SCALESEARCH_CACHE_DIR", str(built / "cache"))
    monkeypatch.setattr(sys, "argv", ["scalesearch"])
    return copy


def set_study_attr(folder: Path, change: Callable[[dict[str, Any]], tuple[str, Any]]) -> None:
    """Rewrite one study user attr as another tool (or a hand in the database) might."""
    study = optuna.load_study(study_name=STUDY, storage=default_url(folder))
    key, value = change(dict(study.user_attrs))
    study.set_user_attr(key, value)


def set_trial_attr(folder: Path, key: str, change: Callable[[Any], Any]) -> int:
    """Rewrite one user attr of the first trial that has it, in the database (Optuna refuses to change a
    finished trial); the trial's number."""
    with sqlite3.connect(folder / "study.db") as db:
        trial_id, value = db.execute("SELECT trial_id, value_json FROM trial_user_attributes WHERE key = ? "
                                     "ORDER BY trial_id LIMIT 1", (key,)).fetchone()
        db.execute("UPDATE trial_user_attributes SET value_json = ? WHERE trial_id = ? AND key = ?",
                   (json.dumps(change(json.loads(value))), trial_id, key))
        return int(db.execute("SELECT number FROM trials WHERE trial_id = ?", (trial_id,)).fetchone()[0])


def drop(d: dict[str, Any], key: str) -> dict[str, Any]:
    return {k: v for k, v in d.items() if k != key}


STUDY_DAMAGE: list[tuple[str, Callable[[dict[str, Any]], tuple[str, Any]], str]] = [
    ("a candidate's field missing",
     lambda a: ("candidates", [a["candidates"][0], drop(a["candidates"][1], "flops"), *a["candidates"][2:]]),
     "field 'candidates[1].flops' is missing"),
    ("a candidate's field of another type",
     lambda a: ("candidates", [{**c, "network": "x"} for c in a["candidates"]]),
     "field 'candidates[0].network' is 'x', not an integer >= 0"),
    ("a candidate naming no network",
     lambda a: ("candidates", [{**c, "network": 99} for c in a["candidates"]]),
     "field 'candidates[0].network' is 99, which names no stored network"),
    ("the candidates not a list", lambda a: ("candidates", "garbage"), "field 'candidates' is 'garbage', not a list"),
    ("a network's spec", lambda a: ("networks", [{**a["networks"][0], "spec": {"name": 1}}, *a["networks"][1:]]),
     "field 'networks[0].spec' is not a network spec"),
    ("the axes", lambda a: ("axes", [[1.0, 1.2]]), "field 'axes' is [[1.0, 1.2]], not a list of 3"),
    ("a setting of another type", lambda a: ("settings", {**a["settings"], "w": "high"}),
     "field 'settings.w' is 'high', not a finite number"),
    ("a setting missing", lambda a: ("settings", drop(a["settings"], "target_flops")),
     "field 'settings.target_flops' is missing"),
    ("the settings not a mapping", lambda a: ("settings", [1, 2]), "field 'settings' is [1, 2], not a mapping"),
    ("the baseline FLOPs", lambda a: ("baseline_flops", -5), "field 'baseline_flops' is -5, not an integer >= 0"),
    ("an invocation", lambda a: ("invocations", [{"finished_at": 3}]),
     "field 'invocations[0].finished_at' is 3, not text"),
]


def commands(root: Path, built: Path) -> dict[str, list[str]]:
    """The three commands that read a study back; the grid resumes with the settings the study was made with
    (the baseline file of the build)."""
    folder = root / "res" / STUDY
    return {"report": ["report", str(folder)], "audit": ["audit", str(folder), "--sample", "4", "--seeds", "1"],
            "grid resume": grid_args(root, built / "tiny.yaml")}


def assert_one_line(result: Any, says: str) -> None:
    assert result.exit_code == 4, result.output
    assert "Traceback" not in result.output and isinstance(result.exception, SystemExit)  # not an escaped error
    errors = [line for line in result.stderr.splitlines() if line.startswith("error:")]
    assert len(errors) == 1 and errors == result.stderr.strip().splitlines()[-1:], result.stderr
    assert says in errors[0], errors[0]
    assert "the stored record is damaged: move the study folder aside" in errors[0]


@pytest.mark.parametrize("what, change, says", STUDY_DAMAGE, ids=[d[0] for d in STUDY_DAMAGE])
def test_a_damaged_study_record_is_one_line_everywhere(root: Path, built: Path, what: str, change: Callable,
                                                       says: str) -> None:
    set_study_attr(root / "res" / STUDY, change)
    for args in commands(root, built).values():
        result = runner.invoke(app, args)
        assert_one_line(result, f"study {STUDY!r}: study record: {says}")


@pytest.mark.parametrize("key, change, says", [
    ("results", lambda rs: [{**rs[0], "accuracy": 7.5}, *rs[1:]], "field 'results[0].accuracy' is 7.5, not a fraction"),
    ("results", lambda rs: [{k: v for k, v in rs[0].items() if k != "status"}], "field 'results[0].status' is missing"),
    ("results", lambda rs: "x", "field 'results' is 'x', not a list"),
    ("seeds", lambda s: ["zero"], "field 'seeds[0]' is 'zero', not an integer >= 0"),
])
def test_a_damaged_trial_record_is_one_line_everywhere(root: Path, built: Path, key: str, change: Callable,
                                                       says: str) -> None:
    number = set_trial_attr(root / "res" / STUDY, key, change)
    for args in commands(root, built).values():
        result = runner.invoke(app, args)
        assert_one_line(result, f"trial {number}: trial record: {says}")


def test_the_undamaged_copy_reports_and_resumes(root: Path, built: Path) -> None:
    """The fixture's copy itself is sound: what fails above is the damage, not the set-up."""
    for name in ("report", "grid resume"):
        result = runner.invoke(app, commands(root, built)[name])
        assert result.exit_code == 0, result.output
