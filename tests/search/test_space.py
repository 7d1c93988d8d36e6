"""The candidate set: grid enumeration against an exact oracle, constraint modes, collapse and proxy groups."""

from __future__ import annotations

import itertools
from fractions import Fraction

import pytest

from scalesearch.core.errors import SearchError, UsageError
from scalesearch.core.grid import Ranges, formula_feasible
from scalesearch.core.scaling import scale
from scalesearch.core.spec import NetSpec
from scalesearch.measure import measure
from scalesearch.search.space import build_space
from scalesearch.train import ProxyConfig, load_data, proxy_spec


def oracle(start: str, stop: str, step: str) -> list[Fraction]:
    """Grid values in exact rational arithmetic, counted in integer steps."""
    a, b, s = Fraction(start), Fraction(stop), Fraction(step)
    return [a + i * s for i in range(int((b - a) / s) + 1)]


def oracle_feasible(ax: str, bx: str, gx: str, tol: str) -> set[tuple[Fraction, Fraction, Fraction]]:
    lo, hi = 2 * (1 - Fraction(tol)), 2 * (1 + Fraction(tol))
    return {(a, b, g) for a, b, g in itertools.product(oracle(*ax.split(":")), oracle(*bx.split(":")),
                                                      oracle(*gx.split(":"))) if lo <= a * b * b * g * g <= hi}


@pytest.mark.parametrize("ranges, tol", [
    (("1.0:2.0:0.05", "1.0:1.5:0.05", "1.0:1.5:0.05"), "0.05"),
    (("1.0:2.2:0.1", "1.0:1.5:0.1", "1.0:1.5:0.1"), "0.05"),  # 2.1 and 1.9 sit exactly on the band edges
    (("1.0:1.6:0.01", "1.0:1.2:0.01", "1.0:1.2:0.01"), "0.01"),
    (("0.9:1.3:0.03", "1.0:1.3:0.03", "1.0:1.3:0.07"), "0.1"),
])
def test_formula_feasible_matches_exact_oracle(ranges: tuple[str, str, str], tol: str) -> None:
    got = formula_feasible(Ranges.parse(*ranges), float(tol))
    expected = oracle_feasible(*ranges, tol)
    assert {tuple(Fraction(str(v)) for v in p) for p in got} == expected
    assert len(got) == len(expected)  # no duplicates either


def test_band_edges_are_kept_exactly() -> None:
    # 2.1 * 1 * 1 = 2.1 = 2 * (1 + 0.05): binary floats put 2 * 1.05 above 2.1; decimals do not.
    got = formula_feasible(Ranges.parse("1.9,2.1,2.2", "1.0", "1.0"), 0.05)
    assert got == [(1.9, 1.0, 1.0), (2.1, 1.0, 1.0)]


def test_float_steps_neither_drop_nor_add_points() -> None:
    r = Ranges.parse("1.0:1.3:0.1", "1.0:2.0:0.05", "1.15")
    assert r.alpha == (1.0, 1.1, 1.2, 1.3)
    assert len(r.beta) == 21 and r.beta[-1] == 2.0
    assert r.gamma == (1.15,)


@pytest.mark.parametrize("bad", ["1.0:x:0.1", "1.0:1.4", "1.4:1.0:0.1", "1.0:1.4:0", ""])
def test_unparsable_ranges_are_usage_errors(bad: str) -> None:
    with pytest.raises(UsageError, match="^alpha "):
        Ranges.parse(bad, "1.0", "1.0")


def test_empty_feasible_set_says_what_to_widen(tiny_spec: NetSpec) -> None:
    with pytest.raises(SearchError, match=r"widen --tolerance .*--alpha/--beta/--gamma") as info:
        build_space(tiny_spec, Ranges.parse("1.0:1.2:0.1", "1.0:1.1:0.1", "1.0:1.1:0.1"), tolerance=0.05)
    assert "1.000..1.757" in str(info.value)  # the products the grid does reach


def test_baseline_first_and_collapse_groups(tiny_spec: NetSpec) -> None:
    space = build_space(tiny_spec, Ranges.parse("1.0:2.0:0.1", "1.0:1.4:0.1", "1.0:1.4:0.1"), tolerance=0.1)
    first = space.candidates[0]
    assert first.triple == (1.0, 1.0, 1.0) and first.is_baseline and first.group == 0 and first.proxy_group == 0
    assert not first.feasible  # 1 is far outside [1.8, 2.2]: evaluated as the reference only
    assert len(space.candidates) - 1 == len(formula_feasible(Ranges.parse("1.0:2.0:0.1", "1.0:1.4:0.1",
                                                                           "1.0:1.4:0.1"), 0.1))
    keys: dict[int, set[tuple[str, int]]] = {}
    for c in space.candidates:
        rebuilt = scale(tiny_spec, depth=c.alpha, width=c.beta, resolution=c.gamma)
        keys.setdefault(c.group, set()).add((rebuilt.architecture_key(), rebuilt.resolution))
        assert c.cost.flops == measure(rebuilt).flops
    assert all(len(v) == 1 for v in keys.values())  # one network per group ...
    distinct = [next(iter(v)) for v in keys.values()]
    assert len(set(distinct)) == len(distinct)  # ... and one group per network
    assert space.n_groups < len(space.candidates)  # rounding does collapse points here


def test_proxy_groups_are_coarser_than_collapse_groups(tiny_spec: NetSpec) -> None:
    data = load_data("synthetic")
    config = ProxyConfig(proxy_width=0.25)
    space = build_space(tiny_spec, Ranges.parse("1.0:2.0:0.1", "1.0:1.4:0.1", "1.0:1.4:0.1"), tolerance=0.1,
                        proxy=config, data=data)
    proxy_of_group: dict[int, set[int]] = {}
    for c in space.candidates:
        assert c.proxy_key == proxy_spec(c.spec, config, data).architecture_key()
        proxy_of_group.setdefault(c.group, set()).add(c.proxy_group)
    assert all(len(v) == 1 for v in proxy_of_group.values())  # a network never splits across proxies
    assert len({c.proxy_key for c in space.candidates}) == len(space.proxy_groups)
    for i, members in enumerate(space.proxy_groups):
        assert {m.proxy_group for m in members} == {i}
    assert len(space.proxy_groups) < space.n_groups  # at width 0.25 narrow widths round together

    no_dedup = build_space(tiny_spec, Ranges.parse("1.0:2.0:0.1", "1.0:1.4:0.1", "1.0:1.4:0.1"), tolerance=0.1,
                           proxy=config, data=data, dedup=False)
    assert len(no_dedup.proxy_groups) == len(no_dedup.candidates)


def test_measured_constraint_keeps_exactly_the_measured_band(tiny_spec: NetSpec) -> None:
    ranges = Ranges.parse("1.0:2.0:0.25", "1.0:1.5:0.25", "1.0:1.5:0.25")
    space = build_space(tiny_spec, ranges, tolerance=0.1, constraint="measured")
    base = measure(tiny_spec).flops
    expected = set()
    for a, b, g in ranges.points():
        ratio = measure(scale(tiny_spec, depth=a, width=b, resolution=g)).flops / base
        if Fraction(9, 5) <= Fraction(repr(ratio)) <= Fraction(11, 5):
            expected.add((a, b, g))
    got = {c.triple for c in space.candidates if c.feasible}
    assert got == expected and got
    assert got != {p for p in formula_feasible(ranges, 0.1)}  # rounding makes the two modes differ


def test_reference_strategies_are_candidates_tagged_by_name(tiny_spec: NetSpec) -> None:
    from scalesearch.core import strategies
    ranges = Ranges.parse("1.0:2.0:0.1", "1.0:1.4:0.1", "1.0:1.4:0.1")
    plain = build_space(tiny_spec, ranges, tolerance=0.05)
    space = build_space(tiny_spec, ranges, tolerance=0.05, references=strategies.parse("all"))
    tags = {c.triple: c.reference for c in space.candidates if c.reference}
    # depth-only (2, 1, 1) is a grid point: tagged, not added; the other five are off this grid (no 1.15): added.
    assert tags[(2.0, 1.0, 1.0)] == "depth-only" and tags[(1.2, 1.1, 1.15)] == "paper"
    assert tags[(1.1487, 1.1487, 1.1487)] == "uniform" and tags[(1.0, 1.4142, 1.0)] == "width-only"
    assert len(space.candidates) == len(plain.candidates) + 5
    assert [c.triple for c in space.candidates[:len(plain.candidates)]] == [c.triple for c in plain.candidates]
    assert all(c.feasible for c in space.candidates if c.reference)  # every product is 2 (paper 1.92)
    assert space.rows()[-1].reference  # the stored row carries the name
    narrow = build_space(tiny_spec, ranges, tolerance=0.01, references=[strategies.get("paper")])
    paper = next(c for c in narrow.candidates if c.reference == "paper")
    assert not paper.feasible  # 1.92 is outside [1.98, 2.02]: trained as a reference, never ranked
