"""The study's pictures: budget shares (ternary), accuracy against FLOPs, the leaders and their noise.

Figures are built with ``matplotlib.figure.Figure`` and saved directly (no pyplot: no global state, no GUI
backend, safe in worker threads and on headless machines). Each function returns the figure; render.py saves.
"""

from __future__ import annotations

import math
import textwrap

import numpy as np
import pandas as pd
from matplotlib.axes import Axes
from matplotlib.figure import Figure

from scalesearch.core import strategies
from scalesearch.core.evidence import best_rows
from scalesearch.core.ranking import NOISE_Z
from scalesearch.report.view import StudyView

PAPER = (1.2, 1.1, 1.15)  # EfficientNet's grid-search point at phi = 1
SQRT3_2 = math.sqrt(3) / 2
LEADER_EDGE = "crimson"


def shares(alpha: float, beta: float, gamma: float) -> tuple[float, float, float] | None:
    """(depth, width, resolution) shares of ln(alpha * beta^2 * gamma^2); None at product 1 (the baseline)."""
    total = math.log(alpha) + 2 * math.log(beta) + 2 * math.log(gamma)
    if abs(total) < 1e-12:
        return None
    return math.log(alpha) / total, 2 * math.log(beta) / total, 2 * math.log(gamma) / total


def _xy(share: tuple[float, float, float]) -> tuple[float, float]:
    """Barycentric -> plane: depth at (0, 0), width at (1, 0), resolution at the apex."""
    _, w, r = share
    return w + r / 2, r * SQRT3_2


def _triangle(ax: Axes) -> None:
    """Frame and 20% grid lines of the ternary plot (matplotlib has no ternary projection)."""
    corners = np.array([[0, 0], [1, 0], [0.5, SQRT3_2], [0, 0]])
    ax.plot(corners[:, 0], corners[:, 1], color="black", lw=1)
    for f in (0.2, 0.4, 0.6, 0.8):
        for a, b in (((f, 1 - f, 0), (f, 0, 1 - f)), ((0, f, 1 - f), (1 - f, f, 0)), ((1 - f, 0, f), (0, 1 - f, f))):
            (x0, y0), (x1, y1) = _xy(a), _xy(b)
            ax.plot([x0, x1], [y0, y1], color="0.85", lw=0.6, zorder=0)
    ax.text(-0.03, -0.04, "depth\n(ln alpha)", ha="right", va="top")
    ax.text(1.03, -0.04, "width\n(2 ln beta)", ha="left", va="top")
    ax.text(0.5, SQRT3_2 + 0.03, "resolution (2 ln gamma)", ha="center", va="bottom")
    ax.set_aspect("equal")
    ax.set_axis_off()


def budget_shares(v: StudyView) -> Figure:
    t = v.table
    fig = Figure(figsize=(8, 7), layout="constrained")
    ax = fig.add_subplot()
    _triangle(ax)
    pts = [(r, s) for _, r in t.iterrows() if (s := shares(r["alpha"], r["beta"], r["gamma"])) is not None]
    scored = [(r, s) for r, s in pts if not math.isnan(r["score"])]
    pending = [s for r, s in pts if math.isnan(r["score"])]
    if pending:
        xy = np.array([_xy(s) for s in pending])
        ax.scatter(xy[:, 0], xy[:, 1], marker="o", facecolors="none", edgecolors="0.6", s=30,
                   label="not trained (yet)")
    if scored:
        xy = np.array([_xy(s) for _, s in scored])
        sc = ax.scatter(xy[:, 0], xy[:, 1], c=[r["score"] for r, _ in scored], cmap="viridis", s=45, zorder=3)
        fig.colorbar(sc, ax=ax, shrink=0.7, label="score = proxy accuracy x (FLOPs / T)^w")
    lead = {i: n for n, i in enumerate(v.leaders, 1)}
    for r, s in scored:
        if int(r["index"]) in lead:
            x, y = _xy(s)
            ax.scatter([x], [y], s=160, facecolors="none", edgecolors=LEADER_EDGE, lw=1.6, zorder=4)
            ax.annotate(f"#{lead[int(r['index'])]}", (x, y), xytext=(6, 6), textcoords="offset points",
                        color=LEADER_EDGE, fontsize=9, weight="bold")
    if "reference" in t:  # candidates that are a named strategy's point (when the search added them)
        for r, s in pts:
            if isinstance(r["reference"], str) and r["reference"]:
                ax.annotate(r["reference"], _xy(s), xytext=(6, -10), textcoords="offset points", fontsize=8)
    for st in strategies.STRATEGIES.values():
        a_d, a_w, a_r = st.exponents
        x, y = _xy((a_d, 2 * a_w, 2 * a_r))
        marker, colour = ("*", "darkorange") if st.name == "paper" else ("X", "0.25")
        ax.scatter([x], [y], marker=marker, s=140 if st.name == "paper" else 60, color=colour, zorder=5,
                   edgecolors="white", lw=0.5)
        label = f"paper {PAPER}" if st.name == "paper" else st.name
        # the paper's label to the left, the strategies' below right: the leaders' ranks go above right
        offset, ha = ((-8, 8), "right") if st.name == "paper" else ((6, -12), "left")
        ax.annotate(label, (x, y), xytext=offset, textcoords="offset points", fontsize=8, ha=ha, color=colour)
    ax.scatter([], [], s=160, facecolors="none", edgecolors=LEADER_EDGE, lw=1.6, label="leaders (#rank)")
    ax.scatter([], [], marker="X", color="0.25", label="reference strategies")
    ax.legend(loc="upper right", fontsize=8, frameon=False)
    ax.set_title("How each candidate spends the FLOPs factor alpha x beta^2 x gamma^2\n"
                 "(shares of its logarithm; requested coefficients)", fontsize=11, pad=28)
    fig.text(0.01, 0.01, "The baseline (1, 1, 1) spends nothing (ln 1 = 0) and has no place here; it is in "
             "accuracy-vs-flops.", fontsize=8, color="0.3")
    return fig


def network_points(t: pd.DataFrame) -> pd.DataFrame:
    """One point per trained network: candidates sharing a network share its accuracy (collapse groups)."""
    ok = t[t["status"] == "ok"]
    return (ok.groupby("network", sort=False)
            .agg(flops=("flops", "median"), accuracy=("accuracy_mean", "first"), std=("accuracy_std", "first"),
                 members=("index", "size"), baseline=("baseline", "any"), best_rank=("rank", "min"))
            .reset_index())


def pareto(points: pd.DataFrame) -> pd.DataFrame:
    """The points no other point beats on both fewer FLOPs and higher accuracy, cheapest first."""
    best, keep = -math.inf, []
    for i, r in points.sort_values(["flops", "accuracy"], ascending=[True, False]).iterrows():
        if r["accuracy"] > best:
            best = r["accuracy"]
            keep.append(i)
    return points.loc[keep]


def accuracy_vs_flops(v: StudyView) -> Figure:
    pts = network_points(v.table)
    fig = Figure(figsize=(9, 5.5), layout="constrained")
    ax = fig.add_subplot()
    settings, base = v.record.study_settings, v.record.baseline_flops
    tol = float(settings.tolerance)
    if tol > 0:
        ax.axvspan(base * 2 * (1 - tol), base * 2 * (1 + tol), color="tab:green", alpha=0.12,
                   label=f"constraint band: 2 x the baseline's FLOPs +- {tol:.0%} "
                         f"({settings.constraint} constraint)")
    ax.axvline(v.record.target_flops, color="0.4", ls=":", lw=1, label="target T of the score")
    plain = pts[~pts["baseline"]]
    ax.errorbar(plain["flops"], plain["accuracy"] * 100, yerr=plain["std"].fillna(0) * 100, fmt="o", ms=5,
                capsize=2, color="tab:blue", label="trained network (mean +- seed std)")
    for _, r in pts[pts["members"] > 1].iterrows():
        ax.annotate(f"x{int(r['members'])}", (r["flops"], r["accuracy"] * 100), xytext=(4, -10),
                    textcoords="offset points", fontsize=7, color="tab:blue")
    front = pareto(pts)
    ax.step(front["flops"], front["accuracy"] * 100, where="post", color="tab:orange", lw=1.2, label="Pareto front")
    bl = pts[pts["baseline"]]
    if len(bl):
        ax.errorbar(bl["flops"], bl["accuracy"] * 100, yerr=bl["std"].fillna(0) * 100, fmt="s", ms=7,
                    color="black", capsize=2, label="baseline (1, 1, 1)")
    lead = set(v.leader_networks[:3])
    for _, r in pts[pts["network"].isin(lead)].iterrows():
        if not pd.isna(r["best_rank"]):
            ax.annotate(f"#{int(r['best_rank'])}", (r["flops"], r["accuracy"] * 100), xytext=(5, 5),
                        textcoords="offset points", color=LEADER_EDGE, fontsize=9, weight="bold")
    ax.set_xscale("log")
    ax.set_xlabel("FLOPs (multiply-adds, fvcore; full network at deployment resolution, batch 1)")
    ax.set_ylabel("proxy validation accuracy (%)")
    ax.set_title("Accuracy against cost; 'xN': N candidates share one trained network")
    ax.grid(True, which="both", alpha=0.3)
    fig.legend(fontsize=8, loc="outside lower center", ncols=3, frameon=False)
    return fig


def leaders(v: StudyView, top: int = 10) -> Figure:
    t = v.table[v.table["rank"].notna()].head(top)
    fig = Figure(figsize=(9, 0.45 * len(t) + 2), layout="constrained")
    ax = fig.add_subplot()
    y = np.arange(len(t))[::-1]
    ax.errorbar(t["score"], y, xerr=t["score_std"].fillna(0), fmt="o", capsize=3, color="tab:blue",
                label="score +- seed std (score units)")
    labels = []
    for _, r in t.iterrows():
        rung = f", rung {r['rung']}" if "rung" in t and not pd.isna(r["rung"]) else ""
        labels.append(f"#{int(r['rank'])}  ({r['alpha']:g}, {r['beta']:g}, {r['gamma']:g})  "
                      f"{int(r['seeds'])} seed{'s' * (r['seeds'] != 1)}{rung}")
    ax.set_yticks(y, labels, fontsize=8)
    n = v.noise
    if n.standard_error is not None and n.leader_score is not None:
        threshold = n.leader_score - NOISE_Z * n.standard_error
        ax.axvspan(threshold, n.leader_score, color="tab:red", alpha=0.1,
                   label=f"within {NOISE_Z:g} SE of the leader: tied within seed noise")
        ax.axvline(threshold, color="tab:red", ls="--", lw=1)
    ax.set_xlabel("score = proxy accuracy x (FLOPs / T)^w (higher is better)")
    ax.set_title("Leaders and their seed spread\n" + "\n".join(textwrap.wrap(n.verdict, 110)), fontsize=9)
    ax.grid(True, axis="x", alpha=0.3)
    fig.legend(fontsize=8, loc="outside lower center", ncols=2, frameon=False)
    return fig


def race(v: StudyView) -> Figure:
    """Each race survivor's mean score and its 95% t-interval per round (round 0: the last rung's own seeds),
    its line ending at the round that dropped it; the title says the decision."""
    ev = v.evidence
    sr = ev.race if ev is not None else None
    fig = Figure(figsize=(9, 5), layout="constrained")
    ax = fig.add_subplot()
    if sr is None or not sr.race.rounds:  # write_report draws this only after a round
        ax.text(0.5, 0.5, "no race round", ha="center", va="center", transform=ax.transAxes)
        ax.set_axis_off()
        return fig
    speakers = best_rows(ev.rows if ev is not None else ())
    names = {n: f"({r.candidate.alpha:g}, {r.candidate.beta:g}, {r.candidate.gamma:g})"
             + (f" {r.candidate.reference}" if r.candidate.reference else "") for n, r in speakers.items()}
    rounds = sr.race.rounds
    for i, n in enumerate(sr.race.entrants):
        xs, means, lo, hi = [], [], [], []
        for r in rounds:
            if n not in r.survivors:
                break
            a, b = r.intervals[n]
            xs.append(r.index)
            means.append(r.means[n])
            lo.append(r.means[n] - a)
            hi.append(b - r.means[n])
        offset = (i - (len(sr.race.entrants) - 1) / 2) * 0.04  # side by side, not on top of each other
        dropped = next((r.index for r in rounds if n in r.dropped), None)
        label = names.get(n, f"network {n}") + (f" (dropped after round {dropped})" if dropped else "")
        ax.errorbar(np.array(xs) + offset, means, yerr=[lo, hi], fmt="o-", capsize=3, label=label)
    ax.set_xticks([r.index for r in rounds], [f"{r.index}\n{len(r.seeds)} seeds" for r in rounds])
    ax.set_xlabel("race round (one more paired seed per survivor)")
    ax.set_ylabel("mean score, 95% t-interval (score units)")
    verdict = sr.lines(names)[0]
    ax.set_title("The race among the leaders\n" + "\n".join(textwrap.wrap(verdict, 110)), fontsize=9)
    ax.grid(True, alpha=0.3)
    fig.legend(fontsize=8, loc="outside lower center", ncols=2, frameon=False)
    return fig
