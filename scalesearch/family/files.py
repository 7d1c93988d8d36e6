"""A family on disk: one spec file per phi and summary.csv (``write_family``), the folder it goes in, and
how torchvision and timm build the same networks."""

from __future__ import annotations

import dataclasses
from pathlib import Path
from typing import Any

import pandas as pd

from scalesearch.core.jsonio import write_text_atomic
from scalesearch.core.scaling import policy as get_policy
from scalesearch.core.spec import NetSpec
from scalesearch.core.specio import save_spec
from scalesearch.family.recipe import Member, Recipe


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
