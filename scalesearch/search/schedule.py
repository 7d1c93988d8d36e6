"""What a search worker does next, decided from the study alone: small pure functions.

Every worker (a process here, or on another machine sharing the study) repeats one decision until it
says "done":

1. a WAITING trial exists (a dead worker's trial re-queued by the heartbeat callback): run it;
2. the sweep has a (candidate, seed) that nobody has finished or is running: run it. The grid sampler
   runs every candidate; tpe/random let their sampler propose until the --n-trials budget is spent. A
   pair whose trials all failed is free again, so a stale trial's work is redone;
3. the sweep is finished but a leading network lacks its confirm seeds: run the next one;
4. only other workers' trials remain: wait for them;
5. otherwise: done. A finished study decides "done" at once, so a rerun takes seconds.

Which pair to run: first one whose network already has that seed's result (the trial only copies it),
then one whose network nobody is training (rotated by the worker's offset, so two workers do not pick
the same network), and last one whose network is being trained right now (that trial waits for it).

Two-stage budget: the sweep trains every distinct network with ``seeds`` seeds; then the leading
``confirm`` networks get ``confirm_seeds`` in all, so the top of the ranking rests on means, not on one
draw (docs/search.md: 3-seed means agree across runs far better than single seeds).
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from typing import Literal

from optuna.trial import FrozenTrial, TrialState

from scalesearch import ranking
from scalesearch.record import SeedRun, Stage, StudyRecord, TrialRecord, is_infeasible
from scalesearch.runs import RunStatus

Pair = tuple[int, int]  # (candidate, seed) or (network, seed)


@dataclass(frozen=True)
class Budget:
    """The settings that decide the work (a subset of SearchConfig)."""

    sampler: str = "grid"
    seeds: int = 1
    confirm: int = 5
    confirm_seeds: int = 3
    n_trials: int | None = None

    @property
    def seeds_are_trials(self) -> bool:
        """Grid trials train one seed each (``seed`` is a trial param); tpe/random trials train all sweep seeds."""
        return self.sampler == "grid"

    @property
    def total_seeds(self) -> int:
        return max(self.seeds, self.confirm_seeds) if self.confirm else self.seeds

    @property
    def confirming(self) -> bool:
        return self.confirm > 0 and self.confirm_seeds > self.seeds


@dataclass(frozen=True)
class Work:
    """What to run: a candidate (None: the sampler proposes one) for some seeds, at a stage."""

    candidate: int | None
    seeds: tuple[int, ...]
    stage: Stage = Stage.SWEEP


@dataclass(frozen=True)
class Action:
    kind: Literal["run", "wait", "done"]
    work: Work | None = None  # None with "run": take the queued (WAITING) trial


@dataclass
class Tally:
    """The study's trials, counted the way the decisions need them."""

    done: set[Pair] = field(default_factory=set)  # (candidate, seed) of COMPLETE or PRUNED trials
    active: set[Pair] = field(default_factory=set)  # (candidate, seed) of RUNNING or WAITING trials
    net_done: set[Pair] = field(default_factory=set)  # (network, seed) with a finished result
    net_active: set[Pair] = field(default_factory=set)  # (network, seed) some running trial still trains
    waiting: int = 0
    sweep_finished: int = 0  # sweep trials COMPLETE or PRUNED (the tpe/random budget; infeasible draws excluded)
    sweep_active: int = 0
    confirm_finished: int = 0  # confirm seeds finished
    runs: dict[int, list[SeedRun]] = field(default_factory=dict)  # network -> stored seed runs


def tally(trials: Iterable[FrozenTrial]) -> Tally:
    out = Tally()
    for t in trials:
        if is_infeasible(t):
            continue
        rec = TrialRecord.read(t)
        if rec is None:
            continue  # a trial between its start and its first write (milliseconds), or one that died there
        pairs = {(rec.candidate, s) for s in rec.seeds}
        finished_seeds = {r.seed for r in rec.results if r.status is not RunStatus.PRUNED}
        for r in rec.results:
            out.runs.setdefault(rec.network, []).append(r)
            if r.status is not RunStatus.PRUNED:
                out.net_done.add((rec.network, r.seed))
        sweep = rec.stage is Stage.SWEEP
        if t.state in (TrialState.COMPLETE, TrialState.PRUNED):
            out.done |= pairs
            out.sweep_finished += sweep
            out.confirm_finished += 0 if sweep else len(rec.seeds)
        elif t.state in (TrialState.RUNNING, TrialState.WAITING):
            out.active |= pairs
            out.sweep_active += sweep
            out.waiting += t.state == TrialState.WAITING
            if t.state == TrialState.RUNNING:
                out.net_active |= {(rec.network, s) for s in rec.seeds if s not in finished_seeds}
    return out


def rows(record: StudyRecord, tl: Tally) -> list[ranking.Row]:
    """The ranking as it stands (the one in ``scalesearch.ranking``)."""
    return ranking.rank(record.candidates, tl.runs, record.target, record.w, record.cost)


def next_action(budget: Budget, record: StudyRecord, tl: Tally, offset: int = 0) -> Action:
    """The next thing a worker does (see the module docstring). ``offset`` spreads workers over the work."""
    if tl.waiting:
        return Action("run")
    if budget.sampler == "grid":
        missing = {(c.index, s) for c in record.candidates for s in range(budget.seeds)} - tl.done
        free = sorted(missing - tl.active)
        if free:
            return Action("run", Work(*_pick(free, record, tl, offset), Stage.SWEEP))
        if missing:
            return Action("wait")
    else:
        total = budget.n_trials or 0
        if tl.sweep_finished + tl.sweep_active < total:
            return Action("run", Work(None, tuple(range(budget.seeds)), Stage.SWEEP))
        if tl.sweep_finished < total:
            return Action("wait")
    if not budget.confirming:
        return Action("done")
    ranked = rows(record, tl)  # once per decision: the confirm choices below all read it
    work = confirm_work(budget, record, tl, offset, ranked)
    if work is not None:
        return Action("run", work)
    return Action("wait" if confirm_needs(budget, record, tl, ranked) else "done")


def _pick(free: Sequence[Pair], record: StudyRecord, tl: Tally, offset: int) -> tuple[int, tuple[int, ...]]:
    network = {c.index: c.network for c in record.candidates}
    copies = [p for p in free if (network[p[0]], p[1]) in tl.net_done]
    if copies:
        c, s = copies[0]
        return c, (s,)
    untouched = [p for p in free if (network[p[0]], p[1]) not in tl.net_active]
    # Two candidates of one network are one training: keep one per (network, seed) before rotating.
    firsts: dict[Pair, Pair] = {}
    for p in untouched:
        firsts.setdefault((network[p[0]], p[1]), p)
    spread = list(firsts.values())
    c, s = spread[offset % len(spread)] if spread else free[0]
    return c, (s,)


def confirm_targets(budget: Budget, record: StudyRecord, tl: Tally,
                    ranked: list[ranking.Row] | None = None) -> list[int]:
    """Networks that get confirm seeds. Adaptive: confirm runs can reorder the top, which pulls the next
    network in, until the top ``confirm`` all have their seeds; at most 2 x confirm networks ever get extra
    seeds, which bounds the time. ``ranked``: the ranking, when the caller has it already."""
    if not budget.confirming:
        return []
    top = ranking.leading_networks(ranked if ranked is not None else rows(record, tl), budget.confirm)
    started = {n for n, s in tl.net_done | tl.net_active if s >= budget.seeds}
    room = max(0, 2 * budget.confirm - len(started))
    return [n for n in top if n in started] + [n for n in top if n not in started][:room]


def confirm_needs(budget: Budget, record: StudyRecord, tl: Tally, ranked: list[ranking.Row]) -> list[Pair]:
    """(network, seed) pairs still to run, the leading network first."""
    return [(n, s) for n in confirm_targets(budget, record, tl, ranked) for s in range(budget.confirm_seeds)
            if (n, s) not in tl.net_done]


def confirm_work(budget: Budget, record: StudyRecord, tl: Tally, offset: int = 0,
                 ranked: list[ranking.Row] | None = None) -> Work | None:
    """The next confirm run nobody is doing, on the network's best-ranked candidate."""
    ranked = ranked if ranked is not None else rows(record, tl)
    free = [p for p in confirm_needs(budget, record, tl, ranked) if p not in tl.net_active]
    if not free:
        return None
    n, s = free[offset % len(free)]
    best = next(r.candidate.index for r in ranked if r.network == n)
    return Work(best, (s,), Stage.CONFIRM)


@dataclass(frozen=True)
class Snapshot:
    """Progress as any worker on any machine sees it: proxy runs done of the planned total."""

    done: int
    total: int
    running: int
    leader: ranking.Row | None


def snapshot(budget: Budget, record: StudyRecord, tl: Tally) -> Snapshot:
    n_networks = len(record.networks)
    extra = max(0, budget.confirm_seeds - budget.seeds) * min(budget.confirm, n_networks) if budget.confirm else 0
    if budget.sampler == "grid":
        sweep_total = len(record.candidates) * budget.seeds
        sweep_done = len({p for p in tl.done if p[1] < budget.seeds})
    else:
        sweep_total = (budget.n_trials or 0) * budget.seeds
        sweep_done = min(tl.sweep_finished, budget.n_trials or 0) * budget.seeds
    total = sweep_total + extra
    done = min(sweep_done + tl.confirm_finished, total)
    return Snapshot(done, total, len(tl.active), ranking.leader(rows(record, tl)))
