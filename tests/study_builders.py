"""Small hand-made study records and trials for tests of the ranking, the record and the scheduler:
no networks are built or measured, nothing is trained."""

from __future__ import annotations

import math
from collections.abc import Sequence

import optuna
from optuna.distributions import CategoricalDistribution, IntDistribution
from optuna.trial import TrialState

from scalesearch.core.record import PARAMS, SEED_PARAM, CandidateRow, Network, SeedRun, StudyRecord, TrialRecord
from scalesearch.core.runs import ProxyResult, RunStatus
from scalesearch.core.spec import NetSpec

TARGET = 1000


def row(index: int, network: int, triple: tuple[float, float, float], flops: int, *, feasible: bool = True,
        baseline: bool = False, reference: str = "") -> CandidateRow:
    a, b, g = triple
    return CandidateRow(
        index=index, alpha=a, beta=b, gamma=g, product=round(a * b * b * g * g, 6), depth_achieved=a,
        width_achieved=b, resolution_achieved=g, layers=3, resolution_px=32, proxy_resolution_px=32, flops=flops,
        params=100, activations=10, flops_ratio=flops / 1000, group=network, network=network,
        architecture=f"arch{network}", proxy_architecture=f"proxy{network}", baseline=baseline, feasible=feasible,
        reference=reference,
    )


def study_record(spec: NetSpec, rows: Sequence[CandidateRow], rungs: Sequence[tuple[int, int]] = ((3, 1),)
                 ) -> StudyRecord:
    networks: dict[int, list[int]] = {}
    for r in rows:
        networks.setdefault(r.network, []).append(r.index)
    a, b, g = (tuple(sorted({getattr(r, name) for r in rows})) for name in PARAMS)
    return StudyRecord(
        settings={"target_flops": TARGET, "w": -0.07, "baseline": "tiny", "policy": "efficientnet",
                  "rungs": [list(r) for r in rungs]},
        axes=(a, b, g),
        candidates=tuple(rows),
        networks=tuple(Network(n, f"proxy{n}", spec, tuple(m)) for n, m in sorted(networks.items())),
        baseline_spec=spec, baseline_flops=1000, created="2026-11-23T00:00:00+0000",
    )


def run(seed: int, accuracy: float, status: RunStatus = RunStatus.OK, reused: str | None = None,
        seconds: float = 1.0) -> SeedRun:
    history = (accuracy / 2, accuracy) if status is not RunStatus.DIVERGED else ()
    return SeedRun(ProxyResult(status, accuracy, history=history, seconds=seconds, seed=seed), reused)


class _Attrs:
    """Collects set_user_attr calls, to turn a TrialRecord into create_trial's user_attrs."""

    def __init__(self) -> None:
        self.user_attrs: dict[str, object] = {}

    def set_user_attr(self, key: str, value: object) -> None:
        self.user_attrs[key] = value


def trial(record: StudyRecord, candidate: int, seeds: Sequence[int], runs: Sequence[SeedRun] = (), *,
          state: TrialState = TrialState.COMPLETE, rung: int = 0,
          seed_param: bool = True) -> optuna.trial.FrozenTrial:
    """A trial as a worker would have left it: params, record, value (for COMPLETE)."""
    c = record.candidates[candidate]
    attrs = _Attrs()
    TrialRecord(c.index, c.network, tuple(seeds), rung, "test", tuple(runs)).write(attrs, c)
    params: dict[str, object] = dict(zip(PARAMS, c.triple, strict=True))
    dists: dict[str, optuna.distributions.BaseDistribution] = {
        name: CategoricalDistribution(axis) for name, axis in zip(PARAMS, record.axes, strict=True)}
    if seed_param:
        params[SEED_PARAM] = seeds[0]
        dists[SEED_PARAM] = IntDistribution(0, 4)
    ok = [r.accuracy for r in runs if r.status is RunStatus.OK]
    value = (sum(ok) / len(ok) if ok else 0.0) if state == TrialState.COMPLETE else None
    return optuna.trial.create_trial(state=state, params=params, distributions=dists, user_attrs=attrs.user_attrs,
                                     value=None if value is None or math.isnan(value) else value)
