"""A model family's recipe: one baseline and one (alpha, beta, gamma) or named strategy; ``scale_family``
turns it into concrete, measured members at several phi.

Cost is measured on each rounded network, so the FLOPs ratio to the baseline can be shown next to the
2^phi the constraint promises.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from scalesearch.core import strategies
from scalesearch.core.builderspec import AnySpec, BuilderSpec
from scalesearch.core.errors import FieldError
from scalesearch.core.scaling import DEFAULT_POLICY, compound
from scalesearch.measure import Cost, measure
from scalesearch.nn import scale_network


@dataclass(frozen=True)
class Recipe:
    """How a family grows with phi: (alpha, beta, gamma) or a named strategy, a rounding policy and an
    optional pixel cap. A strategy's coefficients are its multipliers at phi = 1 (scalesearch.core.strategies);
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

    def spec(self, base: AnySpec, phi: float) -> AnySpec:
        spec = scale_network(base, *self.multipliers(phi), self.policy,
                             coefficients=(self.alpha, self.beta, self.gamma, phi), max_resolution=self.max_resolution,
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
    spec: AnySpec
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
            **self.builder_row(),
        }

    def builder_row(self) -> dict[str, Any]:
        """A builder's member: the call that builds it and its measured parameter ratio (none for a spec)."""
        if not isinstance(self.spec, BuilderSpec) or self.spec.scaling is None:
            return {}
        return {"builder": self.spec.builder, "builder_call": self.spec.call(),
                "params_ratio": self.spec.scaling.params_factor}


def member_at(phi: float, spec: AnySpec, cost: Cost, base_flops: int) -> Member:
    """A measured member; its spec records the achieved FLOPs factor (what the cap or rounding left of 2^phi)."""
    ratio = cost.flops / base_flops
    if spec.scaling is not None:
        spec = dataclasses.replace(spec, scaling=dataclasses.replace(spec.scaling, flops_factor=round(ratio, 4)))
    return Member(phi, spec, cost, ratio)


def scale_family(
    base: AnySpec, alpha: float, beta: float, gamma: float, phis: list[float], *,
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
        members.append(member_at(phi, spec, measure(spec, counter), base_cost.flops))
        if progress is not None:
            progress(members[-1])
    return base_cost, members
