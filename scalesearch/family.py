"""A model family: one baseline, one (alpha, beta, gamma) or named strategy, several phi -> concrete,
measured specs; and the largest member within a budget (solve_phi).

This is what `scalesearch scale` runs. Cost is measured on each rounded network, so the FLOPs ratio to
the baseline can be shown next to the 2^phi the constraint promises.
"""

from __future__ import annotations

import dataclasses
import math
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pandas as pd

from scalesearch import strategies
from scalesearch.errors import FieldError, SpecError
from scalesearch.jsonio import write_text_atomic
from scalesearch.measure import Cost, LatencyConfig, measure
from scalesearch.scaling import DEFAULT_POLICY, compound, policy as get_policy, scale
from scalesearch.spec import NetSpec
from scalesearch.specio import save_spec
from scalesearch.units import check_target


@dataclass(frozen=True)
class Recipe:
    """How a family grows with phi: (alpha, beta, gamma) or a named strategy, a rounding policy and an
    optional pixel cap. A strategy's coefficients are its multipliers at phi = 1 (scalesearch.strategies);
    its members use the closed form d, w, r = s^a_d, s^a_w, s^a_r at s = product^phi, unrounded."""

    alpha: float
    beta: float
    gamma: float
    policy: str = DEFAULT_POLICY
    max_resolution: int | None = None
    strategy: str | None = None

    @classmethod
    def from_strategy(cls, name: str, policy: str = DEFAULT_POLICY, max_resolution: int | None = None) -> Recipe:
        s = strategies.get(name)
        return cls(*s.coefficients, policy=policy, max_resolution=max_resolution, strategy=s.name)

    def multipliers(self, phi: float) -> tuple[float, float, float]:
        if self.strategy is None:
            return compound(self.alpha, self.beta, self.gamma, phi)
        s = strategies.get(self.strategy)
        try:
            return s.multipliers(s.product**phi)
        except OverflowError:
            raise FieldError("phi", phi, "too large: a multiplier overflows") from None

    def spec(self, base: NetSpec, phi: float) -> NetSpec:
        spec = scale(base, *self.multipliers(phi), self.policy, coefficients=(self.alpha, self.beta, self.gamma, phi),
                     max_resolution=self.max_resolution,
                     name=f"{base.name}-{self.strategy}-phi{phi:g}" if self.strategy else None)
        if self.strategy is not None and spec.scaling is not None:
            spec = dataclasses.replace(spec, scaling=dataclasses.replace(spec.scaling, strategy=self.strategy))
        return spec

    def label(self) -> str:
        """'strategy dwr (alpha=..., ...)' or 'alpha=1.2, beta=1.1, gamma=1.15', plus the cap if any."""
        coeffs = f"alpha={self.alpha:g}, beta={self.beta:g}, gamma={self.gamma:g}"
        text = f"strategy {self.strategy} ({coeffs})" if self.strategy else coeffs
        return text + (f", resolution capped at {self.max_resolution} px" if self.max_resolution else "")


@dataclass(frozen=True)
class Member:
    phi: float
    spec: NetSpec
    cost: Cost
    flops_ratio: float  # this member's flops / the baseline's flops, same counter
    path: Path | None = None

    def row(self) -> dict[str, Any]:
        r = self.spec.scaling
        if r is None:  # members are always made by scale(); a bare spec here is a bug
            raise ValueError(f"{self.spec.name} has no scaling record")
        return {
            "phi": self.phi, "name": self.spec.name,
            "depth": r.depth, "depth_achieved": r.depth_achieved,
            "width": r.width, "width_achieved": r.width_achieved,
            "resolution_multiplier": r.resolution, "resolution_achieved": r.resolution_achieved,
            "resolution_px": self.spec.resolution, "layers": self.spec.total_layers,
            "params": self.cost.params, "flops": self.cost.flops,
            "conv_linear_flops": self.cost.conv_linear_flops, "activations": self.cost.activations,
            "flops_ratio": round(self.flops_ratio, 4), "target_ratio": round(2.0**self.phi, 4),
            "latency_ms": self.cost.latency.median_ms if self.cost.latency else None,
            "counter": self.cost.counter, "policy": r.policy, "strategy": r.strategy or "",
            "max_resolution": r.max_resolution, "spec_file": str(self.path) if self.path else "",
        }


def _member(phi: float, spec: NetSpec, cost: Cost, base_flops: int) -> Member:
    """A measured member; its spec records the achieved FLOPs factor (what the cap or rounding left of 2^phi)."""
    ratio = cost.flops / base_flops
    if spec.scaling is not None:
        spec = dataclasses.replace(spec, scaling=dataclasses.replace(spec.scaling, flops_factor=round(ratio, 4)))
    return Member(phi, spec, cost, ratio)


def scale_family(
    base: NetSpec, alpha: float, beta: float, gamma: float, phis: list[float], *,
    policy: str = "efficientnet", counter: str = "fvcore", progress: Callable[[Member], None] | None = None,
    max_resolution: int | None = None, recipe: Recipe | None = None,
) -> tuple[Cost, list[Member]]:
    """Scale ``base`` by compound(alpha, beta, gamma, phi) for each phi and measure every result. A
    ``recipe`` (a strategy, say) replaces the coefficients, policy and cap. ``progress`` gets each member
    as it is measured."""
    recipe = recipe or Recipe(alpha, beta, gamma, policy, max_resolution)
    # Every member is built as a spec first: one too big to count is refused before any counting starts.
    specs = [recipe.spec(base, phi) for phi in phis]
    base_cost = measure(base, counter)
    members = []
    for phi, spec in zip(phis, specs, strict=True):
        members.append(_member(phi, spec, measure(spec, counter), base_cost.flops))
        if progress is not None:
            progress(members[-1])
    return base_cost, members


# -- the largest member within a budget ---------------------------------------------------------------

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


def solve_phi(base: NetSpec, recipe: Recipe, budget: Budget, *, counter: str = "fvcore",
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
            member = _member(phi, spec, seen[key], base_cost.flops) if key in seen else None
            if member is None:
                seen[key] = measure(spec, counter, latency=timing)
                member = _member(phi, spec, seen[key], base_cost.flops)
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


def write_family(members: list[Member], out_dir: Path, fmt: str = "yaml") -> tuple[list[Member], Path]:
    """One spec file per phi and a summary.csv in ``out_dir``. Returns members with their paths."""
    out_dir.mkdir(parents=True, exist_ok=True)
    written = []
    for m in members:
        path = save_spec(m.spec, out_dir / f"phi{m.phi:g}.{fmt}")
        written.append(dataclasses.replace(m, path=path))
    summary = write_text_atomic(out_dir / "summary.csv", pd.DataFrame([m.row() for m in written]).to_csv(index=False))
    return written, summary


def family_dir(root: Path, base: NetSpec, alpha: float, beta: float, gamma: float, policy: str,
               recipe: Recipe | None = None) -> Path:
    """results/scale-<base>-a..-b..-g..-<policy>, or -<strategy>- for a strategy; -max<PX> with a cap."""
    name = f"scale-{base.name}-{recipe.strategy}-{policy}" if recipe is not None and recipe.strategy else (
        f"scale-{base.name}-a{alpha:g}-b{beta:g}-g{gamma:g}-{policy}")
    if recipe is not None and recipe.max_resolution:
        name += f"-max{recipe.max_resolution}"
    return root / name


def reference_arguments(base: NetSpec, member: Member) -> dict[str, Any] | None:
    """How to build the same network with torchvision and timm, for EfficientNet-B0-based families.

    Both libraries take B0's table and (width, depth) multipliers: torchvision's
    ``_efficientnet_conf("efficientnet_b0", width_mult, depth_mult)`` and timm's
    ``_gen_efficientnet("efficientnet_b0", channel_multiplier, depth_multiplier, depth_trunc)``. They round
    like the ``efficientnet`` policy (timm's depth_trunc="round" is ``nearest``; torchvision only ceils) and
    take resolution only as the input size. torchvision sets the head to 4x the last stage instead of
    rounding 1280 x width: ``torchvision_head`` says what it would build when that differs.
    """
    if base.name != "efficientnet-b0" or member.spec.scaling is None:
        return None
    r = member.spec.scaling
    tv_head = 4 * get_policy(r.policy).channels(base.stages[-1].channels, r.width)
    return {
        "phi": member.phi, "width_mult": round(r.width, 6), "depth_mult": round(r.depth, 6),
        "input_px": member.spec.resolution, "depth_trunc": "ceil" if r.policy == "efficientnet" else "round",
        "torchvision_matches": r.policy == "efficientnet" and tv_head == member.spec.head.channels,
        "torchvision_head": tv_head, "head": member.spec.head.channels,
    }
