"""Fixtures for report tests: a finished tiny study folder (tests/report_studies.py builds it)."""

from __future__ import annotations

from pathlib import Path

import optuna
import pytest
from report_studies import make_study

from scalesearch.core.spec import NetSpec


@pytest.fixture
def study_dir(tmp_path: Path, tiny_spec: NetSpec) -> Path:
    optuna.logging.set_verbosity(optuna.logging.ERROR)
    return make_study(tmp_path / "tiny-study", tiny_spec)
