"""compare.png: each strategy's proxy accuracy (mean +- seed std) at matched FLOPs, as a bar chart.

Takes compare.json's rows (plain dicts), so the report layer needs nothing of ``scalesearch.compare``.
Built on ``matplotlib.figure.Figure`` (no pyplot), like the study's plots.
"""

from __future__ import annotations

import io
import textwrap
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from matplotlib.figure import Figure
from matplotlib.layout_engine import ConstrainedLayoutEngine

from scalesearch.core.jsonio import write_bytes_atomic

SINGLE_COLOUR, COMPOUND_COLOUR, REFERENCE_COLOUR = "tab:gray", "tab:red", "tab:blue"


def compare_figure(rows: Sequence[dict[str, Any]], title: str, note: str) -> Figure:
    """One bar per row: mean accuracy in %, error bar = seed std; each bar labelled with its FLOPs / target so
    the reader sees the costs really match. Single dimensions grey, compound red, references blue."""
    layout = ConstrainedLayoutEngine()  # what layout="constrained" makes; kept to set its rect below
    fig = Figure(figsize=(8, 4.8), layout=layout)
    ax = fig.add_subplot()
    names = [r["model"] for r in rows]
    means = [(r["accuracy_mean"] or 0.0) * 100 for r in rows]
    stds = [(r["accuracy_std"] or 0.0) * 100 for r in rows]
    colours = [COMPOUND_COLOUR if n == "compound" else SINGLE_COLOUR if n.endswith("-only") else REFERENCE_COLOUR
               for n in names]
    ax.bar(range(len(rows)), means, yerr=stds, capsize=4, color=colours, edgecolor="black", lw=0.5)
    for i, r in enumerate(rows):
        ax.annotate(f"{r['flops_ratio_to_target']:.2f}x", (i, means[i] + stds[i]), xytext=(0, 3),
                    textcoords="offset points", ha="center", fontsize=8, color="0.3")
    ax.set_xticks(range(len(rows)), names, rotation=20, ha="right")
    ax.set_ylabel("proxy validation accuracy (%), mean +- seed std")
    low = min((m - s for m, s in zip(means, stds, strict=True)), default=0.0)
    ax.set_ylim(max(0.0, low - 5), min(100.0, max(means, default=100.0) + max(stds, default=0.0) + 5))
    ax.set_title(title, fontsize=10)
    ax.grid(axis="y", color="0.9")
    ax.set_axisbelow(True)
    layout.set(rect=(0, 0.06, 1, 0.94))  # room for the note below the axes
    fig.text(0.01, 0.005, textwrap.fill(note, 150), fontsize=7, color="0.3")
    return fig


def save_figure(fig: Figure, path: Path, metadata: dict[str, Any] | None = None) -> Path:
    """``fig`` drawn into memory, then written atomically (write_bytes_atomic: only to a regular file or a
    new path; matplotlib's own savefig would open a named pipe and block, or follow a link)."""
    buffer = io.BytesIO()
    fmt = path.suffix.lstrip(".").lower() or "png"
    fig.savefig(buffer, format=fmt, dpi=110, metadata=metadata if metadata is not None else {"Software": None})
    return write_bytes_atomic(path, buffer.getvalue())
