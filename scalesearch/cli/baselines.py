"""`scalesearch baselines`: the registered baselines and their measured cost."""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import typer
from rich.progress import Progress

from scalesearch.baselines import baseline, baselines as names
from scalesearch.measure import measure
from scalesearch.report.console import console, err_console, fmt_flops, fmt_int, print_json, table
from scalesearch.report.files import write_frame

from .common import JsonOpt


def baselines(
    counter: str = typer.Option("fvcore", "--counter", help="fvcore (total incl. BN and pooling) or meta."),
    save: Path | None = typer.Option(None, "--save", help="Also write the table to this .csv or .json file."),
    json_out: bool = JsonOpt,
) -> None:
    """List the registered baselines with resolution, parameters and FLOPs (multiply-adds, batch 1)."""
    rows = []
    with Progress(console=err_console, transient=True, disable=json_out) as bar:
        task = bar.add_task("measuring baselines", total=len(names()))
        for name in names():
            spec = baseline(name)
            cost = measure(spec, counter)
            rows.append({
                "name": name, "resolution": spec.resolution, "layers": spec.total_layers, "params": cost.params,
                "flops": cost.flops, "conv_linear_flops": cost.conv_linear_flops, "counter": counter,
            })
            bar.advance(task)
    frame = pd.DataFrame(rows)
    if save is not None:
        write_frame(frame, save)
    if json_out:
        print_json(rows)
        return
    console.print(table(
        f"Baselines: FLOPs in multiply-adds, batch 1, {counter} counter",
        ["baseline", "px", "blocks", "params", "FLOPs", "conv+linear FLOPs"],
        [[r["name"], r["resolution"], r["layers"], fmt_int(r["params"]), fmt_flops(r["flops"]),
          fmt_flops(r["conv_linear_flops"])] for r in rows],
        caption="A spec file path works wherever a baseline name does (see `scalesearch scale --out`).",
    ))
