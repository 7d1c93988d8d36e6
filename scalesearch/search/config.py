"""SearchConfig: every setting of one search, its fingerprint and its default study name.

Settings split in two. Those that change what a trial computes or how it is scored (baseline, grid,
constraint, data, proxy training, seeds, sampler, pruner, target, w) form the *fingerprint*: a study keeps
it, and a resumed or joining run must match it. Those that only change where and how fast the work runs
(workers, devices, storage, output folder, caches, heartbeat timing) may differ between runs of one study.
"""

from __future__ import annotations

import dataclasses
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from scalesearch.core.builderspec import parse_reference
from scalesearch.core.decision import RaceSettings
from scalesearch.core.errors import FieldError
from scalesearch.core.grid import CONSTRAINTS, DEFAULT_ALPHA, DEFAULT_BETA, DEFAULT_GAMMA, DEFAULT_TOLERANCE
from scalesearch.core.racing import MAX_ROUNDS
from scalesearch.core.record import fingerprint
from scalesearch.core.settings import (
    DEFAULT_BASELINE,
    DEFAULT_CONSTRAINT,
    DEFAULT_COST,
    DEFAULT_DATA,
    DEFAULT_POLICY,
    DEFAULT_PROMOTE,
    DEFAULT_REFERENCES,
    DEFAULT_RUNG_PAIRS,
    DEFAULT_SEED_BASE,
    DEFAULT_W,
    MAX_SEED,
    Pruner,
    Sampler,
    StudySettings,
    check_marked,
    runtime_fields,
    runtime_setting,
    study_fields,
    study_setting,
)
from scalesearch.core.strategies import STRATEGIES
from scalesearch.core.units import COST_UNITS
from scalesearch.measure import LatencyConfig
from scalesearch.search.runcache import run_scope, trained_settings
from scalesearch.search.schedule import Rung, Schedule, check_rungs
from scalesearch.train import ProxyConfig

SAMPLERS = tuple(s.value for s in Sampler)
PRUNERS = tuple(p.value for p in Pruner)
# Successive halving on the default task (docs/search.md, "The default task"): every network 10 epochs x 2 seeds,
# then the leading half and the reference strategies 20 epochs x 2 seeds, at batch 32.
DEFAULT_RUNGS = tuple(Rung(e, s) for e, s in DEFAULT_RUNG_PAIRS)
# The default task has 300 training images: at the training default of batch 128 an epoch is 2 SGD steps,
# and 15-epoch runs (30 steps) stalled on some seeds. At batch 32 (9 steps an epoch) 10 epochs cost about
# what 15 did at 128 and the leading networks' rung-0 seeds agree to about a point (docs/search.md).
DEFAULT_BATCH = 32
# Proxy fields that set where a run executes, not what it computes: left out of fingerprints and caches
# (marked runtime_setting in ProxyConfig).
RUNTIME_PROXY_FIELDS = runtime_fields(ProxyConfig)


def _rung_pairs(rungs: tuple[Rung, ...]) -> tuple[tuple[int, int], ...]:
    return tuple((r.epochs, r.seeds) for r in rungs)


@dataclass(frozen=True)
class SearchConfig:
    """One search: what `scalesearch grid` runs (the grid sampler by default, or TPE/random search).
    ``target_flops`` None means twice the baseline's fvcore
    multiply-adds (the phi = 1 target); T only scales every score by the same factor, never the ranking.
    ``cost`` picks what the score charges (flops, activations, params or latency, measured as ``latency``
    says); ``target`` is then T in that cost's unit (None: twice the baseline's)."""

    # -- study settings: stored with the study, in its fingerprint (core.settings.StudySettings) -----------
    target_flops: int | None = study_setting(None, resolved=True)  # stored resolved (T)
    cost: str = study_setting(DEFAULT_COST, resolved=True)  # stored with its resolved target and unit unless flops
    target: float | None = study_setting(None, resolved=True)
    # how latency is timed when cost is latency (None: LatencyConfig()); stored as the machine it was timed on
    latency: LatencyConfig | None = study_setting(None, resolved=True)
    w: float = study_setting(DEFAULT_W)
    baseline: str = study_setting(DEFAULT_BASELINE)
    # a builder baseline's input size in px (None: the builder's image_size attribute); stored only when set
    image_size: int | None = study_setting(None)
    policy: str = study_setting(DEFAULT_POLICY)
    alpha: str = study_setting(DEFAULT_ALPHA)
    beta: str = study_setting(DEFAULT_BETA)
    gamma: str = study_setting(DEFAULT_GAMMA)
    tolerance: float = study_setting(DEFAULT_TOLERANCE)
    constraint: str = study_setting(DEFAULT_CONSTRAINT)
    data: str = study_setting(DEFAULT_DATA)
    # stored as proxy_settings(): its study fields but the epochs
    proxy: ProxyConfig = study_setting(default_factory=lambda: ProxyConfig(batch_size=DEFAULT_BATCH), resolved=True)
    # epochs x seeds per successive-halving rung; proxy.epochs is ignored
    rungs: tuple[Rung, ...] = study_setting(DEFAULT_RUNGS, store=_rung_pairs)
    promote: float = study_setting(DEFAULT_PROMOTE)  # fraction of a rung's networks trained again next rung
    references: tuple[str, ...] = study_setting(DEFAULT_REFERENCES)  # named strategies evaluated beside the grid
    sampler: Sampler = study_setting(Sampler.GRID)  # a string is taken too (turned into the member)
    pruner: Pruner = study_setting(Pruner.NONE)
    dedup: bool = study_setting(True)  # train each distinct proxy network once (off only to measure what it saves)
    # the trainer gets seed = seed_base + seed index (data order, augmentation, training subset, model init);
    # the indices (trial records, rungs, pairing) stay 0, 1, ...; stored only when not 0
    seed_base: int = study_setting(DEFAULT_SEED_BASE)
    # the race among the last rung's leaders (core.decision): stored only when not the default race
    race: RaceSettings = study_setting(default_factory=RaceSettings, store=RaceSettings.stored)
    # -- runtime only ------------------------------------------------------------------------------
    # the trial budget of tpe/random (trials of the sweep stage): a rerun may extend the same study
    n_trials: int | None = runtime_setting(None)
    study: str | None = runtime_setting(None)
    storage: str | None = runtime_setting(None)  # an Optuna RDB URL; None: SQLite under out/study/
    out: Path = runtime_setting(Path("results"))
    workers: int | None = runtime_setting(None)  # None: 2 on a CPU with >= 2 cores, one per GPU when several
    devices: str | None = runtime_setting(None)  # comma list, one per worker in turn; None: the proxy's
    cache: bool = runtime_setting(True)  # reuse proxy results across studies (keyed by architecture)
    cache_path: Path | None = runtime_setting(None)  # None: proxy.sqlite in $SCALESEARCH_CACHE_DIR
    heartbeat_interval: int = runtime_setting(10)  # seconds between a running trial's heartbeats
    grace_period: int = runtime_setting(60)  # a trial without a heartbeat this long is failed and re-queued
    poll_seconds: float = runtime_setting(2.0)

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
        need(self.image_size is None or (isinstance(self.image_size, int) and not isinstance(self.image_size, bool)
                                         and self.image_size >= 8), "image_size",
             "must be an integer number of pixels >= 8")
        need(self.constraint in CONSTRAINTS, "constraint", f"choose {', '.join(CONSTRAINTS)}")
        need(self.sampler in SAMPLERS, "sampler", f"choose one of {', '.join(SAMPLERS)}")
        need(self.pruner in PRUNERS, "pruner", f"choose one of {', '.join(PRUNERS)}")
        object.__setattr__(self, "sampler", Sampler(self.sampler))
        object.__setattr__(self, "pruner", Pruner(self.pruner))
        check_rungs(tuple(self.rungs))
        need(isinstance(self.seed_base, int) and not isinstance(self.seed_base, bool) and self.seed_base >= 0,
             "seed_base", "must be an integer >= 0 (the trainer gets seed base + seed index)")
        top = MAX_SEED - (max(r.seeds for r in self.rungs) + MAX_ROUNDS - 1)  # the race's seeds come after
        need(self.seed_base <= top, "seed_base", f"must be at most {top:,} (the last seed trained, seed base + "
             f"seed index, must fit a 32-bit seed, {MAX_SEED:,})")
        need(0 < self.promote < 1, "promote", "must lie strictly between 0 and 1 (e.g. 0.3: the leading 30%)")
        unknown = [r for r in self.references if r not in STRATEGIES and not r.startswith("dwr:")]
        need(not unknown, "references", f"unknown strategy {unknown[:1]}; known: {', '.join(STRATEGIES)}")
        need(self.workers is None or self.workers >= 1, "workers", "must be >= 1")
        need(self.n_trials is None or self.n_trials >= 1, "n_trials", "must be >= 1")
        need(self.sampler is Sampler.GRID or self.n_trials is not None, "n_trials",
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
        """The proxy fields that change a trained result (its study settings). The epochs are a rung's; with
        ``rung`` None they are left out (the rungs are a setting of their own)."""
        if rung is None:
            out = trained_settings(self.proxy)
            out.pop("epochs")
            return out
        return trained_settings(self.proxy, self.rungs[rung].epochs)

    def run_scope(self, rung: int) -> dict[str, Any]:
        """The proxy-run cache's scope of a rung's runs (search.runcache.run_scope): a result is reusable only
        at the same epochs (rung 0 of a 3-epoch search and a single-rung 3-epoch search share their entries)
        and the same seed base (seed index k of a study with --seed-base 1000 is another run than index k)."""
        return run_scope(self.data, self.proxy, self.rungs[rung].epochs, seed_base=self.seed_base)

    @property
    def latency_config(self) -> LatencyConfig | None:
        """How candidates are timed: only when the score's cost is latency."""
        return (self.latency or LatencyConfig()) if self.cost == "latency" else None

    def settings(self, baseline_key: str, target_flops: int, cost: dict[str, Any] | None = None) -> dict[str, Any]:
        """The fingerprinted settings, JSON-ready: every field marked study, as StudySettings stores it.
        ``baseline_key`` pins the baseline's structure, so two files named alike but different are told apart;
        ``target_flops`` is the resolved T. ``cost`` holds the cost's settings (cost, target, cost_unit, latency:
        the machine) when the cost is not FLOPs: a FLOPs search keeps the fingerprint it always had."""
        return self.study_settings(baseline_key, target_flops, cost).to_stored()

    def study_settings(self, baseline_key: str, target_flops: int, cost: dict[str, Any] | None = None
                       ) -> StudySettings:
        """The typed form of ``settings``. A new record format gets a new default study name (RECORD_FORMAT is
        stored), so an old study is never half-read."""
        extra = {"cost": DEFAULT_COST, "target": None, "latency": None, **(cost or {})}
        return StudySettings.from_config(self, baseline_architecture=baseline_key, target_flops=target_flops,
                                         proxy=self.proxy_settings(), **extra)

    def study_name(self, settings: dict[str, Any]) -> str:
        if self.study:
            return self.study
        ref = parse_reference(self.baseline)  # a builder: its function's name
        base = re.sub(r"[^A-Za-z0-9._-]+", "-", ref.function if ref else Path(self.baseline).stem)[:40]
        data = re.sub(r"[^A-Za-z0-9._-]+", "-", self.data.split(":")[0])
        return f"{base}-{data}-{fingerprint(settings)[:8]}"

    def study_dir(self, name: str) -> Path:
        return Path(self.out) / name


check_marked(SearchConfig)
check_marked(ProxyConfig)


def stored_proxy(settings: StudySettings, **changes: Any) -> ProxyConfig:
    """The proxy a study trained with (its stored study settings; a key missing takes ProxyConfig's default),
    with ``changes`` (the epochs, which the rungs hold, and whatever a caller sets anew)."""
    names = set(study_fields(ProxyConfig))
    kept = {k: v for k, v in settings.proxy.items() if k in names and k not in changes}
    return ProxyConfig(**kept, **changes)


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
