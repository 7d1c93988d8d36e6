"""`scalesearch flops`: one network's cost with a per-part breakdown."""

from __future__ import annotations

import dataclasses
from pathlib import Path
from typing import Annotated, Any

import pandas as pd
import typer

from scalesearch.cli.output import (
    FLOPS_HEADER,
    FRAME_SUFFIXES,
    console,
    fmt_flops,
    fmt_int,
    print_json,
    save_file,
    table,
    write_frame,
)
from scalesearch.core.builderspec import BuilderSpec, network_to_dict
from scalesearch.core.limits import over_memory
from scalesearch.measure import measure, measure_latency

from .network import multipliers, resolve_network
from .options import (
    DEFAULT_BASELINE,
    DEFAULT_COUNTER,
    DEFAULT_DTYPE,
    DEFAULT_MODE,
    DEFAULT_POLICY,
    LATENCY,
    LATENCY_DEFAULTS,
    LATENCY_NOTE,
    OUTPUT,
    Alpha,
    Baseline,
    Beta,
    Counter,
    Depth,
    Gamma,
    ImageSize,
    Json,
    LatencyBatch,
    LatencyDevice,
    LatencyDtype,
    LatencyMode,
    LatencyThreads,
    Phi,
    Policy,
    Resolution,
    Width,
    latency_config,
)


def flops(
    baseline: Baseline = DEFAULT_BASELINE,
    depth: Depth = None, width: Width = None, resolution: Resolution = None,
    alpha: Alpha = None, beta: Beta = None, gamma: Gamma = None, phi: Phi = None,
    image_size: ImageSize = None, policy: Policy = DEFAULT_POLICY,
    counter: Counter = DEFAULT_COUNTER,
    latency: Annotated[bool, typer.Option(
        "--latency", help=f"Also time the network (median and p10-p90 of repeated passes). {LATENCY_NOTE}",
        rich_help_panel=LATENCY)] = False,
    latency_device: LatencyDevice = LATENCY_DEFAULTS.device, latency_batch: LatencyBatch = LATENCY_DEFAULTS.batch,
    latency_dtype: LatencyDtype = DEFAULT_DTYPE, latency_mode: LatencyMode = DEFAULT_MODE,
    latency_threads: LatencyThreads = None,
    retime: Annotated[bool, typer.Option(
        "--retime", help="Time again instead of reusing a latency cached for this machine and settings.",
        rich_help_panel=LATENCY)] = False,
    save: Annotated[Path | None, typer.Option(
        "--save", help="Also write the breakdown to this .csv or .json file.", rich_help_panel=OUTPUT,
        callback=save_file("--save", *FRAME_SUFFIXES))] = None,
    json_out: Json = False,
) -> None:
    """Measure one network: FLOPs (multiply-adds, batch 1), parameters, activations, per-part breakdown;
    with --latency also its measured latency on this machine."""
    # --save was checked as it was parsed: before any counting
    timing = latency_config(latency_device, latency_batch, latency_dtype, latency_mode, latency_threads) if (
        latency) else None
    m = multipliers(depth, width, resolution, alpha, beta, gamma, phi)
    base, net = resolve_network(baseline, m, image_size, policy.value)
    if timing is not None:
        from scalesearch.core.errors import FieldError, UsageError
        from scalesearch.measure.latency import check_fits, where

        try:
            where(timing)  # an absent device, or more threads than cores, is refused before any counting
        except FieldError:  # a bad --latency-* value: names its flag
            raise
        except UsageError as exc:  # a device that is not here
            raise UsageError(f"--latency-device: {exc}") from None
        check_fits(net, timing)  # so is a network and batch beyond the memory limits
    cost = measure(net, counter.value)
    if timing is not None:
        cost = dataclasses.replace(cost, latency=measure_latency(net, timing, cache=not retime))
    # A builder's network: its achieved multipliers are measured against the builder at depth and width 1.
    achieved = _builder_achieved(net, cost, measure(base, counter.value)) if (
        isinstance(net, BuilderSpec) and net is not base) else None
    if json_out:
        print_json({"name": net.name, "baseline": base.name, "cost": cost.to_dict(), "spec": network_to_dict(net)}
                   | ({"achieved": achieved} if achieved is not None else {}))
    else:
        _print_table(net, cost, counter.value, achieved)
    if save is not None:  # after the result is shown: a failed save never loses it
        parts = pd.DataFrame([{"part": p.name, "flops": p.flops, "params": p.params} for p in cost.parts])
        write_frame(parts, save)


def _builder_achieved(net: BuilderSpec, cost: Any, base_cost: Any) -> dict[str, float] | None:
    """What a builder's scaled network achieved, measured against the builder at depth and width 1: the ratios of
    parameters, FLOPs, conv and linear layers, their mean output channels, and pixels."""
    s = net.scaling
    if s is None:
        return None
    return {"params_ratio": s.params_factor or 1.0, "flops_ratio": round(cost.flops / base_cost.flops, 6),
            "layers_ratio": s.depth_achieved, "mean_width_ratio": s.width_achieved,
            "resolution_ratio": s.resolution_achieved}


def _print_table(net: Any, cost: Any, counter: str, achieved: dict[str, float] | None = None) -> None:
    rows = [[p.name, fmt_flops(p.flops), f"{100 * p.flops / cost.flops:.1f}%" if cost.flops else "-",
             fmt_int(p.params)] for p in cost.parts]
    rows.append(["total", fmt_flops(cost.flops), "100.0%", fmt_int(cost.params)])
    title = f"{net.name} at {net.resolution}x{net.resolution} px: multiply-adds, batch 1, {counter} counter"
    console.print(table(title, ["part", FLOPS_HEADER, "share", "params"], rows,
                        keep=["part", FLOPS_HEADER, "share"], more="--json, or --save FILE"))
    console.print(f"conv+linear: {fmt_flops(cost.conv_linear_flops)} multiply-adds   "
                  f"activations: {fmt_int(cost.activations)} (conv/linear output elements)   "
                  f"params: {fmt_int(cost.params)}")
    if cost.latency is not None:
        lat = cost.latency
        console.print(f"latency: {lat.median_ms:.2f} ms per pass of {lat.batch} (median of {lat.passes}; "
                      f"p10-p90 {lat.p10_ms:.2f}-{lat.p90_ms:.2f} ms), {lat.dtype} {lat.mode}, "
                      f"{'channels_last' if lat.channels_last else 'NCHW'}, {lat.threads} thread(s) on "
                      f"{lat.device} ({lat.device_name}), torch {lat.torch_version}")
        console.print(f"{LATENCY_NOTE} Cached per machine and setting.", style="dim")
    if cost.counter == "fvcore" and cost.device == "meta":
        why = over_memory(net) or "counted so earlier (cached)"
        console.print(f"counted on the meta device (nothing allocated): {why}; same figures by fvcore's rules, "
                      "without its list of unsupported ops", style="dim")
    if cost.unsupported:
        skipped = ", ".join(f"{op} x{n}" for op, n in sorted(cost.unsupported.items()))
        console.print(f"not counted by fvcore (elementwise, ~0 multiply-adds): {skipped}", style="dim")
    if isinstance(net, BuilderSpec):
        console.print(f"built by {net.call()} from {net.builder}", style="dim", highlight=False, soft_wrap=True)
    if achieved is not None and net.scaling is not None:
        s, a = net.scaling, achieved
        console.print(f"multipliers requested d={s.depth:.4g} w={s.width:.4g} r={s.resolution:.4g} (the builder "
                      f"rounds d and w, {s.policy} rounding of pixels); measured against the builder at d=w=1: "
                      f"params x{a['params_ratio']:.4g}, FLOPs x{a['flops_ratio']:.4g}, conv/linear layers "
                      f"x{a['layers_ratio']:.4g}, their mean width x{a['mean_width_ratio']:.4g}, pixels "
                      f"x{a['resolution_ratio']:.4g}", style="dim")
    elif net.scaling is not None:
        s = net.scaling
        console.print(f"multipliers requested d={s.depth:.4g} w={s.width:.4g} r={s.resolution:.4g}; achieved "
                      f"d={s.depth_achieved:.4g} w={s.width_achieved:.4g} r={s.resolution_achieved:.4g} "
                      f"({s.policy} rounding)", style="dim")
