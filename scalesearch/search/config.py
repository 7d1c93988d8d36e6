"""SearchConfig: every setting of one search, its fingerprint and its default study name.

Settings split in two. Those that change what a trial computes or how it is scored (baseline, grid,
constraint, data, proxy training, seeds, sampler, pruner, target, w) form the *fingerprint*: a study keeps
it, and a resumed or joining run must match it. Those that only change where and how fast the work runs
(workers, devices, storage, output folder, caches, heartbeat timing) may differ between runs of one study.
"""

from __future__ import annotations

import dataclasses
import re
from dataclasses import dataclass, field
from enum import StrEnum
from pathlib import Path
from typing import Any

from scalesearch.core.errors import FieldError
from scalesearch.core.grid import CONSTRAINTS, DEFAULT_ALPHA, DEFAULT_BETA, DEFAULT_GAMMA, DEFAULT_TOLERANCE
from scalesearch.core.record import RECORD_FORMAT, fingerprint
from scalesearch.core.strategies import STRATEGIES
from scalesearch.core.units import COST_UNITS
from scalesearch.measure import LatencyConfig
from scalesearch.search.schedule import Rung, Schedule, check_rungs
from scalesearch.train import DEFAULT_DATA, ProxyConfig


class Sampler(StrEnum):
    """grid: every candidate; tpe and random: a budget of --n-trials drawn from the axes' box."""

    GRID = "grid"
    TPE = "tpe"
    RANDOM = "random"


class Pruner(StrEnum):
    NONE = "none"
    MEDIAN = "median"
    HYPERBAND = "hyperband"


SAMPLERS = tuple(s.value for s in Sampler)
PRUNERS = tuple(p.value for p in Pruner)
DEFAULT_W = -0.07  # MnasNet/EfficientNet's soft-constraint exponent
DEFAULT_BASELINE = "efficientnet-b0"
# Proxy fields that set where a run executes, not what it computes: left out of fingerprints and caches.
RUNTIME_PROXY_FIELDS = ("device", "threads", "workers", "compile", "eval_batch_size")
# Successive halving on the default task (docs/search.md, "The default task"): every network 10 epochs x 2 seeds,
# then the leading half and the reference strategies 20 epochs x 2 seeds, at batch 32.
DEFAULT_RUNGS = (Rung(10, 2), Rung(20, 2))
# The default task has 300 training images: at the training default of batch 128 an epoch is 2 SGD steps,
# and 15-epoch runs (30 steps) stalled on some seeds. At batch 32 (9 steps an epoch) 10 epochs cost about
# what 15 did at 128 and the leading networks' rung-0 seeds agree to about a point (docs/search.md).
DEFAULT_BATCH = 32
# The leading networks of the default task lie within about a point of each other at 20 epochs: promoting
# only 30% compares near-ties (rung-to-rung Spearman 0.64-0.66 on two runs); half spans enough of the
# ranking for the check to mean something (0.78 on the same rung-0 results), for ~2.5 more minutes.
DEFAULT_PROMOTE = 0.5


@dataclass(frozen=True)
class SearchConfig:
    """One search: what `scalesearch grid` runs (the grid sampler by default, or TPE/random search).
    ``target_flops`` None means twice the baseline's fvcore
    multiply-adds (the phi = 1 target); T only scales every score by the same factor, never the ranking.
    ``cost`` picks what the score charges (flops, activations, params or latency, measured as ``latency``
    says); ``target`` is then T in that cost's unit (None: twice the baseline's)."""

    target_flops: int | None = None
    cost: str = "flops"
    target: float | None = None
    latency: LatencyConfig | None = None  # how latency is timed when cost is latency (None: LatencyConfig())
    w: float = DEFAULT_W
    baseline: str = DEFAULT_BASELINE
    policy: str = "efficientnet"
    alpha: str = DEFAULT_ALPHA
    beta: str = DEFAULT_BETA
    gamma: str = DEFAULT_GAMMA
    tolerance: float = DEFAULT_TOLERANCE
    constraint: str = "formula"
    data: str = DEFAULT_DATA
    proxy: ProxyConfig = field(default_factory=lambda: ProxyConfig(batch_size=DEFAULT_BATCH))
    rungs: tuple[Rung, ...] = DEFAULT_RUNGS  # epochs x seeds per successive-halving rung; proxy.epochs is ignored
    promote: float = DEFAULT_PROMOTE  # fraction of a rung's ranked networks trained again at the next rung
    references: tuple[str, ...] = tuple(STRATEGIES)  # named strategies evaluated beside the grid
    sampler: str = "grid"
    n_trials: int | None = None  # budget for tpe/random (trials of the sweep stage)
    pruner: str = "none"
    dedup: bool = True  # train each distinct proxy network once (off only to measure what it saves)
    # -- runtime only ------------------------------------------------------------------------------
    study: str | None = None
    storage: str | None = None  # an Optuna RDB URL; None: SQLite under out/study/
    out: Path = Path("results")
    workers: int | None = None  # None: 2 on a CPU with >= 2 cores, one per GPU when several
    devices: str | None = None  # comma list of devices, one per worker in turn; None: the proxy's device
    cache: bool = True  # reuse proxy results across studies (persistent cache keyed by the architecture)
    cache_path: Path | None = None  # None: proxy.sqlite in $SCALESEARCH_CACHE_DIR (~/.cache/scalesearch)
    heartbeat_interval: int = 10  # seconds between a running trial's heartbeats
    grace_period: int = 60  # a trial without a heartbeat this long is failed and re-queued
    poll_seconds: float = 2.0

    def __post_init__(self) -> None:
        def need(ok: bool, name: str, problem: str) -> None:
            if not ok:
                raise FieldError(name, getattr(self, name), problem)

        need(self.target_flops is None or self.target_flops > 0, "target_flops", "must be > 0")
        need(self.cost in COST_UNITS, "cost", f"choose one of {', '.join(COST_UNITS)}")
        need(self.target is None or self.target > 0, "target", "must be > 0")
        need(self.cost == "flops" or self.target_flops is None, "target_flops",
             f"sets T for the flops cost; with cost {self.cost}, set target instead (in {COST_UNITS[self.cost]})")
        need(self.cost != "flops" or self.target is None or self.target_flops is None, "target",
             "and target_flops both set T: give one")
        need(-1 <= self.w <= 1, "w", "must lie in [-1, 1] (the paper uses -0.07)")
        need(self.constraint in CONSTRAINTS, "constraint", f"choose {', '.join(CONSTRAINTS)}")
        need(self.sampler in SAMPLERS, "sampler", f"choose one of {', '.join(SAMPLERS)}")
        need(self.pruner in PRUNERS, "pruner", f"choose one of {', '.join(PRUNERS)}")
        check_rungs(tuple(self.rungs))
        need(0 < self.promote < 1, "promote", "must lie strictly between 0 and 1 (e.g. 0.3: the leading 30%)")
        unknown = [r for r in self.references if r not in STRATEGIES and not r.startswith("dwr:")]
        need(not unknown, "references", f"unknown strategy {unknown[:1]}; known: {', '.join(STRATEGIES)}")
        need(self.workers is None or self.workers >= 1, "workers", "must be >= 1")
        need(self.n_trials is None or self.n_trials >= 1, "n_trials", "must be >= 1")
        need(self.sampler == "grid" or self.n_trials is not None, "n_trials",
             "required by the tpe and random samplers (the trial budget; the grid sampler runs every candidate)")
        need(self.study is None or bool(re.fullmatch(r"[A-Za-z0-9][A-Za-z0-9._-]*", self.study)), "study",
             "use letters, digits, '.', '_' and '-' (it names a folder)")
        need(self.heartbeat_interval >= 1 and self.grace_period > self.heartbeat_interval, "grace_period",
             "the heartbeat grace period must exceed the interval")

    @property
    def schedule(self) -> Schedule:
        """The settings that decide what work there is (search.schedule)."""
        return Schedule(sampler=self.sampler, rungs=tuple(self.rungs), promote=self.promote, n_trials=self.n_trials)

    def replace(self, **changes: Any) -> SearchConfig:
        return dataclasses.replace(self, **changes)

    def proxy_settings(self, rung: int | None = None) -> dict[str, Any]:
        """The proxy fields that change a trained result (device and thread count do not, materially). The
        epochs are a rung's; with ``rung`` None they are left out (the rungs are a setting of their own)."""
        out = dataclasses.asdict(self.proxy)
        for k in RUNTIME_PROXY_FIELDS:
            out.pop(k, None)
        if rung is None:
            out.pop("epochs")
        else:
            out["epochs"] = self.rungs[rung].epochs
        return out

    @property
    def latency_config(self) -> LatencyConfig | None:
        """How candidates are timed: only when the score's cost is latency."""
        return (self.latency or LatencyConfig()) if self.cost == "latency" else None

    def settings(self, baseline_key: str, target_flops: int, cost: dict[str, Any] | None = None) -> dict[str, Any]:
        """The fingerprinted settings, JSON-ready. ``baseline_key`` pins the baseline's structure, so two
        files named alike but different are told apart; ``target_flops`` is the resolved T. ``cost`` holds
        the cost's settings (cost, target, unit, the latency machine) when the cost is not FLOPs: a FLOPs
        search keeps the fingerprint it always had."""
        return {**(cost or {}),
            "baseline": self.baseline, "baseline_architecture": baseline_key, "policy": self.policy,
            "alpha": self.alpha, "beta": self.beta, "gamma": self.gamma, "tolerance": self.tolerance,
            "constraint": self.constraint, "data": self.data, "proxy": self.proxy_settings(),
            "rungs": [[r.epochs, r.seeds] for r in self.rungs], "promote": self.promote,
            "references": list(self.references),
            "sampler": self.sampler, "pruner": self.pruner, "dedup": self.dedup,
            "target_flops": target_flops, "w": self.w,
            # A new study layout gets a new default study name, so an old study is never half-read.
            "record_format": RECORD_FORMAT,
        }

    def study_name(self, settings: dict[str, Any]) -> str:
        if self.study:
            return self.study
        base = re.sub(r"[^A-Za-z0-9._-]+", "-", Path(self.baseline).stem)[:40]
        data = re.sub(r"[^A-Za-z0-9._-]+", "-", self.data.split(":")[0])
        return f"{base}-{data}-{fingerprint(settings)[:8]}"

    def study_dir(self, name: str) -> Path:
        return Path(self.out) / name


def settings_diff(stored: dict[str, Any], current: dict[str, Any]) -> list[str]:
    """Human-readable differences, e.g. ["proxy.epochs: 3 (study) vs 5 (now)"]."""
    out: list[str] = []
    for key in sorted(set(stored) | set(current)):
        a, b = stored.get(key), current.get(key)
        if isinstance(a, dict) and isinstance(b, dict):
            out += [f"{key}.{d}" for d in settings_diff(a, b)]
        elif a != b:
            out.append(f"{key}: {a!r} (study) vs {b!r} (now)")
    return out
