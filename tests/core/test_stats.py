"""Rank statistics and the bootstrap (scalesearch.core.stats, thin wrappers over scipy.stats) on inputs whose
answers are worked out by hand in the comments."""

from __future__ import annotations

import numpy as np
import pytest

from scalesearch.core.stats import Statistic, bootstrap, kendall, pooled_std, spearman


def test_spearman_on_hand_computed_inputs() -> None:
    assert spearman([1, 2, 3, 4], [10, 20, 30, 40]) == pytest.approx(1.0)
    assert spearman([1, 2, 3, 4], [4, 3, 2, 1]) == pytest.approx(-1.0)
    # rank differences -2, 1, 1, -1, 1: 1 - 6 * 8 / (5 * 24) = 0.6
    assert spearman([1, 2, 3, 4, 5], [3, 1, 2, 5, 4]) == pytest.approx(0.6)
    # With ties: ranks (1, 2.5, 2.5, 4) against (1, 2, 3, 4); Pearson of the ranks 4.5 / sqrt(4.5 * 5)
    assert spearman([1, 2, 2, 3], [1, 2, 3, 4]) == pytest.approx(4.5 / (4.5 * 5) ** 0.5, abs=1e-12)


def test_kendall_on_hand_computed_inputs() -> None:
    assert kendall([1, 2, 3, 4, 5], [1, 2, 3, 4, 5]) == pytest.approx(1.0)
    assert kendall([1, 2, 3, 4, 5], [5, 4, 3, 2, 1]) == pytest.approx(-1.0)
    # 10 pairs: 7 concordant, 3 discordant ((1,2), (1,3), (4,5) by position): (7 - 3) / 10
    assert kendall([1, 2, 3, 4, 5], [3, 1, 2, 5, 4]) == pytest.approx(0.4)
    # tau-b: 7 concordant, 1 discordant, one pair tied in x only, one in y only: 6 / sqrt(9 * 9)
    assert kendall([1, 1, 2, 3, 4], [1, 2, 2, 4, 3]) == pytest.approx(2 / 3)


@pytest.mark.parametrize("stat", [spearman, kendall])
def test_undefined_rank_correlations_are_none_not_nan(stat: Statistic) -> None:
    assert stat([1, 2], [2, 1]) is None  # two points always rank at +-1: no evidence
    assert stat([1, 1, 1], [1, 2, 3]) is None and stat([1, 2, 3], [5, 5, 5]) is None  # a constant side
    assert stat([1, 2, 3], [1, 2]) is None and stat([], []) is None


def noisy_line(n: int) -> tuple[list[float], list[float]]:
    x = np.arange(n, dtype=float)
    return x.tolist(), (x + np.random.default_rng(3).normal(0, n / 4, n)).tolist()


def test_bootstrap_interval_holds_the_estimate_narrows_with_more_points_and_repeats_with_its_seed() -> None:
    widths = []
    for n in (10, 40):
        x, y = noisy_line(n)
        a = bootstrap(spearman, x, y, resamples=400, seed=7)
        assert a.value == spearman(x, y) and a.low is not None and a.high is not None
        assert -1.0 <= a.low < a.value < a.high <= 1.0 and a.defined == a.resamples == 400
        assert bootstrap(spearman, x, y, resamples=400, seed=7) == a
        assert bootstrap(spearman, x, y, resamples=400, seed=8) != a
        widths.append(a.high - a.low)
    assert widths[1] < 0.7 * widths[0]  # 4x the networks: about half as wide
    x, y = noisy_line(20)
    bca = bootstrap(kendall, x, y, resamples=400, seed=1, method="BCa")
    assert bca.value == kendall(x, y) and bca.low is not None and bca.high is not None
    assert bca.low < bca.value < bca.high


def test_bootstrap_leaves_out_undefined_resamples_and_gives_no_interval_when_most_are() -> None:
    # 7 of 10 x values tie: a resample of 10 is constant in x with chance 0.7^10 + 0.3^10 = 2.8%
    x = [0.0] * 7 + [1.0] * 3
    y = [1.0, 2.0, 3.0, 4.0, 5.0, 6.0, 7.0, 8.0, 9.0, 10.0]
    a = bootstrap(spearman, x, y, resamples=400, seed=2)
    assert 300 < a.defined < 400 and a.low is not None and a.high is not None and a.low <= a.high
    assert a.value is not None and a.low <= a.value <= a.high
    # a statistic defined only when the pairs come out in order: almost never in a resample
    in_order = bootstrap(lambda p, q: 1.0 if list(p) == sorted(p) else None, y, y, resamples=200, seed=0)
    assert in_order.value == 1.0 and in_order.low is None and in_order.defined < 100
    assert in_order.text() == "1.00 (no interval)"
    few = bootstrap(spearman, [1, 2], [2, 1])
    assert few.low is None and few.defined == 0 and few.text() == "undefined"  # too few networks


def test_pooled_std() -> None:
    assert pooled_std([[1.0, 3.0], [2.0, 2.0], [5.0]]) == pytest.approx(1.0)  # (2 + 0) / 2 dof
    assert pooled_std([[1.0], [2.0]]) is None
