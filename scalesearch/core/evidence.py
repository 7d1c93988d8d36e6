"""The evidence behind a search's answer: per-rung spread and noise, rung-to-rung rank correlations, the
leaders as a confidence set, and how the winner compares with each reference strategy.

Pure functions over the ranking (``scalesearch.core.ranking``) and the stored seed runs (rung -> network ->
runs). The comparisons are *paired*: at a rung, seed s means the same data order, augmentation and
training subset for every network, so the difference of two networks' scores at seed s removes the part
of the noise they share. The variance of those paired differences is pooled over every network compared
at that rung (each alone rests on 2-3 seeds: too few to trust) by a robust rule, the median of each
comparison's own variance scaled to its chi-square median (``robust_variance``), so that one network that
stalls on one seed cannot widen every other comparison; a difference counts when it exceeds ``NOISE_Z``
standard errors, the same rule as ``ranking.noise_verdict``.
"""

from __future__ import annotations

import math
import statistics
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any, TypeVar

import scipy.stats

from scalesearch.core.ranking import NOISE_Z, Row, leading_networks, per_seed, promoted_count, rank
from scalesearch.core.record import SeedRun, StudyRecord
from scalesearch.core.runs import RunStatus
from scalesearch.core.settings import Sampler
from scalesearch.core.stats import spearman

Runs = Mapping[int, Mapping[int, Sequence[SeedRun]]]  # rung -> network -> seed runs
K = TypeVar("K")
SATURATED = 0.985  # mean accuracy over a rung's networks at or above this: a handful of errors separate them


def seed_scores(row: Row, runs: Sequence[SeedRun]) -> dict[int, float]:
    """seed -> score of ``row``'s candidate from the OK runs given (each seed once). The cost factor
    (cost / T)^w is the row's own (its score over its mean accuracy), whatever the study's cost."""
    factor = row.score / row.summary.accuracy_mean if row.summary.accuracy_mean else 0.0
    return {s: r.accuracy * factor for s, r in per_seed(runs).items() if r.status is RunStatus.OK}


def best_rows(rows: Sequence[Row]) -> dict[int, Row]:
    """network -> its best-ranked feasible candidate (the row that speaks for the network)."""
    out: dict[int, Row] = {}
    for r in rows:
        if r.ranks and r.network not in out:
            out[r.network] = r
    return out


# -- progress ---------------------------------------------------------------------------------------

@dataclass(frozen=True)
class RungProgress:
    """How far one rung is: its networks with every seed finished, of the networks it trains."""

    rung: int
    seeds: int  # the rung's seeds per network
    trained: int  # networks with every seed finished
    begun: int  # networks with at least one seed finished
    planned: int | None  # None: not known from the study alone (rung 0 of a tpe or random search)

    @property
    def complete(self) -> bool:
        return self.planned is None or self.trained >= self.planned

    def text(self, named: bool = True) -> str:
        """'partial: 3 of 7 networks trained at rung 0 (2 more part-way, with fewer than 2 seeds); no verdict
        yet' ('' for a complete rung); ``named=False`` leaves out 'at rung 0'."""
        if self.complete:
            return ""
        where = f" at rung {self.rung}" if named else ""
        more = self.begun - self.trained
        begun = f" ({more} more part-way, with fewer than {self.seeds} seeds)" if more > 0 else ""
        return f"partial: {self.trained} of {self.planned} networks trained{where}{begun}; no verdict yet"

    @property
    def partial(self) -> str:
        return self.text()


def _trained(runs: Sequence[SeedRun], seeds: int) -> bool:
    """Every seed of the rung has a result (a pruned seed ends its network's training at the rung)."""
    done = per_seed(runs)
    return all(s in done for s in range(seeds)) or any(r.status is RunStatus.PRUNED for r in done.values())


def _moves_on(runs: Sequence[SeedRun], seeds: int) -> bool:
    """Every seed of the rung finished, none pruned: the network is ranked for the next rung's promotions."""
    done = per_seed(runs)
    return all(s in done and done[s].status is not RunStatus.PRUNED for s in range(seeds))


def progress(record: StudyRecord, runs: Runs) -> list[RungProgress]:
    """Each rung as far as the study has decided it, lowest first, up to the first one that is not complete
    (the ones above it are not decided yet). Rung 0 of a grid search trains every candidate's network; a
    higher rung trains the leading ``promote`` fraction of the rung below (``ranking.promoted_count``) and
    the reference networks, as ``search.schedule.promotions`` decides them."""
    out: list[RungProgress] = []
    settings = record.study_settings
    grid, promote = settings.sampler is Sampler.GRID, settings.promote
    for r, (_, seeds) in enumerate(record.rungs):
        at = runs.get(r, {})
        trained = sum(1 for rs in at.values() if _trained(rs, seeds))
        begun = sum(1 for rs in at.values() if per_seed(rs))
        if r == 0:
            planned = len({c.network for c in record.candidates}) if grid else None
        else:
            below = {n: rs for n, rs in runs.get(r - 1, {}).items() if _moves_on(rs, record.rungs[r - 1][1])}
            ranked = rank(record.candidates, below, record.target, record.w, record.cost)
            leading = leading_networks(ranked, promoted_count(len({x.network for x in ranked if x.ranks}), promote))
            references = {x.network for x in ranked if x.ranks and x.candidate.reference} - set(leading)
            planned = len(leading) + len(references)
        out.append(RungProgress(r, seeds, trained, begun, planned))
        if not out[-1].complete:
            break
    return out


def partial(record: StudyRecord, runs: Runs) -> str:
    """Why the study gives no verdict yet (its first rung that is not complete), or '' when every rung is."""
    return next((p.partial for p in progress(record, runs) if p.partial), "")


# -- rungs ------------------------------------------------------------------------------------------

@dataclass(frozen=True)
class RungStats:
    """One rung: how far apart its networks are, how noisy, and whether it agrees with the rung below."""

    rung: int
    epochs: int
    seeds: int
    networks: int  # networks with an accuracy at this rung
    accuracy_min: float
    accuracy_max: float
    seed_std: float | None  # accuracy std pooled over the networks with 2+ seeds; None with one seed each
    spearman: float | None  # vs the rung below, over this rung's networks (scores); None at rung 0
    saturated: bool
    partial: str = ""  # the rung is not complete (RungProgress.partial): no verdict yet

    @property
    def spread(self) -> float:
        return self.accuracy_max - self.accuracy_min

    @property
    def can_rank(self) -> bool | None:
        """The spread exceeds twice the seed std (None: noise unknown, one network, or the rung is partial)."""
        if self.seed_std is None or self.partial or self.networks < 2:
            return None
        return self.spread > 2 * self.seed_std and not self.saturated

    def verdict(self) -> str:
        if self.partial:
            return self.partial
        if self.networks < 2:
            return f"{self.networks} network with an accuracy: nothing to rank"
        spread = f"accuracy spread {self.spread:.1%} over {self.networks} networks"
        if self.seed_std is None:
            return f"{spread}; seed noise unknown (one seed per network)"
        noise = f"seed std {self.seed_std:.1%}"
        if self.saturated:
            return f"{spread}, {noise}: saturated (mean >= {SATURATED:.1%}): the data cannot rank these networks here"
        if not self.can_rank:
            return f"{spread} within 2x the {noise}: the data cannot rank these networks at this budget"
        return f"{spread} > 2x the {noise}"

    def to_dict(self) -> dict[str, Any]:
        return {"rung": self.rung, "epochs": self.epochs, "seeds": self.seeds, "networks": self.networks,
                "accuracy_min": self.accuracy_min, "accuracy_max": self.accuracy_max, "spread": self.spread,
                "seed_std": self.seed_std, "spearman_vs_previous": self.spearman, "saturated": self.saturated,
                "can_rank": self.can_rank, "partial": bool(self.partial), "verdict": self.verdict()}


def rung_stats(rows: Sequence[Row], runs: Runs, rungs: Sequence[tuple[int, int]],
               steps: Sequence[RungProgress] = ()) -> list[RungStats]:
    """One entry per rung that has results. ``rungs``: (epochs, seeds) per rung, as the study settings;
    ``steps``: how far each rung is (``progress``), so that a rung not complete says so instead of a verdict."""
    speakers = best_rows(rows)
    unfinished = {p.rung: p.text(named=False) for p in steps if p.partial}
    out: list[RungStats] = []
    prev_scores: dict[int, float] = {}
    for rung in sorted(runs):
        scores: dict[int, float] = {}
        accs: list[float] = []
        stds: list[tuple[int, float]] = []
        for n, rs in runs[rung].items():
            row = speakers.get(n)
            if row is None:
                continue  # the infeasible baseline, or a network with no OK run
            by_seed = seed_scores(row, rs)
            if not by_seed:
                continue
            ok = [r.accuracy for r in per_seed(rs).values() if r.status is RunStatus.OK]
            accs.append(statistics.fmean(ok))
            scores[n] = statistics.fmean(by_seed.values())
            if len(ok) >= 2:
                stds.append((len(ok), statistics.stdev(ok)))
        if not accs:
            continue
        dof = sum(k - 1 for k, _ in stds)
        pooled = math.sqrt(sum((k - 1) * s**2 for k, s in stds) / dof) if dof else None
        common = [n for n in scores if n in prev_scores]
        rho = spearman([prev_scores[n] for n in common], [scores[n] for n in common]) if rung > 0 else None
        epochs, seeds = rungs[rung] if rung < len(rungs) else (0, 0)
        out.append(RungStats(rung, epochs, seeds, len(accs), min(accs), max(accs), pooled, rho,
                             statistics.fmean(accs) >= SATURATED, unfinished.get(rung, "")))
        prev_scores = scores
    return out


# -- paired comparisons -----------------------------------------------------------------------------

def beyond_noise(margin: float, standard_error: float | None) -> bool | None:
    """Whether a mean paired difference exceeds NOISE_Z standard errors; None when the noise is unknown."""
    return None if standard_error is None else margin > NOISE_Z * standard_error


@dataclass(frozen=True)
class LeaderGap:
    """The leader against one other network at one rung, paired over their common seeds."""

    row: Row
    rung: int
    seeds: int  # common seeds
    leader_score: float  # means over the common seeds
    other_score: float
    margin: float  # mean paired difference, leader minus other
    standard_error: float | None

    @property
    def distinguishable(self) -> bool | None:
        return beyond_noise(self.margin, self.standard_error)


@dataclass(frozen=True)
class Paired:
    """One side against another over their common seeds: means, mean paired difference and its standard
    error (None with one common seed and nothing to pool with)."""

    seeds: int
    lead_mean: float
    other_mean: float
    margin: float  # mean of (lead - other) over the common seeds
    standard_error: float | None

    @property
    def distinguishable(self) -> bool | None:
        return beyond_noise(self.margin, self.standard_error)


def robust_variance(parts: Sequence[tuple[int, float]]) -> float | None:
    """One variance for several samples of the same noise, that one wild sample cannot inflate: ``parts``
    are (values, sample variance) per sample; each variance v_i on k_i = n_i - 1 degrees of freedom is
    scaled to its chi-square median, v_i * k_i / chi2.median(k_i), and the pooled value is the median of
    those. For normal noise of variance sigma^2, k_i v_i / sigma^2 is chi-square on k_i degrees of freedom, so
    each scaled term has median sigma^2 and so does the pool: consistent when every sample has the same
    sigma. A mean-pooled variance lets one sample with a stalled seed (variance 100x the others) multiply
    the pool; here it moves the median by one place. None with no sample of 2+ values."""
    scaled = sorted(v * (n - 1) / float(scipy.stats.chi2.median(n - 1)) for n, v in parts if n >= 2)
    return statistics.median(scaled) if scaled else None


def paired(lead: Mapping[int, float], others: Mapping[K, Mapping[int, float]], *,
           pool: bool = True) -> dict[K, Paired]:
    """``lead``'s per-seed values against each of ``others``' (seed -> value), paired over common seeds. With
    ``pool`` the variance of the paired differences is pooled over every comparison with 2+ common seeds
    (each alone rests on a few seeds: too few to trust; right when the others are alike, as a rung's
    networks are) by ``robust_variance``, the median of each comparison's chi-square-scaled own variance,
    so one comparison with a stalled seed cannot widen the others; without it each comparison uses its own
    (a textbook paired test: the noisy comparison's own interval is wide, as it should be). Others without
    a common seed are left out."""
    sides: list[tuple[K, list[float], list[float], list[float]]] = []  # key, lead's, other's, differences
    for key, mine in others.items():
        common = sorted(set(mine) & set(lead))
        if common:
            a, b = [lead[s] for s in common], [mine[s] for s in common]
            sides.append((key, a, b, [x - y for x, y in zip(a, b, strict=True)]))
    own = {key: statistics.variance(d) if len(d) >= 2 else None for key, _, _, d in sides}
    pooled = robust_variance([(len(d), v) for key, _, _, d in sides if (v := own[key]) is not None])
    out: dict[K, Paired] = {}
    for key, a, b, d in sides:
        variance = pooled if pool else own[key]
        se = math.sqrt(variance / len(d)) if variance is not None else None
        out[key] = Paired(len(d), statistics.fmean(a), statistics.fmean(b), statistics.fmean(d), se)
    return out


def leader_gaps(leader: Row, others: Sequence[Row], runs: Runs, rung: int) -> list[LeaderGap]:
    """Paired comparisons of ``leader`` with each of ``others`` at ``rung``; the variance of the paired
    differences is pooled over all of them (``robust_variance``: the median, not the mean)."""
    at = runs.get(rung, {})
    lead = seed_scores(leader, at.get(leader.network, ()))
    mine = {i: seed_scores(row, at.get(row.network, ())) for i, row in enumerate(others)}
    return [LeaderGap(others[i], rung, p.seeds, p.lead_mean, p.other_mean, p.margin, p.standard_error)
            for i, p in paired(lead, mine).items()]


@dataclass(frozen=True)
class Leaders:
    """The candidates the final rung cannot tell from the best: a confidence set, not one winner."""

    rung: int
    members: tuple[Row, ...]  # best first; one row per network (its best-ranked candidate)
    recommended: Row | None
    known: bool  # False: noise unknown (one seed), or the search is partial: the set is just the leader
    note: str
    partial: bool = False  # a rung is not complete: the leader is the one so far, no verdict yet

    RULE = ("leaders: every network whose mean paired score difference to the best at the final rung is within "
            f"{NOISE_Z:g} standard errors (paired over common seeds; variance of the differences pooled over the "
            "rung robustly: the median of each comparison's own variance scaled to its chi-square median, so one "
            "stalled seed cannot widen every interval); recommended: the best mean score among them (the leader), "
            "which `scale --from` uses")

    def to_dict(self) -> dict[str, Any]:
        return {
            "rung": self.rung, "known": self.known, "partial": self.partial, "note": self.note, "rule": self.RULE,
            "recommended": _point(self.recommended) if self.recommended else None,
            "members": [_point(r) for r in self.members],
        }


def _point(row: Row) -> dict[str, Any]:
    c = row.candidate
    return {"alpha": c.alpha, "beta": c.beta, "gamma": c.gamma, "score": row.score, "score_std": row.score_std,
            "accuracy_mean": row.summary.accuracy_mean, "seeds": row.summary.seeds, "rung": row.rung,
            "reference": c.reference or None}


def leaders(rows: Sequence[Row], runs: Runs, partial: str = "") -> Leaders:
    """The leaders set at the leader's rung. ``partial`` (``evidence.partial``): the study is not complete, so
    the leader is only the one so far and the set is not judged."""
    speakers = list(best_rows(rows).values())
    if not speakers:
        return Leaders(0, (), None, False, "no finished candidate yet")
    top = speakers[0]
    if partial:
        return Leaders(top.rung, (top,), top, False, "provisional: the search is partial; no verdict yet",
                       partial=True)
    rivals = [r for r in speakers[1:] if r.rung == top.rung]
    comps = leader_gaps(top, rivals, runs, top.rung)
    if not comps:
        note = (f"no other network has a result at rung {top.rung}: the leader stands alone for lack of a rival, "
                "not because it is clearly best")
        return Leaders(top.rung, (top,), top, False, note)
    if all(c.standard_error is None for c in comps):
        note = ("noise unknown at the final rung (one seed per network): the leader stands alone for lack of "
                "evidence, not because it is clearly best; give the last rung 2+ seeds (--rungs)")
        return Leaders(top.rung, (top,), top, False, note)
    members = (top, *(c.row for c in comps if c.distinguishable is False))
    n = len(members)
    if n == 1:
        note = f"the leader beats every other network at rung {top.rung} by more than the noise"
    elif n <= 3:
        note = f"{n} networks are indistinguishable at rung {top.rung}: any of them is a sound choice"
    else:
        note = (f"{n} of {len(rivals) + 1} networks at rung {top.rung} are indistinguishable: "
                "the search cannot single out a winner; more seeds or epochs at the last rung (--rungs), or "
                "harder data, would shrink the set")
    return Leaders(top.rung, members, top, True, note)


def speakers_at(rows: Sequence[Row], rung: int) -> list[Row]:
    return [r for r in best_rows(rows).values() if r.rung == rung]


@dataclass(frozen=True)
class ReferenceVerdict:
    name: str
    row: Row
    comparison: LeaderGap | None  # None: the reference is the leader's own network
    text: str

    def to_dict(self) -> dict[str, Any]:
        c = self.comparison
        return {"reference": self.name, **_point(self.row), "compared_at_rung": c.rung if c else self.row.rung,
                "margin": c.margin if c else 0.0, "standard_error": c.standard_error if c else None,
                "winner_beats_it": c.distinguishable if c else False, "verdict": self.text}


def reference_verdicts(rows: Sequence[Row], runs: Runs, partial: str = "") -> list[ReferenceVerdict]:
    """For every reference strategy in the ranking: does the leader (the best score at the last rung) beat it by
    more than the noise? Compared at the highest rung the reference reached (the leader passed through every
    rung). "Leader", not "winner": only the race (core.racing) names a winner.
    ``partial``: the study is not complete: each comparison is given, its verdict is not."""
    ranked = [r for r in rows if r.ranks]
    if not ranked:
        return []
    top = ranked[0]
    out: list[ReferenceVerdict] = []
    for row in ranked:
        if not row.candidate.reference:
            continue
        for name in row.candidate.reference.split("+"):
            if row.network == top.network:
                text = "is the leader's network" if row is not top else "is the leader"
                out.append(ReferenceVerdict(name, row, None, text))
                continue
            rivals = speakers_at(rows, row.rung)
            others = [r for r in rivals if r.network not in (top.network, row.network)] + [row]
            comps = {c.row.network: c for c in leader_gaps(top, others, runs, row.rung)}
            c = comps.get(row.network)
            if c is None:
                out.append(ReferenceVerdict(name, row, None, "no common seeds with the leader"))
                continue
            where = f"at rung {row.rung}"
            se = c.standard_error
            if partial:
                text = f"leader so far ahead by {c.margin:+.4f} {where}; no verdict yet (the search is partial)"
            elif se is None:  # c.distinguishable is None
                text = f"leader ahead by {c.margin:+.4f} {where}; noise unknown (one seed)"
            elif c.distinguishable:
                text = f"leader beats it by {c.margin:.4f} > {NOISE_Z:g} SE {NOISE_Z * se:.4f} {where}"
            else:
                text = (f"not beaten beyond the noise: margin {c.margin:+.4f} <= {NOISE_Z:g} SE "
                        f"{NOISE_Z * se:.4f} {where}")
            out.append(ReferenceVerdict(name, row, c, text))
    return out


@dataclass(frozen=True)
class Evidence:
    """Everything above for one study, as best.json, the table and the report show it."""

    rungs: tuple[RungStats, ...]
    leaders: Leaders
    references: tuple[ReferenceVerdict, ...]
    partial: str = ""  # the first rung that is not complete ('partial: 3 of 7 networks ...'); '' when all are
    # the race among the leaders after the last rung: a core.decision.StudyRace (that module builds on this one)
    race: Any = None
    rows: tuple[Row, ...] = ()  # the ranking the evidence was drawn from

    @classmethod
    def of(cls, record: StudyRecord, rows: Sequence[Row], runs: Runs) -> Evidence:
        """Without the race (``core.decision.evidence`` adds it: the race builds on the leaders set here)."""
        steps = progress(record, runs)
        why = next((p.partial for p in steps if p.partial), "")  # as partial() says
        return cls(tuple(rung_stats(rows, runs, record.rungs, steps)), leaders(rows, runs, why),
                   tuple(reference_verdicts(rows, runs, why)), why, None, tuple(rows))

    @property
    def recommended(self) -> Row | None:
        """The point ``scale --from`` uses: the race's winner, the cheapest of its equivalent survivors, or the best
        of its undecided ones (``racing.recommend``); without a race, the leader."""
        if self.race is not None:
            best = self.race.recommended
            return next((r for r in self.rows if r.network == best and r.ranks), self.leaders.recommended)
        return self.leaders.recommended

    def to_dict(self) -> dict[str, Any]:
        return {"partial": self.partial or None, "rungs": [r.to_dict() for r in self.rungs],
                "leaders": self.leaders.to_dict(), "references": [r.to_dict() for r in self.references],
                "decision": self.decision()}

    def decision(self) -> dict[str, Any] | None:
        """best.json's ``decision``: winner | equivalent | undecided, the survivors (as points), rounds, seeds
        per survivor, the test and its error rate, and every round (for the report's plot)."""
        if self.race is None:
            return None
        sr, points = self.race, {r.network: r for r in best_rows(self.rows).values()}

        def point(n: int) -> dict[str, Any]:
            return {"network": n, **(_point(points[n]) if n in points else {})}

        out: dict[str, Any] = sr.to_dict()
        out["survivors"] = [point(n) for n in sr.race.survivors]
        out["entrants"] = [point(n) for n in sr.race.entrants]
        out["decision"] = sr.verdict
        out["winner"] = point(sr.race.survivors[0]) if sr.verdict == "winner" else None
        out["recommended"] = point(sr.recommended)
        out["family_wise_error"] = sr.race.rules.alpha
        return out

    def lines(self) -> list[str]:
        """What stands behind the answer, in plain lines: each rung's spread, noise and agreement with the
        rung below; the leaders set; the winner against each reference strategy."""
        out = []
        for r in self.rungs:
            rho = "" if r.spearman is None else f"; Spearman vs rung {r.rung - 1}: {r.spearman:.2f}"
            size = f"{r.epochs} epoch{'s' * (r.epochs != 1)} x {r.seeds} seed{'s' * (r.seeds != 1)}"
            out.append(f"rung {r.rung} ({size}): {r.verdict()}{rho}")
        lead = self.leaders
        if lead.members:
            pts = ", ".join(f"({m.candidate.alpha:g}, {m.candidate.beta:g}, {m.candidate.gamma:g})"
                            + (f" {m.candidate.reference}" if m.candidate.reference else "") for m in lead.members)
            what = "leader so far" if lead.partial else "leaders"
            note = lead.note
            if self.race is not None and len(lead.members) > 1:  # the race, next line, decides among them
                note = (f"{len(lead.members)} networks at rung {lead.rung} are indistinguishable on its "
                        f"{self.race.race.base_seeds} seeds: they race")
            out.append(f"{what} at rung {lead.rung}: {pts}. {note}")
        if self.race is not None:
            out.extend(self.race.lines(_triples(self.rows)))
        for ref in self.references:
            out.append(f"reference {ref.name}: {ref.text}")
        return out


def _triples(rows: Sequence[Row]) -> dict[int, str]:
    """network -> '(alpha, beta, gamma)' of the row that speaks for it (with its reference name)."""
    out = {}
    for n, m in best_rows(rows).items():
        c = m.candidate
        out[n] = f"({c.alpha:g}, {c.beta:g}, {c.gamma:g})" + (f" {c.reference}" if c.reference else "")
    return out
