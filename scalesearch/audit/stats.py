"""Rank agreement between two orderings of the same networks: Kendall's tau-b and a seeded bootstrap
interval for any such statistic. Pure Python and numpy (scipy is no direct dependency)."""

from __future__ import annotations

import math
import statistics
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

Statistic = Callable[[Sequence[float], Sequence[float]], float | None]


def kendall(x: Sequence[float], y: Sequence[float]) -> float | None:
    """Kendall's tau-b (ties in either variable corrected for, as scipy's default); None when undefined
    (n < 3, or a variable is constant). O(n^2): an audit ranks tens of networks, not thousands."""
    n = len(x)
    if n != len(y) or n < 3:
        return None
    concordant = discordant = ties_x = ties_y = 0
    for i in range(n):
        for j in range(i + 1, n):
            dx, dy = x[i] - x[j], y[i] - y[j]
            if dx == 0 and dy == 0:
                continue  # tied in both: counts in neither denominator term
            if dx == 0:
                ties_x += 1
            elif dy == 0:
                ties_y += 1
            elif (dx > 0) == (dy > 0):
                concordant += 1
            else:
                discordant += 1
    denom = math.sqrt((concordant + discordant + ties_x) * (concordant + discordant + ties_y))
    return (concordant - discordant) / denom if denom else None


@dataclass(frozen=True)
class Interval:
    """A point estimate with its percentile bootstrap interval. ``low``/``high`` are None when fewer than
    half the resamples gave a defined value (too few networks, or too many ties, to say anything)."""

    value: float | None
    low: float | None
    high: float | None
    level: float
    resamples: int  # resamples drawn
    defined: int  # resamples where the statistic was defined

    def to_dict(self) -> dict[str, Any]:
        return {"value": self.value, "low": self.low, "high": self.high, "level": self.level,
                "resamples": self.resamples, "defined": self.defined}

    def text(self, digits: int = 2) -> str:
        if self.value is None:
            return "undefined"
        if self.low is None or self.high is None:
            return f"{self.value:.{digits}f} (no interval)"
        return f"{self.value:.{digits}f} [{self.low:.{digits}f}, {self.high:.{digits}f}]"


def bootstrap(stat: Statistic, x: Sequence[float], y: Sequence[float], *, resamples: int = 2000,
              seed: int = 0, level: float = 0.95) -> Interval:
    """``stat(x, y)`` with a percentile interval from resampling the pairs (networks) with replacement.
    The same seed gives the same interval: numpy's PCG64 stream is fixed for a seed across versions."""
    value = stat(x, y)
    rng = np.random.default_rng(seed)
    xs, ys = np.asarray(x, dtype=float), np.asarray(y, dtype=float)
    n = len(xs)
    found: list[float] = []
    for _ in range(resamples if n >= 3 else 0):
        pick = rng.integers(0, n, size=n)
        v = stat(xs[pick].tolist(), ys[pick].tolist())
        if v is not None and math.isfinite(v):
            found.append(v)
    if value is None or len(found) < resamples / 2:
        return Interval(value, None, None, level, resamples, len(found))
    tail = (1 - level) / 2 * 100
    low, high = np.percentile(found, [tail, 100 - tail])
    return Interval(value, float(low), float(high), level, resamples, len(found))


def pooled_std(groups: Sequence[Sequence[float]]) -> float | None:
    """Standard deviation pooled over groups of 2+ values (each network's seeds); None with no such group.
    Each network alone rests on 2-3 seeds: too few to trust, hence the pooling."""
    parts = [(len(g), statistics.variance(g)) for g in groups if len(g) >= 2]
    dof = sum(k - 1 for k, _ in parts)
    return math.sqrt(sum((k - 1) * v for k, v in parts) / dof) if dof else None
