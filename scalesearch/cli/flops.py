"""`scalesearch flops`: one network's cost with a per-part breakdown."""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import typer

from scalesearch.measure import measure
from scalesearch.report.console import FLOPS_HEADER, console, fmt_flops, fmt_int, print_json, table
from scalesearch.report.files import write_frame
from scalesearch.spec import to_dict

from .common import (
    AlphaOpt,
    BaselineOpt,
    BetaOpt,
    DepthOpt,
    GammaOpt,
    ImageSizeOpt,
    JsonOpt,
    PhiOpt,
    PolicyOpt,
    ResolutionOpt,
    WidthOpt,
    multipliers,
    resolve_network,
)


def flops(
    baseline: str = BaselineOpt,
    depth: float | None = DepthOpt, width: float | None = WidthOpt, resolution: float | None = ResolutionOpt,
    alpha: float | None = AlphaOpt, beta: float | None = BetaOpt, gamma: float | None = GammaOpt,
    phi: float | None = PhiOpt, image_size: int | None = ImageSizeOpt, policy: str = PolicyOpt,
    counter: str = typer.Option("fvcore", "--counter", help="fvcore (default; counts BN and pooling too) or meta "
                                "(torch FlopCounterMode on the meta device: conv+linear only, no memory)."),
    save: Path | None = typer.Option(None, "--save", help="Also write the breakdown to this .csv or .json file."),
    json_out: bool = JsonOpt,
) -> None:
    """Measure one network: FLOPs (multiply-adds, batch 1), parameters, activations, per-part breakdown."""
    m = multipliers(depth, width, resolution, alpha, beta, gamma, phi)
    base, net = resolve_network(baseline, m, image_size, policy)
    cost = measure(net, counter)
    if save is not None:
        parts = pd.DataFrame([{"part": p.name, "flops": p.flops, "params": p.params} for p in cost.parts])
        write_frame(parts, save)
    if json_out:
        print_json({"name": net.name, "baseline": base.name, "cost": cost.to_dict(), "spec": to_dict(net)})
        return
    rows = [[p.name, fmt_flops(p.flops), f"{100 * p.flops / cost.flops:.1f}%" if cost.flops else "-",
             fmt_int(p.params)] for p in cost.parts]
    rows.append(["total", fmt_flops(cost.flops), "100.0%", fmt_int(cost.params)])
    title = f"{net.name} at {net.resolution}x{net.resolution} px: multiply-adds, batch 1, {counter} counter"
    console.print(table(title, ["part", FLOPS_HEADER, "share", "params"], rows))
    console.print(f"conv+linear: {fmt_flops(cost.conv_linear_flops)} multiply-adds   "
                  f"activations: {fmt_int(cost.activations)} (conv/linear output elements)   "
                  f"params: {fmt_int(cost.params)}")
    if cost.unsupported:
        skipped = ", ".join(f"{op} x{n}" for op, n in sorted(cost.unsupported.items()))
        console.print(f"not counted by fvcore (elementwise, ~0 multiply-adds): {skipped}", style="dim")
    if net.scaling is not None:
        s = net.scaling
        console.print(f"multipliers requested d={s.depth:.4g} w={s.width:.4g} r={s.resolution:.4g}; achieved "
                      f"d={s.depth_achieved:.4g} w={s.width_achieved:.4g} r={s.resolution_achieved:.4g} "
                      f"({s.policy} rounding)", style="dim")
