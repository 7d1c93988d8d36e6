"""Matching the target: each model's multiplier solved on the measured, rounded network to land within
the tolerance of the baseline's multiply-adds x 2^phi."""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass

from scalesearch.compare.config import COMPOUND, REFERENCES, SINGLE, CompareConfig
from scalesearch.core.builderspec import AnySpec
from scalesearch.core.errors import FieldError
from scalesearch.family import Budget, Member, Recipe, solve_phi
from scalesearch.measure import Cost, measure


@dataclass(frozen=True)
class Planned:
    """One row's network, solved to the target: ``member.phi`` is the strategy's own phi that reached it."""

    model: str
    recipe: Recipe
    member: Member
    target_flops: int

    @property
    def ratio(self) -> float:
        """Measured multiply-adds / the target."""
        return self.member.cost.flops / self.target_flops


def recipes(coefficients: tuple[float, float, float], policy: str,
            references: tuple[str, ...] = REFERENCES) -> dict[str, Recipe]:
    """The rows' recipes in table order: the single dimensions, compound, then ``references`` as REFERENCES
    orders them."""
    out = {name: Recipe.from_strategy(name, policy) for name in SINGLE}
    out[COMPOUND] = Recipe(*coefficients, policy=policy)
    out.update({name: Recipe.from_strategy(name, policy) for name in REFERENCES if name in references})
    return out


def match_models(base: AnySpec, coefficients: tuple[float, float, float], phi: float, config: CompareConfig, *,
                 policy: str = "efficientnet",
                 progress: Callable[[str], None] | None = None) -> tuple[Cost, list[Planned]]:
    """The baseline's cost and one Planned row per model, each within ``config.tolerance`` of the target."""
    if isinstance(phi, bool) or not isinstance(phi, (int, float)) or not math.isfinite(phi) or phi <= 0:
        raise FieldError("phi", phi, "must be a number > 0 (the target is the baseline's FLOPs x 2^phi)")
    base_cost = measure(base, config.counter)
    target = round(base_cost.flops * 2.0**phi)
    rows = []
    for model, recipe in recipes(coefficients, policy, config.references).items():
        if progress is not None:
            progress(model)
        rows.append(solve_model(base, model, recipe, phi, target, config))
    return base_cost, rows


def solve_model(base: AnySpec, model: str, recipe: Recipe, phi: float, target: int, config: CompareConfig) -> Planned:
    shown = f"{target:,} multiply-adds"
    try:
        s = solve_phi(base, recipe, Budget("flops", target), counter=config.counter,
                      phi_resolution=config.phi_resolution)
    except FieldError as exc:  # the family never reaches the target (coefficients ~1, a size limit)
        raise FieldError("phi", phi, f"{model} cannot reach the target {shown}: {exc.problem}") from None
    near = [m for m in (s.chosen, s.next_step) if m is not None]
    best = min(near, key=lambda m: abs(math.log(m.cost.flops / target)))
    row = Planned(model, recipe, best, target)
    if abs(row.ratio - 1) > config.tolerance:
        around = " and ".join(f"{m.cost.flops / target:.2f}x (its phi {m.phi:g})" for m in near)
        raise FieldError("phi", phi, f"{model} cannot reach the target {shown} within {config.tolerance:.0%}: "
                         f"its nearest rounded networks cost {around}; try another --phi or a larger --tolerance")
    return row
