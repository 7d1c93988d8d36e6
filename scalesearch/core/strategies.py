"""Named scaling strategies: closed-form splits of a FLOPs factor between depth, width and resolution.

Each strategy is a triple of exponents (a_d, a_w, a_r) with a_d + 2 a_w + 2 a_r = 1, so that for any FLOPs
factor s the multipliers d = s^a_d, w = s^a_w, r = s^a_r satisfy d * w^2 * r^2 = s exactly (before
rounding; FLOPs of a conv net grow ~linearly in depth and ~quadratically in width and resolution). The
table is scaling-literature.md's: free reference points for every search, buildable like any candidate.

A strategy's ``coefficients`` are its multipliers "at phi = 1" in the paper's sense, (alpha, beta, gamma):
for every strategy but ``paper`` that is s = 2; ``paper`` is the EfficientNet point (1.2, 1.1, 1.15) itself,
whose product is 1.92, as the paper's grid search found it.
"""

from __future__ import annotations

import difflib
import math
from dataclasses import dataclass

from scalesearch.core.errors import FieldError

DWR_DEFAULT = 0.8  # Dollar et al. 2021's recommended "fast" scaling: most of the factor to width


@dataclass(frozen=True)
class Strategy:
    """A closed-form strategy: exponents of the FLOPs factor for depth, width and resolution."""

    name: str
    exponents: tuple[float, float, float]
    product: float  # the FLOPs factor s that ``coefficients`` corresponds to (2, or 1.92 for paper)
    source: str

    def __post_init__(self) -> None:
        a_d, a_w, a_r = self.exponents
        if min(self.exponents) < 0 or not math.isclose(a_d + 2 * a_w + 2 * a_r, 1.0, abs_tol=1e-12):
            raise FieldError("exponents", self.exponents, "must be >= 0 with a_d + 2 a_w + 2 a_r = 1")

    def multipliers(self, s: float) -> tuple[float, float, float]:
        """(d, w, r) for a FLOPs factor s, with d * w^2 * r^2 = s."""
        if not (math.isfinite(s) and s > 0):
            raise FieldError("flops factor", s, "must be a positive number")
        a_d, a_w, a_r = self.exponents
        return s**a_d, s**a_w, s**a_r

    @property
    def coefficients(self) -> tuple[float, float, float]:
        """(alpha, beta, gamma): the multipliers at phi = 1, rounded to 4 decimals like a grid point."""
        d, w, r = self.multipliers(self.product)
        return round(d, 4), round(w, 4), round(r, 4)


def _from_point(name: str, alpha: float, beta: float, gamma: float, source: str) -> Strategy:
    """The strategy that scales along the ray of one (alpha, beta, gamma) point."""
    p = alpha * beta**2 * gamma**2
    ln = math.log(p)
    return Strategy(name, (math.log(alpha) / ln, math.log(beta) / ln, math.log(gamma) / ln), p, source)


def dwr(a: float = DWR_DEFAULT) -> Strategy:
    """Dollar, Singh, Girshick, "Fast and Accurate Model Scaling" (CVPR 2021): d = s^((1-a)/2),
    w = s^(a/2), r = s^((1-a)/4). a = 1 is width only, a = 1/3 uniform."""
    if not (math.isfinite(a) and 0 <= a <= 1):
        raise FieldError("dwr parameter", a, "must be between 0 and 1 (0.8 is the paper's fast scaling)")
    name = "dwr" if a == DWR_DEFAULT else f"dwr:{a:g}"
    return Strategy(name, ((1 - a) / 2, a / 2, (1 - a) / 4), 2.0, "Dollar et al., CVPR 2021")


STRATEGIES: dict[str, Strategy] = {
    s.name: s
    for s in (
        _from_point("paper", 1.2, 1.1, 1.15, "EfficientNet (Tan & Le 2019), grid search at phi = 1"),
        Strategy("uniform", (0.2, 0.2, 0.2), 2.0, "equal exponents: s^(1/5) each"),
        dwr(),
        Strategy("depth-only", (1.0, 0.0, 0.0), 2.0, "EfficientNet Table 3 / Figure 3"),
        Strategy("width-only", (0.0, 0.5, 0.0), 2.0, "EfficientNet Table 3 / Figure 3"),
        Strategy("resolution-only", (0.0, 0.0, 0.5), 2.0, "EfficientNet Table 3 / Figure 3"),
    )
}


def names() -> list[str]:
    return list(STRATEGIES)


def get(name: str) -> Strategy:
    """A strategy by name; ``dwr:A`` picks the dWr family's parameter (e.g. ``dwr:0.6``)."""
    key = name.strip().lower()
    if key in STRATEGIES:
        return STRATEGIES[key]
    if key.startswith("dwr:"):
        try:
            a = float(key[4:])
        except ValueError:
            raise FieldError("strategy", name, "dwr:A needs a number A between 0 and 1, e.g. dwr:0.6") from None
        return dwr(a)
    close = difflib.get_close_matches(key, names(), n=1)
    hint = f" (did you mean {close[0]!r}?)" if close else ""
    raise FieldError("strategy", name, f"unknown strategy{hint}; known: {', '.join(names())}, dwr:A")


def parse(value: str) -> list[Strategy]:
    """``none``, ``all`` or a comma-separated list of names, as ``--references`` takes it."""
    key = value.strip().lower()
    if key in ("", "none"):
        return []
    if key == "all":
        return list(STRATEGIES.values())
    out: list[Strategy] = []
    for part in key.split(","):
        s = get(part)
        if s not in out:
            out.append(s)
    return out
