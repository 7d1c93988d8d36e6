"""The one ranking: score, per-network seed summary, feasibility, rank and the noise verdict.

Pure functions over plain values. The objective (a trial's value), the promotions between rungs (which
networks train longer), the live progress (the current leader), trials.csv, best.json and the final table
all call these, so they cannot disagree. The rules:

- A network's accuracy is the mean over its seeds, each seed counted once: a result trained by a trial
  wins over a copy another trial reused, and reused copies are never averaged in.
- A candidate's score is ACC * (cost / T)^w (MnasNet, EfficientNet), with its own cost: FLOPs by default,
  or activations, parameters or measured latency (``cost``), T in that cost's unit.
- Only feasible candidates rank. The baseline (1, 1, 1) is always trained as the reference; when it lies
  outside the constraint band it is shown with its score but gets no rank and can never lead.
- Ties in score go to the cheaper candidate (lower cost).
- Across rungs (successive halving), a network is ranked by its results at the highest rung it has an
  accuracy at; networks that reached a higher rung rank above those that did not (they beat them at the
  rung below), and within a rung by score.
"""

from __future__ import annotations

import dataclasses
import math
import statistics
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from scalesearch.core.errors import FieldError
from scalesearch.core.record import CandidateRow, SeedRun
from scalesearch.core.runs import RunStatus

NOISE_Z = 2.0  # "exceeds the seed noise" = margin over 2 standard errors of the difference (~95%)


def score(accuracy: float, cost: float, target: float, w: float = -0.07) -> float:
    """ACC(m) * (COST(m) / T)^w, cost and T in one unit (multiply-adds for FLOPs, ms for latency); w < 0
    rewards cheaper networks: at w = -0.07, doubling the cost must buy ~5% more accuracy to break even."""
    if not target > 0:
        raise FieldError("target", target, "must be > 0")
    if not cost > 0:
        raise FieldError("cost", cost, "must be > 0")
    return accuracy * float((cost / target) ** w)  # float ** float is typed Any (a negative base gives complex)


def per_seed(runs: Iterable[SeedRun]) -> dict[int, SeedRun]:
    """Each seed once: a complete run beats a pruned one, a trained run beats a reused copy, else the first."""
    out: dict[int, SeedRun] = {}
    for run in runs:
        old = out.get(run.seed)
        if old is None or _better(run, old):
            out[run.seed] = run
    return out


def _better(new: SeedRun, old: SeedRun) -> bool:
    if (old.status is RunStatus.PRUNED) != (new.status is RunStatus.PRUNED):
        return old.status is RunStatus.PRUNED
    return old.reused is not None and new.reused is None


@dataclass(frozen=True)
class Summary:
    """One trained network over its seeds. ``status`` is ok when any seed finished ok (the mean and std
    are over those), else the worst status seen, or "pending" when nothing finished. ``seconds`` counts
    training done for this network, not reused copies."""

    status: str
    accuracy_mean: float
    accuracy_std: float
    seeds: int
    seconds: float
    training_speed: float = math.nan  # mean over the OK seeds of the sum of per-epoch training losses

    @property
    def ok(self) -> bool:
        return self.status == RunStatus.OK


PENDING = Summary("pending", math.nan, math.nan, 0, 0.0)


def summarise(runs: Iterable[SeedRun]) -> Summary:
    seeds = list(per_seed(runs).values())
    if not seeds:
        return PENDING
    ok = [r.accuracy for r in seeds if r.status is RunStatus.OK]
    trained = sum(float(r.result.seconds or 0.0) for r in seeds if r.reused is None)
    if ok:
        std = statistics.stdev(ok) if len(ok) > 1 else math.nan
        speeds = [r.result.training_speed for r in seeds if r.status is RunStatus.OK]
        speed = statistics.fmean(speeds) if speeds and all(math.isfinite(v) for v in speeds) else math.nan
        return Summary(RunStatus.OK.value, statistics.fmean(ok), std, len(ok), trained, speed)
    worst = next(s for s in (RunStatus.DIVERGED, RunStatus.OOM, RunStatus.PRUNED) if any(r.status is s for r in seeds))
    partial = [r.accuracy for r in seeds if r.status is RunStatus.PRUNED]
    return Summary(worst.value, max(partial) if partial else 0.0, math.nan, len(seeds), trained)


@dataclass(frozen=True)
class Row:
    """A candidate in the ranking. ``rank`` is None for rows that do not rank (unscored or infeasible)."""

    candidate: CandidateRow
    summary: Summary
    score: float
    score_std: float
    rank: int | None
    rung: int = 0  # the rung whose results ``summary`` holds

    @property
    def network(self) -> int:
        return self.candidate.network

    @property
    def ranks(self) -> bool:
        return self.rank is not None


def rank(candidates: Sequence[CandidateRow], runs: Mapping[int, Iterable[SeedRun]], target: float,
         w: float, cost: str = "flops") -> list[Row]:
    """Every candidate at one rung, best first: ranked rows, then scored rows that do not rank (an
    infeasible baseline), then the rest. ``runs`` maps a network index to its stored seed runs; ``target``
    is T in the unit of ``cost`` (see CandidateRow.cost)."""
    return rank_rungs(candidates, {0: runs}, target, w, cost)


def rank_rungs(candidates: Sequence[CandidateRow], runs: Mapping[int, Mapping[int, Iterable[SeedRun]]],
               target: float, w: float, cost: str = "flops") -> list[Row]:
    """Every candidate, best first, each network at the highest rung where it has an accuracy. ``runs``
    maps rung -> network -> stored seed runs."""
    top: dict[int, tuple[int, Summary]] = {}
    for rung in sorted(runs):
        for n, rs in runs[rung].items():
            s = summarise(rs)
            if s.ok or n not in top:
                top[n] = (rung, s)
    scored: list[Row] = []
    for c in candidates:
        rung, s = top.get(c.network, (0, PENDING))
        if s.ok:
            factor = score(1.0, c.cost(cost), target, w)
            scored.append(Row(c, s, s.accuracy_mean * factor, s.accuracy_std * factor, None, rung))
        else:
            scored.append(Row(c, s, math.nan, math.nan, None, rung))

    def order(r: Row) -> tuple[int, int, float, float, int]:
        group = 0 if (r.summary.ok and r.candidate.feasible) else 1 if r.summary.ok else 2
        return (group, -r.rung, -r.score if r.summary.ok else 0.0, r.candidate.cost(cost), r.candidate.index)

    out, n = [], 0
    for r in sorted(scored, key=order):
        if r.summary.ok and r.candidate.feasible:
            n += 1
            r = dataclasses.replace(r, rank=n)
        out.append(r)
    return out


def promoted_count(n: int, promote: float) -> int:
    """How many of ``n`` ranked networks move up a rung: the ``promote`` fraction, at least three (the rank
    correlation between two rungs needs three), never more than there are."""
    return min(n, max(3, math.ceil(promote * n - 1e-9)))


def leader(rows: Sequence[Row]) -> Row | None:
    return rows[0] if rows and rows[0].ranks else None


def leading_networks(rows: Sequence[Row], k: int) -> list[int]:
    """The networks of the top k distinct ranked networks, best first (what a rung promotes)."""
    out: list[int] = []
    for r in rows:
        if r.ranks and r.network not in out:
            out.append(r.network)
            if len(out) == k:
                break
    return out


@dataclass(frozen=True)
class NoiseVerdict:
    """Does the leader's score margin over the runner-up exceed the seed noise?"""

    verdict: str
    exceeds: bool | None
    leader: tuple[float, float, float] | None = None
    leader_score: float | None = None
    runner_up: tuple[float, float, float] | None = None
    runner_up_score: float | None = None
    margin: float | None = None
    pooled_accuracy_std: float | None = None
    standard_error: float | None = None

    def to_dict(self) -> dict[str, Any]:
        out: dict[str, Any] = {"verdict": self.verdict, "exceeds": self.exceeds}
        for name in ("leader", "runner_up"):
            triple = getattr(self, name)
            if triple is not None:
                out[name] = dict(zip(("alpha", "beta", "gamma"), triple, strict=True))
        for name in ("leader_score", "runner_up_score", "margin", "pooled_accuracy_std", "standard_error"):
            if getattr(self, name) is not None:
                out[name] = getattr(self, name)
        return out


def noise_verdict(rows: Sequence[Row], partial: str = "") -> NoiseVerdict:
    """The runner-up is the best candidate on a *different* trained network (candidates sharing a network
    share its accuracy, so their gap is FLOPs, not noise). Seed noise is the accuracy standard deviation
    pooled over every network with two or more seeds at the leader's rung (each alone rests on 2-3 seeds:
    too few to trust), scaled to score units per row; the margin "exceeds the noise" when it is over NOISE_Z
    standard errors. ``partial``: why the study cannot give a verdict yet (``evidence.progress``: a rung is
    not finished), said instead of one."""
    ranked = [r for r in rows if r.ranks]
    if not ranked:
        return NoiseVerdict("no finished candidate yet", None)
    top = ranked[0]
    base = NoiseVerdict("", None, leader=top.candidate.triple, leader_score=top.score)
    if partial:
        return dataclasses.replace(base, verdict=partial)
    others = [r for r in ranked if r.network != top.network]
    if not others:
        return dataclasses.replace(base, verdict="only one trained network")
    runner = others[0]
    margin = top.score - runner.score
    base = dataclasses.replace(base, runner_up=runner.candidate.triple, runner_up_score=runner.score, margin=margin)
    multi = {r.network: r.summary for r in rows if r.summary.ok and r.summary.seeds >= 2 and r.rung == top.rung}
    if not multi:
        return dataclasses.replace(
            base, verdict="noise unknown: one seed per network (give a rung more seeds: --rungs)")
    dof = sum(s.seeds - 1 for s in multi.values())
    pooled = math.sqrt(sum((s.seeds - 1) * s.accuracy_std ** 2 for s in multi.values()) / dof)
    se = math.sqrt(sum((pooled * r.score / r.summary.accuracy_mean) ** 2 / r.summary.seeds for r in (top, runner)))
    exceeds = margin > NOISE_Z * se
    verdict = (f"leader's score margin {margin:.4f} over the runner-up {'exceeds' if exceeds else 'is within'} "
               f"the seed noise (needs > {NOISE_Z:g} SE = {NOISE_Z * se:.4f}; pooled accuracy std {pooled:.2%} "
               f"over {len(multi)} multi-seed networks)")
    return dataclasses.replace(base, verdict=verdict, exceeds=exceeds, pooled_accuracy_std=pooled,
                               standard_error=se)
