"""A comparison's inputs taken from a finished study: its baseline, recommended coefficients, policy and
proxy settings."""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from scalesearch.compare.config import DEFAULT_EPOCHS, DEFAULT_SEEDS
from scalesearch.core.errors import UsageError
from scalesearch.core.spec import NetSpec
from scalesearch.train import ProxyConfig


def study_inputs(path: Path) -> tuple[NetSpec, tuple[float, float, float], str, dict[str, Any]]:
    """(baseline spec, recommended coefficients, rounding policy, search settings) of a finished study;
    UsageError for a folder that is not one, or a search that did not finish."""
    from scalesearch.report.best import load_best

    best = load_best(path)
    if best.record.get("search_finished") is False:
        raise UsageError(f"{best.path}: the search was interrupted, so its leader is provisional: rerun the grid "
                         "command to finish it, then compare")
    return best.baseline_spec, (best.alpha, best.beta, best.gamma), best.policy, best.settings


def study_proxy(settings: Mapping[str, Any], epochs: int | None = None) -> tuple[ProxyConfig, int]:
    """The study's proxy settings at its final rung's epochs (or ``epochs``), and its final rung's seeds."""
    stored = settings.get("proxy")
    proxy = stored if isinstance(stored, dict) else {}
    names = {f.name for f in dataclasses.fields(ProxyConfig)}
    rungs = settings.get("rungs") or [[DEFAULT_EPOCHS, DEFAULT_SEEDS]]
    last_epochs, last_seeds = rungs[-1]
    values = {k: v for k, v in proxy.items() if k in names}
    return ProxyConfig(**{**values, "epochs": epochs or int(last_epochs)}), int(last_seeds)
