"""What a search worker does next, decided from the study alone: small pure functions.

Every worker (a process here, or on another machine sharing the study) repeats one decision until it
says "done":

1. a WAITING trial exists (a dead worker's trial re-queued by the heartbeat callback): run it;
2. rung 0 has a (candidate, seed) that nobody has finished or is running: run it. The grid sampler
   runs every candidate; tpe/random let their sampler propose until the --n-trials budget is spent. A
   pair whose trials all failed is free again, so a stale trial's work is redone;
3. a higher rung lacks a (network, seed) of the networks promoted into it: run the next one;
4. once the last rung is complete, the race among its leaders (``core.decision``) lacks a survivor's run of
   the current round's seed: run it (one more paired seed per round, at the last rung's fidelity);
5. only other workers' trials remain: wait for them;
6. otherwise: done. A finished study decides "done" at once, so a rerun takes seconds.

Successive halving (``Schedule.rungs``): rung 0 trains every distinct network for its epochs and seeds;
once a rung is complete, the leading ``promote`` fraction of its ranked networks (at least three) is
trained again at the next rung, longer and with more seeds, from scratch, together with the networks of
the reference strategies (yardsticks: the winner is compared with them where the noise is smallest).
A rung's promotions are decided only from that rung's complete results, so every worker on every machine
computes the same set. Seed s means the same data order, augmentation and subset for every network at a
rung: differences between networks are paired.

Which pair to run at rung 0: first one whose network already has that seed's result (the trial only
copies it), then one whose network nobody is training (rotated by the worker's offset, so two workers do
not pick the same network), and last one whose network is being trained right now (that trial waits).
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from typing import Literal

from optuna.trial import FrozenTrial, TrialState

from scalesearch.core import decision, racing, ranking
from scalesearch.core.errors import FieldError
from scalesearch.core.record import SeedRun, StudyRecord, TrialRecord, is_infeasible
from scalesearch.core.runs import RunStatus
from scalesearch.core.settings import Sampler

MAX_EPOCHS, MAX_SEEDS = 1000, 100  # per rung (and per audit): beyond them a value is a typo, not a plan
Pair = tuple[int, int]  # (candidate, seed)
NetRun = tuple[int, int, int]  # (network, rung, seed)


@dataclass(frozen=True)
class Rung:
    """One fidelity: every network at this rung trains ``epochs`` epochs for each of ``seeds`` seeds."""

    epochs: int
    seeds: int

    def __str__(self) -> str:
        return f"{self.epochs}x{self.seeds}"


def parse_rungs(value: str) -> tuple[Rung, ...]:
    """``"3x1,9x2"``: epochs x seeds per rung, cheapest first. Epochs must increase and seeds not decrease."""
    parts = [p.strip() for p in str(value).split(",")]
    out: list[Rung] = []
    for part in parts:
        m = re.fullmatch(r"(\d+)\s*[xX*]\s*(\d+)", part)
        if m is None:
            raise FieldError("rungs", value, f"{part!r} is not EPOCHSxSEEDS; write e.g. 3x1,9x2 (epochs x seeds "
                                             "per rung, cheapest first)")
        out.append(Rung(int(m[1]), int(m[2])))
    return check_rungs(tuple(out), value)


def check_rungs(rungs: tuple[Rung, ...], shown: object = None) -> tuple[Rung, ...]:
    shown = shown if shown is not None else ",".join(map(str, rungs))
    if not rungs:
        raise FieldError("rungs", shown, "needs at least one rung, e.g. 3x1")
    if len(rungs) > 8:
        raise FieldError("rungs", shown, "at most 8 rungs")
    for r in rungs:
        if r.epochs < 1 or r.seeds < 1:
            raise FieldError("rungs", shown, "epochs and seeds must be >= 1 in every rung")
        if r.epochs > MAX_EPOCHS or r.seeds > MAX_SEEDS:
            raise FieldError("rungs", shown, f"at most {MAX_EPOCHS} epochs and {MAX_SEEDS} seeds per rung")
    for lo, hi in zip(rungs, rungs[1:], strict=False):
        if hi.epochs <= lo.epochs or hi.seeds < lo.seeds:
            raise FieldError("rungs", shown, f"rung {hi} does not increase on {lo}: each rung needs more epochs "
                                             "and at least as many seeds as the one before")
    return rungs


@dataclass(frozen=True)
class Schedule:
    """The settings that decide the work (a subset of SearchConfig)."""

    sampler: Sampler = Sampler.GRID
    rungs: tuple[Rung, ...] = (Rung(3, 1),)
    promote: float = 0.3
    n_trials: int | None = None

    def __post_init__(self) -> None:
        object.__setattr__(self, "sampler", Sampler(self.sampler))  # "grid" is taken as the member

    @property
    def seeds_are_trials(self) -> bool:
        """Grid trials train one seed each (``seed`` is a trial param); tpe/random rung-0 trials train all
        rung-0 seeds. Higher rungs always train one seed per trial."""
        return self.sampler is Sampler.GRID

    @property
    def seeds(self) -> int:
        return self.rungs[0].seeds

    @property
    def total_seeds(self) -> int:
        return max(r.seeds for r in self.rungs)

    def promoted_count(self, n: int) -> int:
        """How many of ``n`` ranked networks move up a rung (``ranking.promoted_count``)."""
        return ranking.promoted_count(n, self.promote)


@dataclass(frozen=True)
class Work:
    """What to run: a candidate (None: the sampler proposes one) for some seeds, at a rung."""

    candidate: int | None
    seeds: tuple[int, ...]
    rung: int = 0


@dataclass(frozen=True)
class Action:
    kind: Literal["run", "wait", "done"]
    work: Work | None = None  # None with "run": take the queued (WAITING) trial


@dataclass
class Tally:
    """The study's trials, counted the way the decisions need them."""

    done: set[Pair] = field(default_factory=set)  # rung 0 (candidate, seed) of COMPLETE or PRUNED trials
    active: set[Pair] = field(default_factory=set)  # rung 0 (candidate, seed) of RUNNING or WAITING trials
    net_done: set[NetRun] = field(default_factory=set)  # (network, rung, seed) with a finished result
    net_active: set[NetRun] = field(default_factory=set)  # (network, rung, seed) a running trial still trains
    waiting: int = 0
    sweep_finished: int = 0  # rung-0 trials COMPLETE or PRUNED (the tpe/random budget; infeasible draws excluded)
    sweep_active: int = 0
    promoted_finished: int = 0  # seeds finished at rungs above 0
    runs: dict[int, dict[int, list[SeedRun]]] = field(default_factory=dict)  # rung -> network -> seed runs


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
            out.runs.setdefault(rec.rung, {}).setdefault(rec.network, []).append(r)
            if r.status is not RunStatus.PRUNED:
                out.net_done.add((rec.network, rec.rung, r.seed))
        base = rec.rung == 0
        if t.state in (TrialState.COMPLETE, TrialState.PRUNED):
            if base:
                out.done |= pairs
            out.sweep_finished += base
            out.promoted_finished += 0 if base else len(rec.seeds)
        elif t.state in (TrialState.RUNNING, TrialState.WAITING):
            if base:
                out.active |= pairs
            out.sweep_active += base
            out.waiting += t.state == TrialState.WAITING
            if t.state == TrialState.RUNNING:
                out.net_active |= {(rec.network, rec.rung, s) for s in rec.seeds if s not in finished_seeds}
    return out


def rows(record: StudyRecord, tl: Tally) -> list[ranking.Row]:
    """The ranking as it stands (the one in ``scalesearch.core.ranking``): highest rung first."""
    return ranking.rank_rungs(record.candidates, tl.runs, record.target, record.w, record.cost)


def rung_rows(record: StudyRecord, tl: Tally, rung: int, networks: Iterable[int] | None = None) -> list[ranking.Row]:
    """The ranking of one rung's results alone (optionally only some networks): what promotions read."""
    runs = tl.runs.get(rung, {})
    keep = set(runs) if networks is None else set(networks) & set(runs)
    return ranking.rank(record.candidates, {n: runs[n] for n in keep}, record.target, record.w, record.cost)


def promotions(schedule: Schedule, record: StudyRecord, tl: Tally) -> list[list[int]]:
    """The networks of each rung above 0, best first, as far as they are decided: rung r's list exists once
    every network of rung r - 1 has all of that rung's seeds finished. Returns one list per decided rung."""
    out: list[list[int]] = []
    if not sweep_complete(schedule, record, tl):
        return out
    # Rung 0: every network with all its seeds finished (a pruned seed leaves its network behind).
    members = sorted(n for n in {n for n, rg, _ in tl.net_done if rg == 0}
                     if all((n, 0, s) in tl.net_done for s in range(schedule.seeds)))
    for r in range(1, len(schedule.rungs)):
        prev = schedule.rungs[r - 1]
        if not members or any((n, r - 1, s) not in tl.net_done for n in members for s in range(prev.seeds)):
            break
        ranked = rung_rows(record, tl, r - 1, members)
        n_ranked = len({row.network for row in ranked if row.ranks})
        leading = ranking.leading_networks(ranked, schedule.promoted_count(n_ranked))
        # Reference strategies are carried up every rung as yardsticks: the winner is compared with them
        # at the last rung, where the noise is smallest, and they widen the rung's range of networks.
        yardsticks = [row.network for row in ranked if row.ranks and row.candidate.reference]
        members = leading + [n for n in dict.fromkeys(yardsticks) if n not in leading]
        out.append(members)
    return out


def sweep_complete(schedule: Schedule, record: StudyRecord, tl: Tally) -> bool:
    """Rung 0 has nothing left to run or running."""
    if schedule.sampler is Sampler.GRID:
        return all((c.index, s) in tl.done for c in record.candidates for s in range(schedule.seeds))
    return tl.sweep_finished >= (schedule.n_trials or 0)


def next_action(schedule: Schedule, record: StudyRecord, tl: Tally, offset: int = 0) -> Action:
    """The next thing a worker does (see the module docstring). ``offset`` spreads workers over the work."""
    if tl.waiting:
        return Action("run")
    if schedule.sampler is Sampler.GRID:
        missing = {(c.index, s) for c in record.candidates for s in range(schedule.seeds)} - tl.done
        free = sorted(missing - tl.active)
        if free:
            return Action("run", Work(*_pick(free, record, tl, offset), 0))
        if missing:
            return Action("wait")
    else:
        total = schedule.n_trials or 0
        if tl.sweep_finished + tl.sweep_active < total:
            return Action("run", Work(None, tuple(range(schedule.seeds)), 0))
        if tl.sweep_finished < total:
            return Action("wait")
    decided = promotions(schedule, record, tl)
    for r, members in enumerate(decided, start=1):
        needs = [(n, s) for n in members for s in range(schedule.rungs[r].seeds) if (n, r, s) not in tl.net_done]
        if not needs:
            continue
        free = [(n, s) for n, s in needs if (n, r, s) not in tl.net_active]
        if not free:
            return Action("wait")
        n, s = free[offset % len(free)]
        ranked = rung_rows(record, tl, r - 1, [n])
        best = next(row.candidate.index for row in ranked if row.network == n)
        return Action("run", Work(best, (s,), r))
    if len(decided) < len(schedule.rungs) - 1:
        return Action("wait") if tl.net_active else Action("done")  # a rung is still being finished elsewhere
    return _race_action(schedule, record, tl, offset, decided)


def last_rung_complete(schedule: Schedule, record: StudyRecord, tl: Tally,
                       decided: list[list[int]] | None = None) -> bool:
    """Every rung is decided and every network of the last rung has all of that rung's seeds finished.
    ``decided``: ``promotions`` when the caller has them already."""
    if len(schedule.rungs) < 2:
        return False
    decided = promotions(schedule, record, tl) if decided is None else decided
    if len(decided) < len(schedule.rungs) - 1:
        return False
    last = len(schedule.rungs) - 1
    return all((n, last, s) in tl.net_done for n in decided[-1] for s in range(schedule.rungs[last].seeds))


def study_race(schedule: Schedule, record: StudyRecord, tl: Tally,
               decided: list[list[int]] | None = None) -> decision.StudyRace | None:
    """The race among the last rung's leaders (``core.decision``), once the last rung is complete."""
    done = last_rung_complete(schedule, record, tl, decided)
    return decision.study_race(record, tl.runs) if done else None


def _race_action(schedule: Schedule, record: StudyRecord, tl: Tally, offset: int,
                 decided: list[list[int]]) -> Action:
    """The race's next run: a survivor without the current round's seed, at the last rung's fidelity, until the
    race is finished (a winner, equivalence, or the rounds its budget pays: ``StudyRace.finished``)."""
    sr = study_race(schedule, record, tl, decided)
    if sr is None or sr.finished:
        return Action("done")
    last = len(schedule.rungs) - 1
    needs = [(n, s) for n, s in racing.race_work(sr.race) if (n, last, s) not in tl.net_done]
    free = [(n, s) for n, s in needs if (n, last, s) not in tl.net_active]
    if not free:
        return Action("wait") if needs else Action("done")  # done: a survivor's run failed, the round cannot end
    n, s = free[offset % len(free)]
    best = next(row.candidate.index for row in rung_rows(record, tl, last, [n]) if row.network == n)
    return Action("run", Work(best, (s,), last))


def _pick(free: Sequence[Pair], record: StudyRecord, tl: Tally, offset: int) -> tuple[int, tuple[int, ...]]:
    network = {c.index: c.network for c in record.candidates}
    copies = [p for p in free if (network[p[0]], 0, p[1]) in tl.net_done]
    if copies:
        c, s = copies[0]
        return c, (s,)
    untouched = [p for p in free if (network[p[0]], 0, p[1]) not in tl.net_active]
    # Two candidates of one network are one training: keep one per (network, seed) before rotating.
    firsts: dict[Pair, Pair] = {}
    for p in untouched:
        firsts.setdefault((network[p[0]], p[1]), p)
    spread = list(firsts.values())
    c, s = spread[offset % len(spread)] if spread else free[0]
    return c, (s,)


@dataclass(frozen=True)
class Snapshot:
    """Progress as any worker on any machine sees it: proxy runs done of the planned total."""

    done: int
    total: int
    running: int
    leader: ranking.Row | None


def snapshot(schedule: Schedule, record: StudyRecord, tl: Tally) -> Snapshot:
    """Done of total proxy runs. Promotions not yet decided are counted as planned: the promoted fraction of
    the networks, so the total is known from the start and only shrinks if networks fail."""
    if schedule.sampler is Sampler.GRID:
        sweep_total = len(record.candidates) * schedule.seeds
        sweep_done = len({p for p in tl.done if p[1] < schedule.seeds})
        n = len(record.networks)
    else:
        sweep_total = (schedule.n_trials or 0) * schedule.seeds
        sweep_done = min(tl.sweep_finished, schedule.n_trials or 0) * schedule.seeds
        n = schedule.n_trials or 0
    decided = promotions(schedule, record, tl)
    extra = 0
    for r in range(1, len(schedule.rungs)):
        n = len(decided[r - 1]) if r - 1 < len(decided) else schedule.promoted_count(n)
        extra += n * schedule.rungs[r].seeds
    total = sweep_total + extra
    sr = study_race(schedule, record, tl, decided)
    if sr is not None:  # the race's complete rounds and the round under way
        total += sr.used_runs + (0 if sr.finished else len(sr.race.survivors))
    done = min(sweep_done + tl.promoted_finished, total)
    return Snapshot(done, total, len(tl.active), ranking.leader(rows(record, tl)))
