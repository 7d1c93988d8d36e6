"""The race after the last rung, as pure functions over the study's results: from a tie to a decision.

The leaders set (``evidence.leaders``) enters. Each round trains one more paired seed (a new seed index, the
same for every survivor) of every survivor at the last rung's fidelity; after each *complete* round (every
survivor has the round's seed) the round's best by mean score is tested against each other survivor, the
ones shown worse are dropped, and the race stops with

- "winner": one survivor left;
- "equivalent": every remaining survivor is shown within +-``equivalence`` of the best;
- "undecided": ``looks`` rounds without either.

Decisions come from complete rounds only and from the scores alone, so every worker (and a resumed run)
replays the same race (``race``), and the scheduler asks ``race_work`` what the next round needs.

**The noise.** A round's tests share one estimate of the seed noise: the residual mean square of the additive
two-way model (network + seed) over the survivors' scores on the round's seeds, on (m - 1)(n - 1) degrees of
freedom for m survivors and n seeds (``pooled_noise``): the error term of a randomized block design, the
seeds being the blocks that pairing removes. Each comparison alone rests on n - 1 degrees of freedom, and
a t-test at the small levels a race needs cannot decide on 3-10 seeds (the upper t quantile at 0.05 / 8 /
12, a round of 8 looks among 13 survivors, is 4.75 on 9 degrees of freedom and 3.37 on 108). A network
with a stalled seed would inflate that pool for everyone, so a network whose share of the residuals is an
outlier by Cochran's C test (at ``OUTLIER_ALPHA``) is left out of it and compared on its own paired
differences instead: its interval is wide, the others' are not.

**The tests.** After round k, the round's best b by mean score against each other survivor o, over the seeds
both have: a one-sided paired t-test of "o is worse than b" (what ``scipy.stats.ttest_rel(b, o,
alternative="greater")`` returns when o is compared on its own differences; on the pooled noise the same
statistic with the pooled variance and its degrees of freedom) and, for equivalence, two one-sided tests
(TOST, Schuirmann 1987, J. Pharmacokinet. Biopharm. 15) of |b - o| < equivalence on the same noise, whose
p-value is the larger of the two.

**The error it controls.** A survivor o is dropped when p(b, o) x (m - 1) <= ``alpha / looks``: the
Bonferroni form of Hsu's multiple comparisons with the best (Hsu 1984, "Constrained simultaneous confidence
intervals for multiple comparisons with the best", Ann. Statist. 12; Hsu 1996, Multiple Comparisons,
Chapman & Hall, ch. 4). If o is a best network (no survivor has a higher true mean), dropping it needs one
of the m - 1 one-sided tests "i beats o" to reject although each is a true null, so the chance is at most
(m - 1) x alpha / (looks (m - 1)) = alpha / looks, whichever survivor the data make the round's best. Hsu's
procedure needs the correction over the m - 1 comparisons with the best only; this race's first test
(Holm's step-down over the m survivors, each p-value multiplied by the m - 1 that could have been the best)
paid it up to m times over, and on the survivors' own paired differences it needed a paired t above 6.6 on
10 seeds to drop one of 13 on Fashion-MNIST (docs/search.md, 'The race'). A race has at most ``looks``
rounds, and Bonferroni over them puts the chance of dropping, anywhere in the race, a given network that no
other beats at most ``alpha`` (0.05): the error over the whole race, not per round (with the same caveat
as every sequential race, F-Race and irace included: a round's survivors depend on the rounds before, whose
seeds it reuses).
So the survivors hold the best network with 95% confidence. Where several networks are exactly as good,
each is kept with that confidence, and one of them may go while another as good stays (as in every
procedure that selects a subset holding the best: Gupta 1965, Hsu 1996). Measured by
``tests/core/test_racing.py``: in 400 races among 4, and among 12, equal networks over 8 looks, a given one
was dropped in 2% of them. Equivalence is an intersection-union test (every survivor must pass its
own TOST, so no correction over survivors is needed) at ``alpha / looks`` per round, so a false
"equivalent" verdict over the race is also at most ``alpha``; choosing b as the best by mean makes each
b - o look larger than it is, which only makes equivalence harder to show.

**Why paired t-tests.** F-Race (Birattari, Stuetzle, Paquete, Varrentrapp 2002, "A racing algorithm for
configuring metaheuristics", GECCO) races with the Friedman test and its post-hoc comparisons; irace
(Lopez-Ibanez, Dubois-Lacoste, Perez Caceres, Birattari, Stuetzle 2016, Operations Research Perspectives 3)
does the same and switches to a paired Wilcoxon test when two survivors remain (and offers t-tests).
Their blocks are many problem instances; ours are seeds, and a race here has 3-10 of them. Rank tests
cannot reach a small p-value on so few blocks: with n paired seeds the smallest one-sided p of Wilcoxon's
signed-rank test is 1/2^n (1/8 with 3 seeds, 1/64 with 6), above the round's 0.05/8 = 0.006 until n = 8,
and the pairwise comparisons after a Friedman test rest on rank differences over as few blocks. The
t-test on the paired differences can decide with 3 seeds when the differences are consistent, and seeds of
one network at one fidelity are close to normal except for a stalled run, which the t-test sees as
variance of that one comparison (it keeps the comparison open rather than deciding it on one seed).

Differences that do not vary (every seed gives the same b - o, as identical networks do) have no t
statistic; scipy would say NaN. Here a constant nonzero difference is decisive (p_worse 0 when b is ahead,
1 when behind; p_equivalent 0 inside the margin, 1 outside), a constant zero difference is equivalence
(when the margin is positive) and no evidence of "worse" (p_worse None)."""

from __future__ import annotations

import math
import statistics
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, Literal

import scipy.special

from scalesearch.core.errors import FieldError

ALPHA = 0.05  # family-wise error over the whole race
MAX_ROUNDS = 8  # most rounds (looks) a race takes
DEFAULT_EQUIVALENCE = 0.03  # score units (3 points): docs/search.md, "The race", says how it was chosen
INTERVAL_LEVEL = 0.95  # of each survivor's mean score per round, for the plot
EXACT = 1e-12  # differences within this of each other are constant (float noise of 0.9 - 0.8, not data)
OUTLIER_ALPHA = 0.01  # Cochran's C test that leaves a network with a stalled seed out of the pooled noise

Decision = Literal["winner", "equivalent", "undecided"]


@dataclass(frozen=True)
class RaceRules:
    """How a race decides: the family-wise error ``alpha`` over at most ``looks`` rounds, each tested at
    ``alpha / looks``; ``equivalence``: the margin in score units (0.01 = one score point) within which
    survivors are called equivalent (0: never)."""

    alpha: float = ALPHA
    looks: int = MAX_ROUNDS  # the most rounds this race can test at; each round is tested at alpha / looks
    equivalence: float = DEFAULT_EQUIVALENCE  # margin in score units (0.01 = one score point)

    def __post_init__(self) -> None:
        if not 0 < self.alpha < 1:
            raise FieldError("alpha", self.alpha, "must be between 0 and 1")
        if isinstance(self.looks, bool) or not isinstance(self.looks, int) or self.looks < 1:
            raise FieldError("looks", self.looks, "must be a whole number of rounds, 1 or more")
        if not math.isfinite(self.equivalence) or self.equivalence < 0:
            raise FieldError("equivalence", self.equivalence, "must be a score margin of 0 or more")

    @property
    def round_alpha(self) -> float:
        return self.alpha / self.looks

    def to_dict(self) -> dict[str, Any]:
        return {"alpha": self.alpha, "looks": self.looks, "equivalence": self.equivalence,
                "round_alpha": self.round_alpha}


@dataclass(frozen=True)
class Comparison:
    """The round's best against one other survivor, paired over the seeds both have."""

    network: int
    seeds: int
    margin: float  # mean of (best - other) over those seeds, score units
    p_worse: float | None  # one-sided paired t-test p for "other is worse than best" (None: < 2 seeds, or 0 = 0)
    p_equivalent: float | None  # TOST p (the larger one-sided p) for |best - other| < equivalence
    dropped: bool  # p_worse x (survivors - 1) <= round_alpha: comparisons with the best (Hsu's MCB, Bonferroni form)
    within: bool  # p_equivalent < round_alpha
    pooled: bool = True  # tested on the round's pooled noise (False: on its own paired differences)

    def to_dict(self) -> dict[str, Any]:
        return {"network": self.network, "seeds": self.seeds, "margin": self.margin, "p_worse": self.p_worse,
                "p_equivalent": self.p_equivalent, "dropped": self.dropped, "within": self.within,
                "pooled": self.pooled}


@dataclass(frozen=True)
class Round:
    """One complete round: what entered it, its means and intervals, its tests and what it dropped."""

    index: int  # 1 = the first round with one extra seed
    seeds: tuple[int, ...]  # every seed index used at this round (base seeds + extra ones so far)
    survivors: tuple[int, ...]  # networks entering this round, best first by mean over `seeds`
    means: dict[int, float]  # network -> mean score over seeds
    intervals: dict[int, tuple[float, float]]  # network -> 95% t-interval of its mean; (mean, mean) with one seed
    best: int
    comparisons: tuple[Comparison, ...]
    dropped: tuple[int, ...]
    equivalent: bool  # every comparison not dropped is `within` (and one is left): the race stops, "equivalent"
    noise: Noise  # the seed noise its tests used

    @property
    def remaining(self) -> tuple[int, ...]:
        """The survivors after this round, best first."""
        return tuple(n for n in self.survivors if n not in self.dropped)

    def to_dict(self) -> dict[str, Any]:
        return {"index": self.index, "seeds": list(self.seeds), "survivors": list(self.survivors),
                "means": {str(n): v for n, v in self.means.items()},
                "intervals": {str(n): list(v) for n, v in self.intervals.items()}, "best": self.best,
                "comparisons": [c.to_dict() for c in self.comparisons], "dropped": list(self.dropped),
                "equivalent": self.equivalent, "noise": self.noise.to_dict()}


@dataclass(frozen=True)
class Race:
    """A race replayed from the scores: its complete rounds, survivors and decision."""

    entrants: tuple[int, ...]
    rounds: tuple[Round, ...]  # complete rounds only
    survivors: tuple[int, ...]  # after the last complete round, best first
    decision: Decision  # "undecided" while running too; `finished` says whether it is over
    finished: bool  # a winner, equivalence, or no looks left
    next_seed: int | None  # the seed index the next round trains (None when finished)
    test: str  # one line naming the test and its error control
    rules: RaceRules = field(default_factory=RaceRules)
    base_seeds: int = 0  # the last rung's own seeds: 0..base_seeds-1
    waiting: tuple[int, ...] = ()  # survivors without ``next_seed`` yet (what the next round still needs)

    def winner(self) -> int | None:
        return self.survivors[0] if self.decision == "winner" else None

    def seeds_of(self, network: int) -> int:
        """Seeds the race had of ``network`` when it last tested it (its base seeds with no round)."""
        tested = [r for r in self.rounds if network in r.survivors]
        return len(tested[-1].seeds) if tested else self.base_seeds

    def to_dict(self) -> dict[str, Any]:
        return {"decision": self.decision, "finished": self.finished, "winner": self.winner(),
                "entrants": list(self.entrants), "survivors": list(self.survivors),
                "seeds": {str(n): self.seeds_of(n) for n in self.entrants}, "base_seeds": self.base_seeds,
                "next_seed": self.next_seed, "waiting": list(self.waiting), "test": self.test,
                "rules": self.rules.to_dict(), "rounds": [r.to_dict() for r in self.rounds]}


def describe(rules: RaceRules) -> str:
    """The test and its error control in one line (best.json, the docs)."""
    margin = (f"; equivalence: two one-sided paired t-tests (TOST) within +-{rules.equivalence * 100:g} score points "
              f"for every survivor, each at {rules.round_alpha:g}" if rules.equivalence > 0 else
              "; equivalence: not tested (margin 0)")
    return (f"after each round of one more paired seed, one-sided paired t-tests of the round's best against each "
            f"survivor on the seed noise pooled over the survivors (two-way residuals; a network with outlying "
            f"noise on its own differences), comparisons with the best (Hsu's MCB): a survivor is dropped when "
            f"p x (survivors - 1) <= alpha/looks = {rules.alpha:g}/{rules.looks} = {rules.round_alpha:g}, "
            f"Bonferroni over at most {rules.looks} rounds: a best network dropped with chance <= {rules.alpha:g} "
            f"over the race"
            f"{margin}")


# -- the tests --------------------------------------------------------------------------------------

def _constant(d: Sequence[float]) -> bool:
    return max(d) - min(d) <= EXACT


def p_worse(d: Sequence[float], variance: float | None = None, df: int | None = None) -> float | None:
    """One-sided paired t-test p-value for mean(d) > 0, d = best - other per seed; None with fewer than 2
    seeds or a constant zero difference. A constant nonzero difference is decisive (0 or 1). With
    ``variance`` (of one difference, pooled over the round) on ``df`` degrees of freedom the test uses them
    instead of d's own sample variance on len(d) - 1; a pooled variance of zero makes d constant."""
    if len(d) < 2:
        return None
    if (_constant(d) if variance is None else variance <= EXACT ** 2):
        m = statistics.fmean(d)
        return None if abs(m) <= EXACT else (0.0 if m > 0 else 1.0)
    return _t_test(d, 0.0, "greater", variance, df)


def _t_test(d: Sequence[float], null: float, alternative: Literal["greater", "less"],
            variance: float | None = None, df: int | None = None) -> float:
    """One-sample t-test p-value of mean(d) against ``null`` (``d`` varies, 2+ values, unless ``variance`` is
    given): what ``scipy.stats.ttest_1samp`` (and ``ttest_rel`` on the pairs) returns, from the t
    distribution's CDF directly (``scipy.special.stdtr``), 300x faster than the wrappers, which a replay of
    every round runs again and again (tests/core/test_racing.py checks that the two agree). With
    ``variance`` and ``df``: the same statistic on that variance (pooled elsewhere) and its degrees of
    freedom."""
    n = len(d)
    sd = math.sqrt(variance) if variance is not None else statistics.stdev(d)
    t = (statistics.fmean(d) - null) / (sd / math.sqrt(n))
    return float(scipy.special.stdtr(df if variance is not None and df else n - 1, -t if alternative == "greater"
                                     else t))


def p_equivalent(d: Sequence[float], equivalence: float, variance: float | None = None,
                 df: int | None = None) -> float | None:
    """TOST p-value for -equivalence < mean(d) < equivalence: the larger of the one-sided t-tests of
    mean(d) > -equivalence and mean(d) < equivalence; None with fewer than 2 seeds. A constant difference
    is decisive: 0 strictly inside the margin, 1 on or outside it (so never with a margin of 0). ``variance``
    and ``df``: as for ``p_worse``."""
    if len(d) < 2:
        return None
    if (_constant(d) if variance is None else variance <= EXACT ** 2):
        return 0.0 if abs(statistics.fmean(d)) < equivalence - EXACT else 1.0
    return max(_t_test(d, -equivalence, "greater", variance, df), _t_test(d, equivalence, "less", variance, df))


@dataclass(frozen=True)
class Noise:
    """The round's seed noise of one network's score: ``variance`` (score units squared) on ``df`` degrees of
    freedom, pooled over the networks not in ``own`` by the two-way (network x seed) residual mean square;
    the networks in ``own`` were left out of the pool as outliers and are compared on their own paired
    differences. ``variance`` is None when nothing is left to pool (fewer than 2 networks or 2 seeds)."""

    variance: float | None
    df: int
    own: tuple[int, ...] = ()

    def to_dict(self) -> dict[str, Any]:
        return {"sd": None if self.variance is None else math.sqrt(self.variance), "df": self.df,
                "own": list(self.own)}


def _residual_ss(table: Mapping[int, Sequence[float]]) -> dict[int, float]:
    """Each network's sum of squared residuals of the additive two-way model (network + seed): x_is - mean_i -
    mean_s + mean, over a complete table (every network has every seed, in the same order)."""
    nets = list(table)
    n = len(table[nets[0]])
    seed_mean = [statistics.fmean(table[i][s] for i in nets) for s in range(n)]
    grand = statistics.fmean(seed_mean)
    out = {}
    for i in nets:
        own = statistics.fmean(table[i])
        out[i] = math.fsum((table[i][s] - own - seed_mean[s] + grand) ** 2 for s in range(n))
    return out


def pooled_noise(table: Mapping[int, Sequence[float]], outlier_alpha: float = OUTLIER_ALPHA) -> Noise:
    """The seed noise of the race's scores, pooled over networks, that one network with a stalled seed cannot
    inflate. ``table``: network -> its scores on the round's seeds (complete: the same seeds, same order).

    The pool is the residual mean square of the additive two-way model, network + seed (the seed effect is
    what pairing removes), on (m - 1)(n - 1) degrees of freedom for m networks and n seeds: the error term
    of a randomized block design, which Hsu's comparisons with the best use (Hsu 1984, Ann. Statist. 12;
    Hsu 1996, Multiple Comparisons, ch. 4). A network whose share of the residual sum of squares is an
    outlier by Cochran's C test (Cochran 1941, Ann. Eugenics 11; the largest of m variances against their
    sum, critical value 1 / (1 + (m - 1) / F), F the upper ``outlier_alpha / m`` point on nu and (m - 1) nu
    degrees of freedom, nu = (n - 1)(m - 1) / m each) is left out and the pool refitted without it, while at
    least 3 networks remain. Its comparisons then use their own paired differences on n - 1 degrees of
    freedom: a stalled run widens its own interval, not every other one."""
    own: list[int] = []
    rest = dict(table)
    while True:
        m = len(rest)
        n = len(next(iter(rest.values()))) if rest else 0
        if m < 2 or n < 2:
            return Noise(None, 0, tuple(own))
        ss = _residual_ss(rest)
        total = math.fsum(ss.values())
        df = (m - 1) * (n - 1)
        if m >= 3 and total > EXACT ** 2:
            worst = max(ss, key=ss.__getitem__)  # the first of equal ones, in the table's order
            nu = df / m
            f = float(scipy.special.fdtri(nu, (m - 1) * nu, 1 - outlier_alpha / m))  # F's upper alpha/m point
            if ss[worst] / total > 1 / (1 + (m - 1) / f):
                own.append(worst)
                del rest[worst]
                continue
        return Noise(total / df, df, tuple(own))


def t_interval(values: Sequence[float], level: float = INTERVAL_LEVEL) -> tuple[float, float]:
    """The t-interval of the mean of ``values``; (mean, mean) with one value or none that vary."""
    m = statistics.fmean(values)
    if len(values) < 2 or _constant(values):
        return (m, m)
    half = float(scipy.special.stdtrit(len(values) - 1, 0.5 + level / 2)) * statistics.stdev(values) / math.sqrt(
        len(values))
    return (m - half, m + half)


# -- the race ---------------------------------------------------------------------------------------

def _round(index: int, seeds: tuple[int, ...], entering: Sequence[int], order: Mapping[int, int],
           scores: Mapping[int, Mapping[int, float]], rules: RaceRules) -> Round:
    own = {n: [scores[n][s] for s in seeds if s in scores[n]] for n in entering}
    for n, values in own.items():
        if not all(math.isfinite(v) for v in values):
            raise FieldError("scores", None, f"network {n} has a score that is not a finite number")
    means = {n: statistics.fmean(v) for n, v in own.items()}
    survivors = tuple(sorted(entering, key=lambda n: (-means[n], order[n])))
    best = survivors[0]
    diffs = {}
    for o in survivors[1:]:
        common = [s for s in seeds if s in scores[best] and s in scores[o]]
        diffs[o] = [scores[best][s] - scores[o][s] for s in common]
    every = [s for s in seeds if all(s in scores[n] for n in survivors)]
    noise = pooled_noise({n: [scores[n][s] for s in every] for n in survivors})
    alone = set(noise.own) if noise.variance is not None else set(survivors)
    comparisons = []
    for o, d in diffs.items():  # d is never empty: both have the round's own seed
        pooled = best not in alone and o not in alone
        variance = 2 * noise.variance if pooled and noise.variance is not None else None
        df = noise.df if pooled else None
        worse = p_worse(d, variance, df)
        p_eq = p_equivalent(d, rules.equivalence, variance, df)
        dropped = worse is not None and (len(survivors) - 1) * worse <= rules.round_alpha
        comparisons.append(Comparison(o, len(d), statistics.fmean(d), worse, p_eq, dropped,
                                      p_eq is not None and p_eq < rules.round_alpha, pooled))
    dropped_set = {c.network for c in comparisons if c.dropped}
    kept = [c for c in comparisons if not c.dropped]
    equivalent = bool(kept) and all(c.within for c in kept)
    return Round(index, seeds, survivors, {n: means[n] for n in survivors},
                 {n: t_interval(own[n]) for n in survivors}, best, tuple(comparisons),
                 tuple(n for n in survivors if n in dropped_set), equivalent, noise)


def race(scores: Mapping[int, Mapping[int, float]], entrants: Sequence[int], base_seeds: int,
         rules: RaceRules) -> Race:
    """Replay the race from the study's results alone. ``scores``: network -> seed index -> score at the
    last rung. ``entrants``: the leaders set (best first). Seeds 0..base_seeds-1 are the last rung's own
    seeds; round k (k = 1, 2, ...) adds seed index base_seeds + k - 1 and is complete when every survivor of
    round k has that seed (a network dropped earlier is not needed; extra seeds of dropped networks are
    ignored). After each complete round: best = highest mean over the round's seeds among survivors (ties:
    the earlier entrant); one-sided paired t-tests best vs each other on the round's pooled noise
    (``pooled_noise``); a survivor whose p x (survivors - 1) <= ``rules.round_alpha`` is dropped; if every
    remaining non-best survivor is within +-equivalence of best by TOST at round_alpha (intersection-union:
    no correction over survivors), decision "equivalent". One survivor left: "winner". After
    ``rules.looks`` rounds without either: finished, "undecided". One entrant: finished at once, "winner",
    no rounds. Scores of seeds beyond a round, or of networks that are not entrants, are never read."""
    if isinstance(base_seeds, bool) or not isinstance(base_seeds, int) or base_seeds < 1:
        raise FieldError("base_seeds", base_seeds, "must be the last rung's seeds per network, 1 or more")
    entrants = tuple(entrants)
    if not entrants:
        raise FieldError("entrants", None, "a race needs at least one entrant (the leaders set)")
    if len(set(entrants)) != len(entrants):
        raise FieldError("entrants", list(entrants), "names a network twice")
    test = describe(rules)
    if len(entrants) == 1:
        return Race(entrants, (), entrants, "winner", True, None, test, rules, base_seeds)
    order = {n: i for i, n in enumerate(entrants)}
    table = {n: dict(scores.get(n, {})) for n in entrants}
    rounds: list[Round] = []
    survivors = entrants
    decision: Decision = "undecided"
    for index in range(1, rules.looks + 1):
        seed = base_seeds + index - 1
        if any(seed not in table[n] for n in survivors):
            waiting = tuple(n for n in survivors if seed not in table[n])
            return Race(entrants, tuple(rounds), survivors, decision, False, seed, test, rules, base_seeds, waiting)
        done = _round(index, tuple(range(seed + 1)), survivors, order, table, rules)
        rounds.append(done)
        survivors = done.remaining
        if len(survivors) == 1:
            decision = "winner"
            break
        if done.equivalent:
            decision = "equivalent"
            break
    return Race(entrants, tuple(rounds), survivors, decision, True, None, test, rules, base_seeds)


def race_work(race: Race) -> list[tuple[int, int]]:
    """The (network, seed index) runs the next round still needs, best first: every survivor that lacks
    ``race.next_seed`` (empty when the race is finished). Runs in flight are the caller's to leave out."""
    if race.finished or race.next_seed is None:
        return []
    return [(n, race.next_seed) for n in race.waiting]


RECOMMENDED_BY = {
    "winner": "the race's winner",
    "cheapest": "the cheapest of the equivalent survivors",
    "best mean": "the best mean of the undecided survivors",
}


def recommend(race: Race, costs: Mapping[int, float]) -> tuple[int, str]:
    """The network to build and why (a key of ``RECOMMENDED_BY``): the winner; among equivalent survivors the
    one of least cost (``costs``: network -> the cost the score charges; ties, and survivors without a cost,
    go to the better mean); among undecided survivors the best mean.

    Equivalence says every survivor is within the margin of the best at the race's confidence, so which of
    them has the best mean is noise: on the default task the best of two equivalent sets, seeds 0.. and
    1000.., differed while both sets held the same cheapest network. Taking the least costly of the models
    the data cannot tell apart is the one-standard-error rule's parsimony (Breiman, Friedman, Olshen and Stone
    1984, Classification and Regression Trees, section 3.4.3; Hastie, Tibshirani and Friedman, The Elements
    of Statistical Learning, 2nd ed., section 7.10): it depends on the measured costs, not on the noise."""
    if not race.survivors:
        raise ValueError("a race without survivors recommends nothing")
    if race.decision == "winner":
        return race.survivors[0], "winner"
    if race.decision == "equivalent":
        order = {n: i for i, n in enumerate(race.survivors)}
        best = min(race.survivors, key=lambda n: (costs.get(n, math.inf), order[n]))
        return best, "cheapest"
    return race.survivors[0], "best mean"
