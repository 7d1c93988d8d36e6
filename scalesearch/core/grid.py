"""Grid arithmetic of step 1 of compound scaling: the alpha x beta x gamma box and the constraint.

EfficientNet fixes phi = 1 and searches alpha (depth), beta (width), gamma (resolution) >= 1 under
alpha * beta^2 * gamma^2 ~= 2. The axes are ``START:STOP:STEP`` ranges parsed in decimal
(``units.parse_range``) and the constraint product is computed in decimal too, so a point on the band's
edge (1.9 or 2.1) is kept or dropped by arithmetic, not by binary rounding. Pure: no networks are built
here (``search.space`` builds and measures the points this module keeps).
"""

from __future__ import annotations

import itertools
from collections.abc import Iterable
from dataclasses import dataclass
from decimal import Decimal
from enum import StrEnum

from scalesearch.core.errors import FieldError
from scalesearch.core.units import parse_range


class Constraint(StrEnum):
    """``formula`` keeps |alpha*beta^2*gamma^2 - 2| <= 2 * tolerance. ``measured`` keeps points whose fvcore
    multiply-adds over the baseline's lie in the same band: rounding moves the real cost far from the
    formula (docs/measurements.md, 'What rounding does to the constraint'), so the two sets differ a lot."""

    FORMULA = "formula"
    MEASURED = "measured"


# Defaults (docs/search.md): the band's ends are depth-only (alpha 2.0), width-only (beta 1.4: 1.96) and
# resolution-only (gamma 1.4); steps of 0.1 for alpha and beta and 0.05 for gamma hold the paper's point
# (1.2, 1.1, 1.15). That is 35 feasible points and 31 distinct B0 networks: with the top 5 confirmed on 3
# seeds, ~41 proxy runs, which fit the 15-minute budget on a 2-core CPU. Step 0.05 everywhere (111 points,
# 66 networks) is the finer grid when time allows (--alpha 1.0:2.0:0.05 --beta 1.0:1.4:0.05).
DEFAULT_ALPHA = "1.0:2.0:0.1"
DEFAULT_BETA = "1.0:1.4:0.1"
DEFAULT_GAMMA = "1.0:1.4:0.05"
DEFAULT_TOLERANCE = 0.05
CONSTRAINTS = tuple(c.value for c in Constraint)
TARGET_PRODUCT = Decimal(2)


@dataclass(frozen=True)
class Ranges:
    """Parsed grid axes. ``alpha``/``beta``/``gamma`` keep the text the user typed for messages."""

    alpha: tuple[float, ...]
    beta: tuple[float, ...]
    gamma: tuple[float, ...]
    text: tuple[str, str, str] = (DEFAULT_ALPHA, DEFAULT_BETA, DEFAULT_GAMMA)

    @classmethod
    def parse(cls, alpha: str = DEFAULT_ALPHA, beta: str = DEFAULT_BETA, gamma: str = DEFAULT_GAMMA) -> Ranges:
        axes = []
        for name, text in (("alpha", alpha), ("beta", beta), ("gamma", gamma)):
            values = parse_range(text, what=name)
            if any(v <= 0 for v in values):
                raise FieldError(name, text, "coefficients must be positive (the paper uses >= 1)")
            axes.append(tuple(values))
        return cls(axes[0], axes[1], axes[2], (str(alpha), str(beta), str(gamma)))

    def points(self) -> Iterable[tuple[float, float, float]]:
        return itertools.product(self.alpha, self.beta, self.gamma)

    @property
    def size(self) -> int:
        return len(self.alpha) * len(self.beta) * len(self.gamma)


def dec(x: float) -> Decimal:
    """The decimal the user meant: parse_range values are floats of short decimals (1.05 -> '1.05')."""
    return Decimal(repr(float(x)))


def product(alpha: float, beta: float, gamma: float) -> Decimal:
    """alpha * beta^2 * gamma^2, exact in decimal."""
    return dec(alpha) * dec(beta) ** 2 * dec(gamma) ** 2


def band(tolerance: float) -> tuple[Decimal, Decimal]:
    """The kept interval of the product (or measured ratio): [2 (1 - tol), 2 (1 + tol)]."""
    if not 0 <= tolerance < 1:
        raise FieldError("tolerance", tolerance, "must lie in [0, 1) (0.05 keeps products in [1.9, 2.1])")
    t = dec(tolerance)
    return TARGET_PRODUCT * (1 - t), TARGET_PRODUCT * (1 + t)


def formula_feasible(ranges: Ranges, tolerance: float) -> list[tuple[float, float, float]]:
    lo, hi = band(tolerance)
    return [p for p in ranges.points() if lo <= product(*p) <= hi]
