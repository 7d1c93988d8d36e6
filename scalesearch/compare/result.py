"""A finished comparison: its table rows (the network as built and its accuracies by seed) and the whole
record that compare.json holds."""

from __future__ import annotations

import statistics
from dataclasses import dataclass
from typing import Any

from scalesearch.compare.config import COMPARE_FORMAT, CompareConfig
from scalesearch.compare.match import Planned
from scalesearch.compare.verdict import Verdict, ok_accuracies
from scalesearch.core.builderspec import AnySpec
from scalesearch.core.runs import ProxyResult, RunStatus
from scalesearch.measure import Cost


@dataclass(frozen=True)
class ModelRow:
    """One line of the table: the network as built and its accuracies (OK runs only) by seed."""

    planned: Planned
    results: dict[int, ProxyResult]

    @property
    def accuracies(self) -> dict[int, float]:
        return ok_accuracies(self.results)

    @property
    def mean(self) -> float | None:
        acc = list(self.accuracies.values())
        return statistics.fmean(acc) if acc else None

    @property
    def std(self) -> float | None:
        acc = list(self.accuracies.values())
        return statistics.stdev(acc) if len(acc) >= 2 else None

    def to_dict(self) -> dict[str, Any]:
        p, m = self.planned, self.planned.member
        r = m.spec.scaling
        if r is None:  # every row is made by scale(); a bare spec here is a bug
            raise ValueError(f"{m.spec.name} has no scaling record")
        return {
            "model": p.model, "strategy_phi": m.phi, "alpha": p.recipe.alpha, "beta": p.recipe.beta,
            "gamma": p.recipe.gamma, "d": r.depth_achieved, "w": r.width_achieved, "r": r.resolution_achieved,
            "resolution_px": m.spec.resolution, "layers": m.spec.total_layers, "flops": m.cost.flops,
            "flops_ratio_to_target": round(p.ratio, 4), "flops_ratio_to_baseline": round(m.flops_ratio, 4),
            "params": m.cost.params, "accuracy_mean": self.mean, "accuracy_std": self.std,
            "seeds_ok": len(self.accuracies), "seeds": len(self.results),
            "accuracy_by_seed": {str(s): a for s, a in sorted(self.accuracies.items())},
            "failed": {str(s): f"{x.status}: {x.message}" for s, x in sorted(self.results.items())
                       if x.status is not RunStatus.OK},
            "proxy_resolution_px": next((x.proxy_resolution for x in self.results.values()), None),
        }


@dataclass(frozen=True)
class Comparison:
    baseline: AnySpec
    coefficients: tuple[float, float, float]
    phi: float
    policy: str
    source: str  # the study folder, or "given"
    config: CompareConfig
    base_cost: Cost
    target_flops: int
    rows: tuple[ModelRow, ...]
    verdict: Verdict
    seconds: float
    trained: int  # runs trained by this call (the rest came from the cache)
    device: str = ""

    def row(self, model: str) -> ModelRow:
        return next(r for r in self.rows if r.planned.model == model)

    def to_dict(self) -> dict[str, Any]:
        from scalesearch.report.best import versions

        return {
            "format": COMPARE_FORMAT, "baseline": self.baseline.name, "source": self.source,
            "coefficients": {"alpha": self.coefficients[0], "beta": self.coefficients[1],
                             "gamma": self.coefficients[2]},
            "phi": self.phi, "policy": self.policy, "flops_convention": f"multiply-adds ({self.config.counter})",
            "baseline_flops": self.base_cost.flops, "target_flops": self.target_flops,
            "config": self.config.to_dict(), "rows": [r.to_dict() for r in self.rows],
            "verdict": self.verdict.to_dict(), "wall_seconds": round(self.seconds, 1),
            "runs_trained": self.trained, "runs_reused": len(self.rows) * self.config.seeds - self.trained,
            "device": self.device, "versions": versions(),
        }
