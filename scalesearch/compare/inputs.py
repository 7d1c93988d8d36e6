"""A comparison's inputs taken from a finished study: its baseline, recommended coefficients, policy and
proxy settings."""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import Any

from scalesearch.core.builderspec import AnySpec
from scalesearch.core.errors import UsageError
from scalesearch.core.settings import DEFAULT_RUNG_PAIRS, StudySettings
from scalesearch.search.config import stored_proxy
from scalesearch.train import ProxyConfig


def study_inputs(path: Path) -> tuple[AnySpec, tuple[float, float, float], str, dict[str, Any]]:
    """(baseline spec, recommended coefficients, rounding policy, search settings) of a finished study;
    UsageError for a folder that is not one, or a search that did not finish."""
    from scalesearch.report.best import load_best

    best = load_best(path)
    if best.record.get("search_finished") is False:
        raise UsageError(f"{best.path}: the search was interrupted, so its leader is provisional: rerun the grid "
                         "command to finish it, then compare")
    return best.baseline_spec, (best.alpha, best.beta, best.gamma), best.policy, best.settings


def study_proxy(settings: Mapping[str, Any], epochs: int | None = None) -> tuple[ProxyConfig, int]:
    """The study's proxy settings at its final rung's epochs (or ``epochs``), and its final rung's seeds; the
    stored ``settings`` read as StudySettings (a key missing: the search's default)."""
    study = StudySettings.from_stored(settings)
    last_epochs, last_seeds = (study.rungs or DEFAULT_RUNG_PAIRS)[-1]
    return stored_proxy(study, epochs=epochs or last_epochs), last_seeds
