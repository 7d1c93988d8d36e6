"""The verdict: compound against each single dimension, a paired test per comparison (not pooled)."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from scalesearch.compare.config import RULE
from scalesearch.core.evidence import Paired, paired
from scalesearch.core.ranking import NOISE_Z
from scalesearch.core.runs import ProxyResult, RunStatus


@dataclass(frozen=True)
class Versus:
    """Compound against one single-dimension row."""

    model: str
    test: Paired | None  # None: no common seed with an OK run

    @property
    def beats(self) -> bool | None:
        return None if self.test is None else self.test.distinguishable

    def text(self) -> str:
        t = self.test
        if t is None:
            return f"compound vs {self.model}: no common seed with a finished run"
        margin = f"{t.margin * 100:+.2f} points over {t.seeds} seed{'s' * (t.seeds != 1)}"
        if t.standard_error is None:
            return f"compound vs {self.model}: {margin}; noise unknown (one seed): no verdict"
        bound = f"{NOISE_Z:g} SE = {NOISE_Z * t.standard_error * 100:.2f} points"
        if t.distinguishable:
            return f"compound beats {self.model}: {margin} > {bound}"
        return f"compound does not beat {self.model} beyond the noise: {margin} <= {bound}"

    def to_dict(self) -> dict[str, Any]:
        t = self.test
        return {"model": self.model, "beats": self.beats, "seeds": t.seeds if t else 0,
                "margin": t.margin if t else None, "standard_error": t.standard_error if t else None,
                "compound_mean": t.lead_mean if t else None, "other_mean": t.other_mean if t else None,
                "text": self.text()}


@dataclass(frozen=True)
class Verdict:
    rows: tuple[Versus, ...]

    @property
    def beats_all(self) -> bool | None:
        """True: compound beats every single dimension beyond the noise; False: not some; None: unknown."""
        if any(v.beats is False for v in self.rows):
            return False
        return True if self.rows and all(v.beats for v in self.rows) else None

    def summary(self) -> str:
        if self.beats_all:
            return "verdict: compound scaling beats every single dimension by more than the noise"
        if self.beats_all is False:
            lost = ", ".join(v.model for v in self.rows if v.beats is False)
            return f"verdict: compound scaling does not beat every single dimension beyond the noise (not {lost})"
        return "verdict: unknown: give --seeds 2 or more to measure the noise"

    def lines(self) -> list[str]:
        return [v.text() for v in self.rows] + [self.summary()]

    def to_dict(self) -> dict[str, Any]:
        return {"beats_all": self.beats_all, "summary": self.summary(), "rule": RULE,
                "rows": [v.to_dict() for v in self.rows]}


def ok_accuracies(results: Mapping[int, ProxyResult]) -> dict[int, float]:
    return {s: r.accuracy for s, r in results.items() if r.status is RunStatus.OK}


def verdict(compound: Mapping[int, float], singles: Mapping[str, Mapping[int, float]]) -> Verdict:
    """Compound's per-seed accuracies against each single dimension's (seed -> accuracy), paired."""
    tests = paired(compound, singles, pool=False)
    return Verdict(tuple(Versus(m, tests.get(m)) for m in singles))
