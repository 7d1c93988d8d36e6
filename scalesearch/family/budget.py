"""The largest member of a family within a budget (multiply-adds, parameters or measured latency):
``solve_phi`` bisects phi on the measured, rounded network."""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass

from scalesearch.core.builderspec import AnySpec
from scalesearch.core.errors import FieldError, SpecError
from scalesearch.core.units import check_target
from scalesearch.family.recipe import Member, Recipe, member_at
from scalesearch.measure import Cost, LatencyConfig, measure

BUDGET_COSTS = {"flops": "multiply-adds", "params": "parameters", "latency": "ms"}
MAX_SOLVED_PHI = 32.0  # 2^32 x the baseline's FLOPs: far past any size limit


@dataclass(frozen=True)
class Budget:
    """At most ``limit`` of ``cost``: multiply-adds, parameters, or milliseconds of measured latency
    (timed as ``latency`` says, on this machine)."""

    cost: str
    limit: float
    latency: LatencyConfig | None = None

    def __post_init__(self) -> None:
        if self.cost not in BUDGET_COSTS:
            raise FieldError("cost", self.cost, f"a budget is one of {', '.join(BUDGET_COSTS)}")
        if not (math.isfinite(self.limit) and self.limit > 0):
            raise FieldError(self.field, self.limit, "must be a positive number")
        if self.cost == "latency" and self.latency is None:
            object.__setattr__(self, "latency", LatencyConfig())

    @property
    def field(self) -> str:
        return f"target_{self.cost}"

    def of(self, cost: Cost) -> float:
        if self.cost == "latency":
            assert cost.latency is not None  # measured with the budget's LatencyConfig
            return cost.latency.median_ms
        return float(cost.flops if self.cost == "flops" else cost.params)

    def show(self, value: float) -> str:
        return f"{value:.2f} ms" if self.cost == "latency" else f"{int(value):,} {BUDGET_COSTS[self.cost]}"


@dataclass(frozen=True)
class Solution:
    """The largest member within the budget, and the next step up (the smallest larger phi, at the phi
    resolution, whose network exceeds it; None when that network is beyond the size limits)."""

    budget: Budget
    recipe: Recipe
    chosen: Member
    next_step: Member | None
    base_cost: Cost
    phi_resolution: float
    networks_measured: int


def solve_phi(base: AnySpec, recipe: Recipe, budget: Budget, *, counter: str = "fvcore",
              phi_resolution: float = 0.01, progress: Callable[[Member], None] | None = None) -> Solution:
    """The largest phi (a multiple of ``phi_resolution``) whose *measured, rounded* network fits ``budget``.

    Rounding makes cost a step function of phi (layers and channels move in whole steps, pixels in steps of
    the divisor), so no formula gives phi: it is bracketed (phi doubling from 1; for latency, +1 at a time,
    since a big network takes seconds per timing), then bisected on the phi grid. Cost is assumed to grow
    with phi (coefficients >= 1). Each distinct network is measured once. A budget below phi = 0's cost
    is refused with that cost; one far below it (units.check_target, the rule grid's target follows too)
    before any network but the baseline is measured.
    """
    if not (math.isfinite(phi_resolution) and 0 < phi_resolution <= 1):
        raise FieldError("phi_resolution", phi_resolution, "must lie in (0, 1]")
    timing = budget.latency if budget.cost == "latency" else None
    base_cost = measure(base, counter, latency=timing)
    check_target(budget.limit, budget.of(base_cost), field=budget.field, cost=budget.cost, baseline=base.name)
    seen: dict[str, Cost] = {}

    def at(i: int) -> Member | None:
        """The member at phi = i x resolution, or None when it is too big to build, or to time in memory
        (over any budget)."""
        phi = round(i * phi_resolution, 10)
        try:
            spec = recipe.spec(base, phi)
            key = spec.architecture_key()
            member = member_at(phi, spec, seen[key], base_cost.flops) if key in seen else None
            if member is None:
                seen[key] = measure(spec, counter, latency=timing)
                member = member_at(phi, spec, seen[key], base_cost.flops)
                if progress is not None and i > 0:
                    progress(member)  # a newly measured network (phi 0 is the baseline, measured first)
        except (SpecError, FieldError):
            return None
        return member

    def fits(m: Member | None) -> bool:
        return m is not None and budget.of(m.cost) <= budget.limit

    zero = at(0)
    if not fits(zero):
        shown = budget.show(budget.of(zero.cost)) if zero is not None else "more"
        raise FieldError(budget.field, budget.show(budget.limit),
                         f"below the baseline's cost: {base.name} at phi 0 costs {shown}")
    one = round(1 / phi_resolution)
    lo, hi = 0, one
    while fits(top := at(hi)):
        lo, hi = hi, hi + one if budget.cost == "latency" else 2 * hi
        if hi * phi_resolution > MAX_SOLVED_PHI:
            assert top is not None
            raise FieldError(budget.field, budget.show(budget.limit),
                             f"never reached: phi {top.phi:g} still costs {budget.show(budget.of(top.cost))}; the "
                             "family stops growing (coefficients near 1, or a resolution cap)")
    while hi - lo > 1:
        mid = (lo + hi) // 2
        lo, hi = (mid, hi) if fits(at(mid)) else (lo, mid)
    chosen = at(lo)
    assert chosen is not None
    return Solution(budget, recipe, chosen, at(hi), base_cost, phi_resolution, len(seen))
