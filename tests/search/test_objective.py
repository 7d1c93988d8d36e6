"""The score formula and the noise verdict."""

from __future__ import annotations

import math

import pandas as pd
import pytest

from scalesearch.errors import UsageError
from scalesearch.report.study import noise_check
from scalesearch.search.objective import score


def test_score_is_accuracy_at_the_target() -> None:
    assert score(0.8, 4e8, 4e8) == pytest.approx(0.8)


@pytest.mark.parametrize("acc, flops, target, w", [(0.9, 8e8, 4e8, -0.07), (0.5, 1e8, 4e8, -0.07),
                                                   (0.77, 6.3e8, 4e8, -0.15), (0.6, 2e9, 1e9, 0.0)])
def test_score_formula(acc: float, flops: float, target: float, w: float) -> None:
    assert score(acc, flops, target, w) == pytest.approx(acc * math.exp(w * math.log(flops / target)))


def test_doubling_flops_costs_about_five_percent() -> None:
    assert score(1.0, 8e8, 4e8) / score(1.0, 4e8, 4e8) == pytest.approx(2 ** -0.07)
    assert score(0.9, 8e8, 4e8) < score(0.9, 4e8, 4e8)


def test_target_only_scales_scores_never_reorders() -> None:
    a, b = (0.91, 9e8), (0.89, 6e8)
    for target in (1e8, 4e8, 3e9):
        assert (score(*a, target) > score(*b, target)) == (score(*a, 4e8) > score(*b, 4e8))


@pytest.mark.parametrize("flops, target", [(4e8, 0), (0, 4e8), (4e8, -1)])
def test_score_rejects_non_positive_costs(flops: float, target: float) -> None:
    with pytest.raises(UsageError):
        score(0.5, flops, target)


def _frame(rows: list[tuple[float, float, int, int, float]]) -> pd.DataFrame:
    """(accuracy mean, std, seeds, proxy group, flops factor) -> a ranked frame like study_frame's."""
    out = []
    for i, (acc, std, seeds, group, factor) in enumerate(rows):
        out.append({"alpha": 1 + i / 10, "beta": 1.0, "gamma": 1.0, "accuracy_mean": acc, "accuracy_std": std,
                    "seeds": seeds, "proxy_group": group, "score": acc * factor, "status": "ok", "feasible": True})
    return pd.DataFrame(out).sort_values("score", ascending=False).reset_index(drop=True)


def test_clear_margin_exceeds_noise() -> None:
    check = noise_check(_frame([(0.95, 0.005, 3, 1, 1.0), (0.90, 0.005, 3, 2, 1.0), (0.85, 0.006, 3, 3, 1.0)]))
    assert check["exceeds"] is True and check["runner_up"]["alpha"] == 1.1
    assert check["margin"] == pytest.approx(0.05)


def test_small_margin_is_within_noise() -> None:
    check = noise_check(_frame([(0.91, 0.02, 3, 1, 1.0), (0.90, 0.02, 3, 2, 1.0), (0.80, 0.02, 1, 3, 1.0)]))
    assert check["exceeds"] is False and "within" in check["verdict"]
    assert check["pooled_accuracy_std"] == pytest.approx(0.02)


def test_runner_up_is_another_network() -> None:
    # Rows 0 and 1 share one trained network: their gap is FLOPs, not noise; the runner-up is row 2.
    check = noise_check(_frame([(0.95, 0.01, 3, 1, 1.0), (0.95, 0.01, 3, 1, 0.99), (0.90, 0.01, 3, 2, 1.0)]))
    assert check["runner_up"]["alpha"] == pytest.approx(1.2)


def test_one_seed_everywhere_means_noise_unknown() -> None:
    check = noise_check(_frame([(0.95, math.nan, 1, 1, 1.0), (0.90, math.nan, 1, 2, 1.0)]))
    assert check["exceeds"] is None and "unknown" in check["verdict"]
