"""GridConfig: every setting of one search, its fingerprint and its default study name.

Settings split in two. Those that change what a trial computes or how it is scored (baseline, grid,
constraint, data, proxy training, seeds, sampler, pruner, target, w) form the *fingerprint*: a study keeps
it, and a resumed or joining run must match it. Those that only change where and how fast the work runs
(workers, devices, storage, output folder, caches, heartbeat timing) may differ between runs of one study.
"""

from __future__ import annotations

import dataclasses
import hashlib
import json
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from scalesearch.errors import UsageError
from scalesearch.search.space import CONSTRAINTS, DEFAULT_ALPHA, DEFAULT_BETA, DEFAULT_GAMMA, DEFAULT_TOLERANCE
from scalesearch.train import DEFAULT_DATA, ProxyConfig

SAMPLERS = ("grid", "tpe", "random")
PRUNERS = ("none", "median", "hyperband")
DEFAULT_W = -0.07  # MnasNet/EfficientNet's soft-constraint exponent
DEFAULT_BASELINE = "efficientnet-b0"
# Proxy fields that set where a run executes, not what it computes: left out of fingerprints and caches.
RUNTIME_PROXY_FIELDS = ("device", "threads", "workers", "compile", "eval_batch_size")


@dataclass(frozen=True)
class GridConfig:
    """One `scalesearch grid` invocation. ``target_flops`` None means twice the baseline's fvcore
    multiply-adds (the phi = 1 target); T only scales every score by the same factor, never the ranking."""

    target_flops: int | None = None
    w: float = DEFAULT_W
    baseline: str = DEFAULT_BASELINE
    policy: str = "efficientnet"
    alpha: str = DEFAULT_ALPHA
    beta: str = DEFAULT_BETA
    gamma: str = DEFAULT_GAMMA
    tolerance: float = DEFAULT_TOLERANCE
    constraint: str = "formula"
    data: str = DEFAULT_DATA
    proxy: ProxyConfig = field(default_factory=ProxyConfig)
    seeds: int = 1  # seeds per candidate in the sweep
    confirm: int = 5  # leading distinct networks that get extra seeds after the sweep (0: none)
    confirm_seeds: int = 3  # total seeds of each confirmed network
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
        def need(ok: bool, message: str) -> None:
            if not ok:
                raise UsageError(message)

        need(self.target_flops is None or self.target_flops > 0, f"--target-flops {self.target_flops}: must be > 0")
        need(-1 <= self.w <= 1, f"--w {self.w}: must lie in [-1, 1] (the paper uses -0.07)")
        need(self.constraint in CONSTRAINTS, f"--constraint {self.constraint!r}: choose {', '.join(CONSTRAINTS)}")
        need(self.sampler in SAMPLERS, f"--sampler {self.sampler!r}: choose one of {', '.join(SAMPLERS)}")
        need(self.pruner in PRUNERS, f"--pruner {self.pruner!r}: choose one of {', '.join(PRUNERS)}")
        need(self.seeds >= 1, f"--seeds {self.seeds}: must be >= 1")
        need(self.confirm >= 0, f"--confirm {self.confirm}: must be >= 0")
        need(self.confirm_seeds >= 1, f"--confirm-seeds {self.confirm_seeds}: must be >= 1")
        need(self.workers is None or self.workers >= 1, f"--workers {self.workers}: must be >= 1")
        need(self.n_trials is None or self.n_trials >= 1, f"--n-trials {self.n_trials}: must be >= 1")
        need(self.sampler == "grid" or self.n_trials is not None,
             f"--sampler {self.sampler} needs --n-trials N (the budget); the grid sampler runs every candidate")
        need(self.study is None or bool(re.fullmatch(r"[A-Za-z0-9][A-Za-z0-9._-]*", self.study)),
             f"--study {self.study!r}: use letters, digits, '.', '_' and '-' (it names a folder)")
        need(self.heartbeat_interval >= 1 and self.grace_period > self.heartbeat_interval,
             "heartbeat: the grace period must exceed the interval")

    @property
    def total_seeds(self) -> int:
        """Seeds the leading networks end up with."""
        return max(self.seeds, self.confirm_seeds) if self.confirm else self.seeds

    def proxy_settings(self) -> dict[str, Any]:
        """The proxy fields that change a trained result (device and thread count do not, materially)."""
        out = dataclasses.asdict(self.proxy)
        for k in RUNTIME_PROXY_FIELDS:
            out.pop(k, None)
        return out

    def settings(self, baseline_key: str, target_flops: int) -> dict[str, Any]:
        """The fingerprinted settings, JSON-ready. ``baseline_key`` pins the baseline's structure, so two
        files named alike but different are told apart; ``target_flops`` is the resolved T."""
        return {
            "baseline": self.baseline, "baseline_architecture": baseline_key, "policy": self.policy,
            "alpha": self.alpha, "beta": self.beta, "gamma": self.gamma, "tolerance": self.tolerance,
            "constraint": self.constraint, "data": self.data, "proxy": self.proxy_settings(),
            "seeds": self.seeds, "confirm": self.confirm, "confirm_seeds": self.confirm_seeds,
            "sampler": self.sampler, "pruner": self.pruner, "dedup": self.dedup,
            "target_flops": target_flops, "w": self.w,
        }

    def study_name(self, settings: dict[str, Any]) -> str:
        if self.study:
            return self.study
        base = re.sub(r"[^A-Za-z0-9._-]+", "-", Path(self.baseline).stem)[:40]
        data = re.sub(r"[^A-Za-z0-9._-]+", "-", self.data.split(":")[0])
        return f"{base}-{data}-{fingerprint(settings)[:8]}"

    def study_dir(self, name: str) -> Path:
        return Path(self.out) / name


def fingerprint(settings: dict[str, Any]) -> str:
    blob = json.dumps(settings, sort_keys=True, separators=(",", ":"), default=str)
    return hashlib.sha256(blob.encode()).hexdigest()


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
