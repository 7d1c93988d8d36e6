"""`scalesearch baselines`: the registered baselines and their measured cost."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import pandas as pd
import typer

from scalesearch.cli.output import (
    FRAME_SUFFIXES,
    Steps,
    console,
    fmt_flops,
    fmt_int,
    fmt_short,
    print_json,
    save_file,
    table,
    write_frame,
)
from scalesearch.core.baselines import baseline, baselines as names
from scalesearch.measure import measure

from .options import DEFAULT_COUNTER, OUTPUT, Counter, Json


def baselines(
    counter: Counter = DEFAULT_COUNTER,
    save: Annotated[Path | None, typer.Option(
        "--save", help="Also write the table to this .csv or .json file.", rich_help_panel=OUTPUT,
        callback=save_file("--save", *FRAME_SUFFIXES))] = None,
    json_out: Json = False,
) -> None:
    """List the registered baselines with resolution, parameters and FLOPs (multiply-adds, batch 1)."""
    rows = []  # --save was checked as it was parsed: before any counting
    every = names()
    with Steps(f"measuring {len(every)} baselines ({counter.value} counter; each count is cached for the next "
               "run)", len(every), quiet=json_out) as steps:
        for name in every:
            steps.doing(f"measuring {name}")
            spec = baseline(name)
            cost = measure(spec, counter.value)
            rows.append({
                "name": name, "resolution": spec.resolution, "layers": spec.total_layers, "params": cost.params,
                "flops": cost.flops, "conv_linear_flops": cost.conv_linear_flops, "counter": counter.value,
            })
            steps.done(f"{name}: {fmt_short(cost.flops, 2)} multiply-adds, {fmt_short(cost.params, 2)} params")
    frame = pd.DataFrame(rows)
    if json_out:
        print_json(rows)
    else:
        _print_table(rows, counter.value)
    if save is not None:  # after the result is shown: a failed save never loses it
        write_frame(frame, save)


def _print_table(rows: list[dict], counter: str) -> None:
    console.print(table(
        f"Baselines: FLOPs in multiply-adds, batch 1, {counter} counter",
        ["baseline", "px", "blocks", "params", "FLOPs", "conv+linear FLOPs"],
        [[r["name"], r["resolution"], r["layers"], fmt_int(r["params"]), fmt_flops(r["flops"]),
          fmt_flops(r["conv_linear_flops"])] for r in rows],
        caption="A spec file path works wherever a baseline name does (see `scalesearch scale --out`).",
        keep=["baseline", "FLOPs", "params", "px"], more="--json, or --save FILE",
    ))
