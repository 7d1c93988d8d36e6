"""A model family: one baseline, one (alpha, beta, gamma), several phi -> concrete, measured specs.

This is what `scalesearch scale` runs. Cost is measured on each rounded network, so the FLOPs ratio to
the baseline can be shown next to the 2^phi the constraint promises.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pandas as pd

from scalesearch.measure import Cost, measure
from scalesearch.scaling import compound, policy as get_policy, scale
from scalesearch.spec import NetSpec
from scalesearch.specio import save_spec


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
            "counter": self.cost.counter, "policy": r.policy, "spec_file": str(self.path) if self.path else "",
        }


def scale_family(
    base: NetSpec, alpha: float, beta: float, gamma: float, phis: list[float], *,
    policy: str = "efficientnet", counter: str = "fvcore", progress: Callable[[float], None] | None = None,
) -> tuple[Cost, list[Member]]:
    """Scale ``base`` by compound(alpha, beta, gamma, phi) for each phi and measure every result."""
    # Every member is built as a spec first: one too big to count is refused before any counting starts.
    specs = [scale(base, *compound(alpha, beta, gamma, phi), policy, coefficients=(alpha, beta, gamma, phi))
             for phi in phis]
    base_cost = measure(base, counter)
    members = []
    for phi, spec in zip(phis, specs, strict=True):
        cost = measure(spec, counter)
        members.append(Member(phi, spec, cost, cost.flops / base_cost.flops))
        if progress is not None:
            progress(phi)
    return base_cost, members


def write_family(members: list[Member], out_dir: Path, fmt: str = "yaml") -> tuple[list[Member], Path]:
    """One spec file per phi and a summary.csv in ``out_dir``. Returns members with their paths."""
    out_dir.mkdir(parents=True, exist_ok=True)
    written = []
    for m in members:
        path = save_spec(m.spec, out_dir / f"phi{m.phi:g}.{fmt}")
        written.append(Member(m.phi, m.spec, m.cost, m.flops_ratio, path))
    summary = out_dir / "summary.csv"
    pd.DataFrame([m.row() for m in written]).to_csv(summary, index=False)
    return written, summary


def family_dir(root: Path, base: NetSpec, alpha: float, beta: float, gamma: float, policy: str) -> Path:
    return root / f"scale-{base.name}-a{alpha:g}-b{beta:g}-g{gamma:g}-{policy}"


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
