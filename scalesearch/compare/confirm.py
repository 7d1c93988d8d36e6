"""``grid --confirm-phi P``: the race's survivors confirmed at the phi the user will build.

The race decides among networks at phi = 1; a user builds phi = 2, 3 or more, where depth, width and
resolution have grown by the same coefficients and rounding treats each survivor differently. Each survivor's
(alpha, beta, gamma) is scaled to the target multiply-adds of phi = P (the baseline's measured FLOPs x 2^P:
``compare.match.solve_model``, as `compare` matches its rows, within 10%: the score charges each its
own cost), trained on paired seeds
(the last rung's seeds, at least 3) at the last rung's fidelity through the proxy-run cache (an interrupted
confirmation resumes), and ranked by the race's rules in one look: one-sided paired t-tests of the best against
each other on the seed noise pooled over them, comparisons with the best (Hsu's MCB) at 5%, and TOST within the
race's equivalence margin (``core.racing``).
best.json records it under ``confirmed``; its top-level point becomes the confirmed pick (``Confirmed.chosen``:
the winner, the cheapest equivalent, or the best mean of an undecided set), which `scale --from` uses and says so.
"""

from __future__ import annotations

import statistics
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from scalesearch.compare.config import CompareConfig
from scalesearch.compare.inputs import study_proxy
from scalesearch.compare.match import Planned, solve_model
from scalesearch.compare.train import Step, train_rows
from scalesearch.core import racing
from scalesearch.core.errors import FieldError, UsageError
from scalesearch.core.runs import ProxyResult, RunStatus
from scalesearch.core.settings import DEFAULT_W
from scalesearch.family.recipe import Recipe
from scalesearch.measure import measure
from scalesearch.train import load_data, train_proxy

MIN_SEEDS = 3  # a paired t-test needs 2 degrees of freedom to mean something
# Each survivor's measured multiply-adds within 10% of phi's target: wider than compare's 5%, since the score
# charges each network its own measured cost ((FLOPs / T)^w), so only a comparable cost is needed.
TOLERANCE = 0.10


def check_phi(phi: float) -> float:
    if isinstance(phi, bool) or not isinstance(phi, int | float) or not 0 < phi <= 8:
        raise FieldError("confirm_phi", phi, "must be a number in (0, 8], the phi you will build (e.g. 2)")
    return float(phi)


@dataclass(frozen=True)
class Confirmed:
    """The survivors at phi: each row's network and paired scores, and the one-look race among them."""

    phi: float
    target_flops: int
    seeds: int
    rows: tuple[Planned, ...]
    scores: Mapping[int, Mapping[int, float]]  # row index -> seed -> score at phi
    race: racing.Race
    seconds: float

    def point(self, i: int) -> tuple[float, float, float]:
        r = self.rows[i].recipe
        return (r.alpha, r.beta, r.gamma)

    @property
    def chosen(self) -> int:
        """The row to build (``racing.recommend`` with each row's multiply-adds at phi)."""
        if len(self.rows) == 1:
            return 0
        return racing.recommend(self.race, {i: float(p.member.cost.flops) for i, p in enumerate(self.rows)})[0]

    @property
    def best(self) -> tuple[float, float, float]:
        return self.point(self.chosen)

    def text(self, i: int) -> str:
        a, b, g = self.point(i)
        return f"({a:g}, {b:g}, {g:g})"

    def line(self) -> str:
        d, n = self.race.decision, len(self.rows)
        head = f"confirmed at phi = {self.phi:g} ({self.target_flops:,} multiply-adds, {self.seeds} paired seeds): "
        if n == 1:
            return head + f"{self.text(0)} alone (the race had one survivor); trained to show its cost and accuracy"
        if d == "winner":
            return head + f"winner {self.text(self.race.survivors[0])}: every other survivor shown worse"
        if d == "equivalent":
            return head + (f"equivalent: any of {', '.join(self.text(i) for i in self.race.survivors)} is within "
                           f"{self.race.rules.equivalence * 100:g} score points of the best; recommended: "
                           f"{self.text(self.chosen)}, the cheapest of them")
        return head + (f"undecided: {', '.join(self.text(i) for i in self.race.survivors)} not told apart; "
                       f"the best mean is {self.text(self.race.survivors[0])}")

    def to_dict(self) -> dict[str, Any]:
        rows = []
        for i, p in enumerate(self.rows):
            s = self.scores.get(i, {})
            a, b, g = self.point(i)
            rows.append({"alpha": a, "beta": b, "gamma": g, "flops": p.member.cost.flops,
                         "flops_convention": "multiply-adds (fvcore)", "params": p.member.cost.params,
                         "flops_ratio": p.ratio, "scores": {str(k): v for k, v in sorted(s.items())},
                         "score_mean": statistics.fmean(s.values()) if s else None})
        a, b, g = self.best
        return {"phi": self.phi, "target_flops": self.target_flops, "seeds": self.seeds,
                "decision": self.race.decision if len(self.rows) > 1 else "winner",
                "best": {"alpha": a, "beta": b, "gamma": g}, "rows": rows, "test": self.race.test,
                "wall_seconds": round(self.seconds, 1), "line": self.line()}


def confirm(record: Mapping[str, Any], phi: float, *, baseline: Any, policy: str,
            cache_path: Path | None = None, progress: Callable[[Step], None] | None = None,
            trainer: Callable[..., ProxyResult] | None = None) -> Confirmed:
    """Confirm best.json's race survivors (``record``: best.json as a dict) at ``phi``. UsageError when there is
    no race decision; FieldError naming a survivor whose family cannot reach phi's target."""
    start = time.perf_counter()
    phi = check_phi(phi)
    decision = record.get("decision")
    if not isinstance(decision, dict) or not decision.get("survivors"):
        raise UsageError("--confirm-phi confirms the race's survivors, and this search has no race decision (one "
                         "rung, or --no-race): drop --confirm-phi, or use `scalesearch compare --from` on the study")
    settings = record.get("settings") or {}
    proxy, last_seeds = study_proxy(settings)
    config = CompareConfig(data=str(settings.get("data")), proxy=proxy, seeds=max(MIN_SEEDS, last_seeds),
                           tolerance=TOLERANCE, cache_path=cache_path, references=())
    target = round(measure(baseline, config.counter).flops * 2.0**phi)
    rows = []
    for s in decision["survivors"]:
        a, b, g = float(s["alpha"]), float(s["beta"]), float(s["gamma"])
        rows.append(solve_model(baseline, f"({a:g}, {b:g}, {g:g})", Recipe(a, b, g, policy=policy), phi, target,
                                config))
    data = load_data(config.data)
    results = train_rows(rows, data, config, progress=progress, trainer=trainer or train_proxy)
    w = float(record.get("w", DEFAULT_W))
    scores: dict[int, dict[int, float]] = {}
    for i, p in enumerate(rows):
        factor = (p.member.cost.flops / target) ** w
        scores[i] = {seed: r.accuracy * factor for seed, r in results[p.model].items() if r.status is RunStatus.OK}
    order = sorted(scores, key=lambda i: -statistics.fmean(scores[i].values()) if scores[i] else 0.0)
    equivalence = float((decision.get("rules") or {}).get("equivalence", racing.DEFAULT_EQUIVALENCE))
    rules = racing.RaceRules(looks=1, equivalence=equivalence)
    # One look at every seed: the race's round 1 with seeds 0..seeds-1 (base seeds: all but the last).
    race = racing.race(scores, order, config.seeds - 1, rules)
    return Confirmed(phi, target, config.seeds, tuple(rows), scores, race, time.perf_counter() - start)
