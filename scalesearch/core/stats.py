"""Rank agreement and its uncertainty: Spearman's rho, Kendall's tau-b and a seeded paired bootstrap interval,
as thin wrappers over ``scipy.stats`` (spearmanr, kendalltau, bootstrap) that say None where a statistic is
undefined instead of returning NaN; and the seed standard deviation pooled over networks.

Undefined means fewer than 3 pairs (two points always rank at +-1: no evidence) or a constant side (no
ranking at all)."""

from __future__ import annotations

import math
import statistics
import warnings
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any, Literal

import numpy as np
import numpy.typing as npt
import scipy.stats

Statistic = Callable[[Sequence[float], Sequence[float]], float | None]
Method = Literal["percentile", "BCa"]
MIN_PAIRS = 3  # fewer pairs: a rank correlation is undefined (None)


def _defined(x: Sequence[float], y: Sequence[float]) -> bool:
    return len(x) == len(y) and len(x) >= MIN_PAIRS and len(set(x)) > 1 and len(set(y)) > 1


def _finite(value: Any) -> float | None:
    v = float(value)
    return v if math.isfinite(v) else None


def spearman(x: Sequence[float], y: Sequence[float]) -> float | None:
    """Spearman's rank correlation (ties get their average rank; ``scipy.stats.spearmanr``); None when
    undefined (fewer than 3 pairs, lengths differ, or a side is constant)."""
    if not _defined(x, y):
        return None
    return _finite(scipy.stats.spearmanr(x, y).statistic)


def kendall(x: Sequence[float], y: Sequence[float]) -> float | None:
    """Kendall's tau-b (ties in either variable corrected for; ``scipy.stats.kendalltau``'s default); None
    when undefined (fewer than 3 pairs, lengths differ, or a side is constant)."""
    if not _defined(x, y):
        return None
    return _finite(scipy.stats.kendalltau(x, y).statistic)


@dataclass(frozen=True)
class Interval:
    """A point estimate with its bootstrap interval. ``low``/``high`` are None when fewer than half the
    resamples gave a defined value (too few networks, or too many ties, to say anything)."""

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
              seed: int = 0, level: float = 0.95, method: Method = "percentile") -> Interval:
    """``stat(x, y)`` with a ``scipy.stats.bootstrap`` interval from resampling the pairs (networks) with
    replacement (``paired=True``); ``method`` "percentile" or "BCa". A resample where ``stat`` is undefined
    (None: a side came out constant) is left out: the interval is then the percentile one over the defined
    resamples, and none at all when fewer than half are defined. The same seed gives the same interval
    (numpy's PCG64 stream is fixed for a seed across versions)."""
    value = stat(x, y)
    n = len(x)
    if n != len(y) or n < MIN_PAIRS:
        return Interval(value, None, None, level, resamples, 0)

    def nan_if_undefined(a: npt.NDArray[np.float64], b: npt.NDArray[np.float64]) -> float:
        v = stat(a.tolist(), b.tolist())
        return math.nan if v is None else v

    with warnings.catch_warnings():  # a degenerate resample distribution (every rank equal) is no error here
        warnings.simplefilter("ignore")
        res = scipy.stats.bootstrap((np.asarray(x, dtype=float), np.asarray(y, dtype=float)), nan_if_undefined,
                                    n_resamples=resamples, paired=True, vectorized=False, confidence_level=level,
                                    method=method, rng=np.random.default_rng(seed))
    found = np.asarray(res.bootstrap_distribution, dtype=float)
    found = found[np.isfinite(found)]
    if value is None or len(found) < resamples / 2:
        return Interval(value, None, None, level, resamples, len(found))
    low, high = _finite(res.confidence_interval.low), _finite(res.confidence_interval.high)
    if len(found) < resamples or low is None or high is None:  # scipy's interval is NaN with an undefined resample
        tail = (1 - level) / 2 * 100
        low, high = (float(v) for v in np.percentile(found, [tail, 100 - tail]))
    return Interval(value, low, high, level, resamples, len(found))


def pooled_std(groups: Sequence[Sequence[float]]) -> float | None:
    """Standard deviation pooled over groups of 2+ values (each network's seeds); None with no such group.
    Each network alone rests on 2-3 seeds: too few to trust, hence the pooling."""
    parts = [(len(g), statistics.variance(g)) for g in groups if len(g) >= 2]
    dof = sum(k - 1 for k, _ in parts)
    return math.sqrt(sum((k - 1) * v for k, v in parts) / dof) if dof else None
