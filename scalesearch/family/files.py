"""A family on disk: one spec file per phi and summary.csv (``write_family``), the folder it goes in, and
how torchvision and timm build the same networks."""

from __future__ import annotations

import dataclasses
from pathlib import Path
from typing import Any

import pandas as pd

from scalesearch.core.builderspec import AnySpec, BuilderSpec
from scalesearch.core.jsonio import write_text_atomic
from scalesearch.core.scaling import policy as get_policy
from scalesearch.core.spec import NetSpec
from scalesearch.core.specio import save_spec
from scalesearch.family.recipe import Member, Recipe

BUILDER_FAMILY = "family.py"  # a builder's family: one Python file that rebuilds every member


def family_files(base: AnySpec, phis: list[float], fmt: str = "yaml") -> list[str]:
    """The files ``write_family`` writes in its folder (phis of a budget are not known yet: none listed)."""
    specs = [BUILDER_FAMILY] if isinstance(base, BuilderSpec) else [f"phi{phi:g}.{fmt}" for phi in phis]
    return specs + ["summary.csv"]


def write_family(members: list[Member], out_dir: Path, fmt: str = "yaml", label: str = "") -> tuple[list[Member], Path]:
    """One spec file per phi and a summary.csv in ``out_dir``; for a builder's family, one Python file that
    rebuilds every member (``family.py``) instead of the spec files. Returns members with their paths.
    ``label`` says how the family grows (Recipe.label), for the Python file's docstring."""
    out_dir.mkdir(parents=True, exist_ok=True)
    written = []
    builders = [m for m in members if isinstance(m.spec, BuilderSpec)]
    python = write_text_atomic(out_dir / BUILDER_FAMILY, builder_family(builders, label)) if builders else None
    for m in members:
        path = python if isinstance(m.spec, BuilderSpec) else save_spec(m.spec, out_dir / f"phi{m.phi:g}.{fmt}")
        written.append(dataclasses.replace(m, path=path))
    summary = write_text_atomic(out_dir / "summary.csv", pd.DataFrame([m.row() for m in written]).to_csv(index=False))
    return written, summary


def builder_family(members: list[Member], label: str = "") -> str:
    """The source of a Python file that rebuilds each member of a builder's family: ``build(phi)`` calls the
    builder at the member's multipliers; ``MEMBERS`` holds them with the input size and the measured cost."""
    first = members[0].spec
    assert isinstance(first, BuilderSpec)  # called with builder members only
    rows = []
    for m in members:
        spec = m.spec
        assert isinstance(spec, BuilderSpec)
        rows.append(f"    {m.phi!r}: ({spec.depth!r}, {spec.width!r}, {spec.resolution}, {m.cost.flops:_}, "
                    f"{m.cost.params:_}),")
    grows = f" grown by {label}" if label else ""
    name = first.scaling.base if first.scaling is not None else first.name
    return _FAMILY_SOURCE.format(name=name, grows=grows, counter=members[0].cost.counter,
                                 builder=first.builder, classes=first.num_classes, rows="\n".join(rows))


_FAMILY_SOURCE = '''"""The {name} family{grows}, written by `scalesearch scale`.

Each member is the builder called at its multipliers (the builder rounds layers and channels itself), fed its
input size in pixels. Cost as scalesearch measured it: multiply-adds at batch 1 ({counter} counter), parameters.

    from family import MEMBERS, build
    model = build(1.0)  # the member at phi 1; python family.py rebuilds and checks them all
"""

from __future__ import annotations

import importlib
import importlib.util
import sys
from typing import Any

BUILDER = {builder!r}  # file.py:function or module:function
NUM_CLASSES = {classes}
# phi: (depth, width, input px, multiply-adds, params)
MEMBERS: dict[float, tuple[float, float, int, int, int]] = {{
{rows}
}}


def builder() -> Any:
    """The function BUILDER names."""
    target, _, function = BUILDER.rpartition(":")
    if not target.endswith(".py"):
        return getattr(importlib.import_module(target), function)
    spec = importlib.util.spec_from_file_location("_family_builder", target)
    if spec is None or spec.loader is None:
        raise ImportError(f"cannot import {{target}}")
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module
    spec.loader.exec_module(module)
    return getattr(module, function)


def build(phi: float) -> Any:
    """The member at ``phi``: a torch.nn.Module to feed MEMBERS[phi][2] px."""
    depth, width, _, _, _ = MEMBERS[phi]
    return builder()(depth, width, NUM_CLASSES)


if __name__ == "__main__":
    for phi, (depth, width, px, flops, params) in MEMBERS.items():
        built = sum(p.numel() for p in build(phi).parameters())
        same = "as measured" if built == params else f"MEASURED {{params:,}}: the builder changed"
        print(f"phi {{phi:g}}: depth {{depth:g}}, width {{width:g}}, {{px}} px, {{flops:,}} multiply-adds, "
              f"{{built:,}} params ({{same}})")
'''


def family_dir(root: Path, base: AnySpec, alpha: float, beta: float, gamma: float, policy: str,
               recipe: Recipe | None = None) -> Path:
    """results/scale-<base>-a..-b..-g..-<policy>, or -<strategy>- for a strategy; -max<PX> with a cap."""
    name = f"scale-{base.name}-{recipe.strategy}-{policy}" if recipe is not None and recipe.strategy else (
        f"scale-{base.name}-a{alpha:g}-b{beta:g}-g{gamma:g}-{policy}")
    if recipe is not None and recipe.max_resolution:
        name += f"-max{recipe.max_resolution}"
    return root / name


def reference_arguments(base: AnySpec, member: Member) -> dict[str, Any] | None:
    """How to build the same network with torchvision and timm, for EfficientNet-B0-based families.

    Both libraries take B0's table and (width, depth) multipliers: torchvision's
    ``_efficientnet_conf("efficientnet_b0", width_mult, depth_mult)`` and timm's
    ``_gen_efficientnet("efficientnet_b0", channel_multiplier, depth_multiplier, depth_trunc)``. They round
    like the ``efficientnet`` policy (timm's depth_trunc="round" is ``nearest``; torchvision only ceils) and
    take resolution only as the input size. torchvision sets the head to 4x the last stage instead of
    rounding 1280 x width: ``torchvision_head`` says what it would build when that differs.
    """
    if not isinstance(base, NetSpec) or not isinstance(member.spec, NetSpec) or base.name != "efficientnet-b0" or (
            member.spec.scaling is None):
        return None
    r = member.spec.scaling
    tv_head = 4 * get_policy(r.policy).channels(base.stages[-1].channels, r.width)
    return {
        "phi": member.phi, "width_mult": round(r.width, 6), "depth_mult": round(r.depth, 6),
        "input_px": member.spec.resolution, "depth_trunc": "ceil" if r.policy == "efficientnet" else "round",
        "torchvision_matches": r.policy == "efficientnet" and tv_head == member.spec.head.channels,
        "torchvision_head": tv_head, "head": member.spec.head.channels,
    }
