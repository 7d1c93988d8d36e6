"""The race after the last rung: from a tie to a decision (issue 20), decided from the study alone.

Once the last rung is complete, its leaders set (``core.evidence.leaders`` on the last rung's own seeds) enters
a race. Each round trains one more paired seed (the next seed index, the same for every survivor) of every
survivor at the last rung's fidelity; after each complete round ``core.racing.race`` tests the survivors again
and drops those shown worse. The race ends with one survivor ("winner"), with every survivor shown within
``equivalence`` of the best ("equivalent"), or when its budget or its looks run out ("undecided").

Like the rungs, every decision is replayed from the study's complete rounds, so every worker on every machine
computes the same survivors, and an interrupted race resumes where it stopped. The budget fixes the race's
rounds before the first one: as many as it pays with every entrant in each (at most 8), so every round is
paid for whatever is dropped; a budget given as a duration is turned into runs with the last rung's mean run
time measured in this study (one worker's training time: with two workers the race takes about half of it in
wall time).
"""

from __future__ import annotations

import dataclasses
import math
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from scalesearch.core import racing, ranking
from scalesearch.core.errors import FieldError
from scalesearch.core.evidence import Evidence, Runs, leaders, rung_stats, seed_scores
from scalesearch.core.record import SeedRun, StudyRecord
from scalesearch.core.runs import RunStatus
from scalesearch.core.units import COST_UNITS, format_size

DEFAULT_BUDGET = "24"  # runs; see docs/search.md, "The race", for how it was measured
_UNITS = {"s": 1.0, "m": 60.0, "h": 3600.0}


@dataclass(frozen=True)
class RaceBudget:
    """How much the race may train: ``runs`` proxy runs, or ``seconds`` of one worker's training time."""

    runs: int | None = None
    seconds: float | None = None

    def __str__(self) -> str:
        if self.runs is not None:
            return str(self.runs)
        s = self.seconds or 0.0
        for unit, size in (("h", 3600.0), ("m", 60.0)):
            if s >= size and s % size == 0:
                return f"{s / size:g}{unit}"
        return f"{s:g}s"

    def run_count(self, seconds_per_run: float | None) -> int:
        """The budget in runs; a duration needs the measured seconds a run takes (None: not measured: 0)."""
        if self.runs is not None:
            return self.runs
        if not seconds_per_run or seconds_per_run <= 0:
            return 0
        return int((self.seconds or 0.0) // seconds_per_run)


def parse_budget(value: str | int) -> RaceBudget:
    """``"24"`` (runs) or a duration such as ``"10m"``, ``"90s"``, ``"1h"`` (one worker's training time)."""
    text = str(value).strip().lower()
    if re.fullmatch(r"\d+", text):
        runs = int(text)
        if runs < 1:
            raise FieldError("race_budget", value, "must be at least 1 run (or --no-race to skip the race)")
        if runs > 100_000:
            raise FieldError("race_budget", value, "at most 100000 runs")
        return RaceBudget(runs=runs)
    m = re.fullmatch(r"(\d+(?:\.\d+)?)\s*([smh])", text)
    if m is None:
        raise FieldError("race_budget", value, "give a number of runs (e.g. 24) or a duration (e.g. 90s, 10m, 1h)")
    seconds = float(m[1]) * _UNITS[m[2]]
    if seconds <= 0:
        raise FieldError("race_budget", value, "must be longer than 0 (or --no-race to skip the race)")
    if seconds > 30 * 86400:
        raise FieldError("race_budget", value, "at most 30 days")
    return RaceBudget(seconds=seconds)


def check_equivalence(value: float) -> float:
    """The equivalence margin in score points (0.01 of a score = one point): > 0 and below 50 points."""
    if isinstance(value, bool) or not isinstance(value, int | float) or not math.isfinite(value) or value <= 0:
        raise FieldError("equivalence", value, "must be a number of score points > 0, e.g. 1.5")
    if value >= 50:
        raise FieldError("equivalence", value, "must be below 50 score points (it is in points, not a fraction)")
    return float(value)


@dataclass(frozen=True)
class RaceSettings:
    """The race's settings: a study setting, stored only where it differs from the default (so a study made
    before the race existed keeps its fingerprint). ``equivalence`` is in score points."""

    enabled: bool = True
    budget: RaceBudget = field(default_factory=lambda: parse_budget(DEFAULT_BUDGET))
    equivalence: float = racing.DEFAULT_EQUIVALENCE * 100

    def __post_init__(self) -> None:
        check_equivalence(self.equivalence)

    def stored(self) -> dict[str, Any] | None:
        if self == RaceSettings():
            return None
        return {"enabled": self.enabled, "budget": str(self.budget), "equivalence": self.equivalence}

    @classmethod
    def from_stored(cls, value: Mapping[str, Any] | None) -> RaceSettings:
        if not value:
            return cls()
        default = cls()
        budget = value.get("budget")
        return cls(enabled=bool(value.get("enabled", True)),
                   budget=parse_budget(budget) if budget is not None else default.budget,
                   equivalence=float(value.get("equivalence", default.equivalence)))

    def rules(self, budget_runs: int, entrants: int) -> racing.RaceRules:
        """The test's rules: the race has as many rounds (looks) as the budget pays with every entrant in each,
        at least 1 and at most core.racing.MAX_ROUNDS; the error rate is split over them. Fixed before the
        first round, so a drop never changes the level of earlier or later tests (budget a drop leaves over
        is not spent)."""
        looks = max(1, min(racing.MAX_ROUNDS, budget_runs // max(1, entrants)))
        return racing.RaceRules(looks=looks, equivalence=self.equivalence / 100)


@dataclass(frozen=True)
class StudyRace:
    """The race as the study's results replay it."""

    race: racing.Race
    budget_runs: int
    used_runs: int  # runs of the complete rounds
    seconds_per_run: float | None
    settings: RaceSettings
    costs: Mapping[int, float] = dataclasses.field(default_factory=dict)  # network -> the cost the score charges
    cost_unit: str = "multiply-adds"

    @property
    def recommended(self) -> int:
        """The network to build (``racing.recommend``): the winner, the cheapest equivalent survivor, or the
        best mean of the undecided ones."""
        return racing.recommend(self.race, self.costs)[0]

    @property
    def finished(self) -> bool:
        return self.race.finished

    @property
    def verdict(self) -> str:
        """winner | equivalent | undecided (also while the race runs: ``finished`` says whether it is over)."""
        return self.race.decision

    def lines(self, names: Mapping[int, str]) -> list[str]:
        """The race in plain lines, for the table, summary.md and index.html."""
        race, rules = self.race, self.race.rules

        def name(n: int) -> str:
            return names.get(n, f"network {n}")

        rounds = len(race.rounds)
        seeds = race.base_seeds + rounds
        head = (f"race among {len(race.entrants)} leader{'s' * (len(race.entrants) != 1)}: {rounds} "
                f"round{'s' * (rounds != 1)} of one more paired seed, {self.used_runs} of {self.budget_runs} runs")
        if race.decision == "winner" and rounds == 0:
            verdict = f"winner {name(race.survivors[0])}: the only leader, so no race was needed"
        elif race.decision == "winner":
            verdict = f"winner {name(race.survivors[0])}: every other leader was shown worse ({seeds} seeds)"
        elif race.decision == "equivalent":
            pick = self.recommended
            verdict = (f"equivalent: any of {', '.join(name(n) for n in race.survivors)} is within "
                       f"{self.settings.equivalence:g} score points of the best ({seeds} seeds each); recommended: "
                       f"{name(pick)}, the cheapest of them{self._cost_text(pick)}, since their order by mean is "
                       "noise")
        else:
            why = (f"the budget of {self.budget_runs} runs cannot pay one round of {len(race.entrants)}"
                   if not race.rounds and race.finished else
                   f"no verdict after {rules.looks} round{'s' * (rules.looks != 1)}, what the budget of "
                   f"{self.budget_runs} runs pays with all {len(race.entrants)} entrants" if race.finished else
                   "the race is still running")
            verdict = (f"undecided ({why}): survivors {', '.join(name(n) for n in race.survivors)}; more budget "
                       "(--race-budget) or a wider margin (--equivalence) would decide")
        dropped = [n for r in race.rounds for n in r.dropped]
        out = [f"{head}. {verdict}"]
        if dropped:
            out.append(f"dropped as worse: {', '.join(name(n) for n in dropped)}")
        out.append(f"race test: {race.test}")
        return out

    def _cost_text(self, network: int) -> str:
        cost = self.costs.get(network)
        if cost is None:
            return ""
        return f" ({cost:.3g} ms)" if self.cost_unit == "ms" else f" ({format_size(cost)} {self.cost_unit})"

    def to_dict(self) -> dict[str, Any]:
        pick, why = racing.recommend(self.race, self.costs)
        return {**self.race.to_dict(), "recommended": pick, "recommended_by": racing.RECOMMENDED_BY[why],
                "finished": self.finished, "budget_runs": self.budget_runs,
                "used_runs": self.used_runs,
                "seconds_per_run": self.seconds_per_run, "equivalence_points": self.settings.equivalence,
                "budget": str(self.settings.budget)}


def last_rung(record: StudyRecord, runs: Runs) -> tuple[int, int, list[int]]:
    """The last rung's index, its own seed count and its networks (those with a finished run of every one of the
    rung's seeds; the race's extra seeds go to survivors only, so they never change this set)."""
    rung = len(record.rungs) - 1
    seeds = record.rungs[rung][1]
    at = runs.get(rung, {})
    members = sorted(n for n, rs in at.items()
                     if {r.seed for r in rs if r.status is not RunStatus.PRUNED} >= set(range(seeds)))
    return rung, seeds, members


def base_view(record: StudyRecord, runs: Runs) -> tuple[dict[int, dict[int, list[SeedRun]]], list[ranking.Row]]:
    """``runs`` with the last rung cut to its own seeds (the race's extra seeds left out), and the ranking of
    that: what the leaders set is judged on."""
    rung, seeds = len(record.rungs) - 1, record.rungs[-1][1]
    cut = {g: {n: list(rs) if g != rung else [r for r in rs if r.seed < seeds] for n, rs in at.items()}
           for g, at in runs.items()}
    return cut, ranking.rank_rungs(record.candidates, cut, record.target, record.w, record.cost)


def study_settings_race(record: StudyRecord) -> RaceSettings:
    return RaceSettings.from_stored(record.settings.get("race"))


def entrants(record: StudyRecord, runs: Runs) -> tuple[list[int], list[ranking.Row]]:
    """The leaders set at the last rung, judged on the rung's own seeds alone (so the race's extra seeds never
    change who entered it), best first; with the last rung's rows on those seeds."""
    rung, seeds, members = last_rung(record, runs)
    at = runs.get(rung, {})
    base = {n: [r for r in at[n] if r.seed < seeds] for n in members}
    rows = [r for r in ranking.rank_rungs(record.candidates, {rung: base}, record.target, record.w, record.cost)
            if r.ranks]
    lead = leaders(rows, {rung: base})
    return ([m.network for m in lead.members] if lead.known else []), rows


def study_race(record: StudyRecord, runs: Runs) -> StudyRace | None:
    """The race of a study whose last rung is complete (the caller knows; ``evidence.partial`` says), replayed
    from its results with its stored race settings. None when there is no race: it is switched off, the search
    has a single rung (the race follows successive halving), or the leaders set is unknown (one seed)."""
    settings = study_settings_race(record)
    if not settings.enabled or len(record.rungs) < 2:
        return None
    names, rows = entrants(record, runs)
    if not names:
        return None
    rung, seeds, members = last_rung(record, runs)
    speaker: dict[int, ranking.Row] = {}
    for row in rows:  # best first: each network's best-ranked candidate speaks for it
        speaker.setdefault(row.network, row)
    at = runs.get(rung, {})
    scores = {n: seed_scores(speaker[n], at.get(n, [])) for n in names}
    durations = [r.result.seconds for n in members for r in at.get(n, [])
                 if r.seed < seeds and r.status is RunStatus.OK and r.result.seconds > 0]
    per_run = sum(durations) / len(durations) if durations else None
    budget = settings.budget.run_count(per_run)
    rules = settings.rules(budget, len(names))
    if len(names) > 1 and budget < len(names):  # not one round paid: the leaders stay tied, undecided
        race = racing.Race(tuple(names), (), tuple(names), "undecided", True, None, racing.describe(rules), rules,
                           seeds)
    else:
        race = racing.race(scores, names, seeds, rules)
    used = sum(len(r.survivors) for r in race.rounds)
    costs = {n: speaker[n].candidate.cost(record.cost) for n in names}
    return StudyRace(race, budget, used, per_run, settings, costs, COST_UNITS.get(record.cost, record.cost))


def evidence(record: StudyRecord, rows: Sequence[ranking.Row], runs: Runs) -> Evidence:
    """``Evidence.of`` with the race: once every rung is complete, the rungs' statistics and the leaders set are
    judged on the last rung's own seeds (the race's extra seeds, which only its survivors get, change neither
    who entered it nor the rung's Spearman) and the race among them is replayed."""
    ev = Evidence.of(record, rows, runs)
    if ev.partial or len(record.rungs) < 2:
        return ev
    base_runs, base_rows = base_view(record, runs)
    # the rungs' spread, seed std and Spearman on their own seeds too: the race's extra seeds of a few survivors
    # would otherwise move them (a fashion-mnist race of 8 rounds took rung 1's Spearman from 0.73 to 0.59)
    return dataclasses.replace(ev, rungs=tuple(rung_stats(base_rows, base_runs, record.rungs)),
                               leaders=leaders(base_rows, base_runs), race=study_race(record, runs))
