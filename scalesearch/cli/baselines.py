"""`scalesearch baselines`: the registered baselines and their measured cost."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import pandas as pd
import typer
from rich.progress import Progress

from scalesearch.baselines import baseline, baselines as names
from scalesearch.cli.output import (
    check_writable_file,
    console,
    err_console,
    fmt_flops,
    fmt_int,
    print_json,
    table,
    write_frame,
)
from scalesearch.measure import measure

from .options import DEFAULT_COUNTER, OUTPUT, Counter, Json


def baselines(
    counter: Counter = DEFAULT_COUNTER,
    save: Annotated[Path | None, typer.Option(
        "--save", help="Also write the table to this .csv or .json file.", rich_help_panel=OUTPUT)] = None,
    json_out: Json = False,
) -> None:
    """List the registered baselines with resolution, parameters and FLOPs (multiply-adds, batch 1)."""
    if save is not None:
        check_writable_file(save, "--save")  # before any counting
    rows = []
    with Progress(console=err_console, transient=True, disable=json_out) as bar:
        task = bar.add_task("measuring baselines", total=len(names()))
        for name in names():
            spec = baseline(name)
            cost = measure(spec, counter.value)
            rows.append({
                "name": name, "resolution": spec.resolution, "layers": spec.total_layers, "params": cost.params,
                "flops": cost.flops, "conv_linear_flops": cost.conv_linear_flops, "counter": counter.value,
            })
            bar.advance(task)
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
