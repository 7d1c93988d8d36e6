"""Named scaling strategies: d * w^2 * r^2 = s exactly before rounding, the literature's values, lookups."""

from __future__ import annotations

import math

import pytest

from scalesearch.core import strategies
from scalesearch.core.errors import FieldError


@pytest.mark.parametrize("name", [*strategies.names(), "dwr:0", "dwr:0.333333", "dwr:1"])
@pytest.mark.parametrize("s", [0.5, 1.0, 1.92, 2.0, 4.0, 2.0**7, 1e6])
def test_every_strategy_spends_exactly_the_flops_factor(name: str, s: float) -> None:
    d, w, r = strategies.get(name).multipliers(s)
    assert d * w**2 * r**2 == pytest.approx(s, rel=1e-9, abs=0)


def test_values_at_s_2_match_the_literature_table() -> None:
    get = strategies.get
    assert get("uniform").multipliers(2) == pytest.approx((1.1487,) * 3, abs=1e-4)
    assert get("dwr").multipliers(2) == pytest.approx((1.0718, 1.3195, 1.0353), abs=1e-4)
    assert get("depth-only").multipliers(2) == (2.0, 1.0, 1.0)
    assert get("width-only").multipliers(2) == pytest.approx((1.0, math.sqrt(2), 1.0))
    assert get("resolution-only").multipliers(2) == pytest.approx((1.0, 1.0, math.sqrt(2)))


def test_coefficients_are_the_phi_1_point() -> None:
    assert strategies.get("paper").coefficients == (1.2, 1.1, 1.15)  # product 1.92, the paper's own point
    assert strategies.get("uniform").coefficients == (1.1487, 1.1487, 1.1487)
    assert strategies.get("depth-only").coefficients == (2.0, 1.0, 1.0)


def test_dwr_family_ends() -> None:
    assert strategies.get("dwr:1").multipliers(4) == pytest.approx((1.0, 2.0, 1.0))  # width only
    # a = 1/3 is Dollar et al.'s "uniform": each dimension takes an equal share of the FLOPs factor
    d, w, r = strategies.get("dwr:0.333333333333").multipliers(8)
    assert (d, w**2, r**2) == pytest.approx((2.0, 2.0, 2.0), rel=1e-6)


def test_parse_lists() -> None:
    assert strategies.parse("none") == []
    assert [s.name for s in strategies.parse("all")] == strategies.names()
    assert [s.name for s in strategies.parse("paper, Uniform,paper")] == ["paper", "uniform"]


@pytest.mark.parametrize(("value", "message"), [
    ("unifrom", "did you mean 'uniform'"), ("bogus", "known: paper, uniform"), ("dwr:x", "dwr:A needs a number"),
    ("dwr:1.5", "between 0 and 1")])
def test_bad_names_say_what_is_known(value: str, message: str) -> None:
    with pytest.raises(FieldError, match=message):
        strategies.parse(value)


def test_bad_factor() -> None:
    with pytest.raises(FieldError, match="positive"):
        strategies.get("paper").multipliers(0)
