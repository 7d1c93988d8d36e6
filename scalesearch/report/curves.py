"""Pictures over time and over phi: the proxies' learning curves and a scaled family's FLOPs."""

from __future__ import annotations

import numpy as np
import pandas as pd
from matplotlib.figure import Figure
from matplotlib.ticker import MaxNLocator

from scalesearch.report.view import StudyView


def learning_curves(v: StudyView) -> Figure:
    """Every trained network's per-seed validation accuracy per epoch; the leaders' networks in colour."""
    fig = Figure(figsize=(9, 5.5), layout="constrained")
    ax = fig.add_subplot()
    leaders = v.leader_networks
    base = {c.network for c in v.record.candidates if c.baseline}
    ranks = v.table.groupby("network")["rank"].min()
    colours = dict(zip(leaders, ("tab:red", "tab:orange", "tab:green", "tab:purple", "tab:brown", "tab:pink"),
                       strict=False))
    labelled: set[int] = set()  # one legend entry per network, not per seed
    for c in v.curves:
        at, history = c.points
        epochs, acc = np.array(at), np.array(history) * 100
        first = c.network not in labelled
        labelled.add(c.network)
        if c.network in colours:
            r = ranks.get(c.network)
            label = f"network {c.network} (#{int(r)})" if first and r is not None and not pd.isna(r) else None
            ax.plot(epochs, acc, "o-", color=colours[c.network], lw=1.6, ms=3, label=label, zorder=3)
        elif c.network in base:
            ax.plot(epochs, acc, "s--", color="black", lw=1.2, ms=3, label="baseline" if first else None, zorder=2)
        else:
            ax.plot(epochs, acc, color="0.6", lw=0.7, alpha=0.5, zorder=1)
    ax.plot([], [], color="0.6", lw=0.7, label="other networks (one line per seed)")
    ax.set_xlabel("epoch of the proxy training")
    ax.set_ylabel("validation accuracy (%), top-1")
    locator = ax.xaxis.get_major_locator()
    if isinstance(locator, MaxNLocator):  # the default AutoLocator is one
        locator.set_params(integer=True)
    ax.set_title(f"Learning curves of {len({c.network for c in v.curves})} trained proxy networks", fontsize=11)
    ax.grid(True, alpha=0.3)
    handles, labels = ax.get_legend_handles_labels()
    order = sorted(range(len(labels)), key=lambda i: _rank_of(labels[i]))  # leaders by rank, then the rest
    ax.legend([handles[i] for i in order], [labels[i] for i in order], fontsize=8, loc="lower right")
    return fig


def _rank_of(label: str) -> int:
    """'network 3 (#1)' -> 1; labels without a rank sort after every leader."""
    return int(label.rsplit("#", 1)[1].rstrip(")")) if "(#" in label else 10**6


def family(summary: pd.DataFrame, title: str) -> Figure:
    """A family from `scale` (its summary.csv): FLOPs against phi next to 2^phi; requested vs achieved d, w, r."""
    s = summary.sort_values("phi")
    fig = Figure(figsize=(11, 4.8), layout="constrained")
    left, right = fig.subplots(1, 2)
    left.plot(s["phi"], s["flops_ratio"], "o-", label="measured FLOPs / baseline's")
    phi = np.linspace(s["phi"].min(), s["phi"].max(), 50)
    left.plot(phi, 2 ** phi, "--", color="0.4", label="2^phi (what the constraint promises)")
    left.set_yscale("log", base=2)
    left.set_xlabel("phi (compound coefficient)")
    left.set_ylabel("FLOPs ratio to the baseline (multiply-adds, log2 axis)")
    left.grid(True, which="both", alpha=0.3)
    left.legend(fontsize=8)
    for name, req, got, colour in (("d (depth)", "depth", "depth_achieved", "tab:blue"),
                                   ("w (width)", "width", "width_achieved", "tab:orange"),
                                   ("r (resolution)", "resolution_multiplier", "resolution_achieved", "tab:green")):
        right.plot(s["phi"], s[req], "--", color=colour, label=f"{name} requested")
        right.plot(s["phi"], s[got], "o", color=colour, label=f"{name} achieved (after rounding)")
    right.set_xlabel("phi (compound coefficient)")
    right.set_ylabel("multiplier of the baseline")
    right.grid(True, alpha=0.3)
    right.legend(fontsize=7)
    fig.suptitle(title, fontsize=11)
    return fig
