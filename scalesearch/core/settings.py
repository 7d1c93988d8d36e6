"""The stored study settings: which config fields enter a study's fingerprint, and their typed read-back.

Every field of a settings dataclass (``SearchConfig``, ``ProxyConfig``) is marked one way or the other:

- ``study_setting(...)``: it changes what a trial computes or how it is scored, so it is stored with the study and
  enters its fingerprint (and, for a proxy field, the proxy-run cache's scope);
- ``runtime_setting(...)``: it only changes where and how fast the work runs, and may differ between runs of one study.

``check_marked`` refuses a dataclass with an unmarked field, so a new field cannot silently drop out of the
fingerprint. ``StudySettings`` is the one typed form of what a study stores: ``from_config`` builds it from the
config's study fields (refusing one it does not hold), ``to_stored`` writes the JSON dict the study keeps (in
the form every earlier study of this record format has, so the same settings give the same fingerprint), and
``from_stored`` reads one back, a key missing taking the config's default from this module. Torch-free.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable, Iterable, Mapping
from dataclasses import MISSING, dataclass, field
from enum import StrEnum
from typing import Any

from scalesearch.core.errors import ScaleSearchError
from scalesearch.core.grid import DEFAULT_ALPHA, DEFAULT_BETA, DEFAULT_GAMMA, DEFAULT_TOLERANCE
from scalesearch.core.strategies import STRATEGIES

RECORD_FORMAT = 3  # 1: the first release (params idx/seed); 2: sweep + confirm stages; 3: rungs, references
KIND = "scalesearch.setting"  # the field metadata key of the mark
STUDY, RUNTIME = "study", "runtime"
STORE = "scalesearch.store"  # metadata: how a study field's value is stored (default: as it is)
RESOLVED = "scalesearch.resolved"  # metadata: stored as the plan resolves it (e.g. T), given to from_config


class SettingsError(ScaleSearchError):
    """A settings dataclass whose fields are not all marked, or marked study but not stored: a programming
    error, raised when the module that defines the class is imported."""


class Sampler(StrEnum):
    """grid: every candidate; tpe and random: a budget of --n-trials drawn from the axes' box."""

    GRID = "grid"
    TPE = "tpe"
    RANDOM = "random"


class Pruner(StrEnum):
    NONE = "none"
    MEDIAN = "median"
    HYPERBAND = "hyperband"


# The defaults of the study settings: SearchConfig's defaults, and what a stored key missing reads as.
DEFAULT_W = -0.07  # MnasNet/EfficientNet's soft-constraint exponent
DEFAULT_BASELINE = "efficientnet-b0"
DEFAULT_POLICY = "efficientnet"
DEFAULT_CONSTRAINT = "formula"
DEFAULT_DATA = "digits-300"
DEFAULT_COST = "flops"
# Successive halving on the default task (docs/search.md, "The default task"): every network 10 epochs x 2 seeds,
# then the leading half and the reference strategies 20 epochs x 2 seeds, at batch 32.
DEFAULT_RUNG_PAIRS: tuple[tuple[int, int], ...] = ((10, 2), (20, 2))
# The leading networks of the default task lie within about a point of each other at 20 epochs: promoting
# only 30% compares near-ties (rung-to-rung Spearman 0.64-0.66 on two runs); half spans enough of the
# ranking for the check to mean something (0.78 on the same rung-0 results), for ~2.5 more minutes.
DEFAULT_PROMOTE = 0.5
DEFAULT_REFERENCES = tuple(STRATEGIES)
# The trainer is called with seed = seed base + seed index; 0 (every study before --seed-base) is not stored.
DEFAULT_SEED_BASE = 0
# The largest seed a run is trained with: a signed 32-bit int, which every RNG in the stack (torch, numpy's
# legacy seeding, Python's random) takes, so a seed base is checked against it with the seeds the study needs.
MAX_SEED = 2**31 - 1


def study_setting(default: Any = MISSING, *, default_factory: Any = MISSING, store: Callable[[Any], Any] | None = None,
          resolved: bool = False) -> Any:
    """A dataclass field that is a study setting. ``store``: how its value is stored (e.g. Rung -> [e, s]);
    ``resolved``: stored as the caller resolves it (StudySettings.from_config takes it as an argument)."""
    meta: dict[str, Any] = {KIND: STUDY, RESOLVED: resolved}
    if store is not None:
        meta[STORE] = store
    return field(default=default, default_factory=default_factory, metadata=meta)


def runtime_setting(default: Any = MISSING, *, default_factory: Any = MISSING) -> Any:
    """A dataclass field that only says where and how fast the work runs: never stored, never in a cache key."""
    return field(default=default, default_factory=default_factory, metadata={KIND: RUNTIME})


def unmarked(cls: type) -> list[str]:
    """The fields of dataclass ``cls`` marked neither study nor runtime."""
    return [f.name for f in dataclasses.fields(cls) if f.metadata.get(KIND) not in (STUDY, RUNTIME)]


def check_marked(cls: type) -> None:
    """Refuse a settings dataclass with a field marked neither study nor runtime."""
    missing = unmarked(cls)
    if missing:
        raise SettingsError(f"{cls.__name__}: field(s) {', '.join(missing)} marked neither study_setting(...) nor "
                            "runtime_setting(...) (scalesearch.core.settings): say whether each enters the study's "
                            "fingerprint")


def study_fields(cls: type) -> tuple[str, ...]:
    return tuple(f.name for f in dataclasses.fields(cls) if f.metadata.get(KIND) == STUDY)


def runtime_fields(cls: type) -> tuple[str, ...]:
    return tuple(f.name for f in dataclasses.fields(cls) if f.metadata.get(KIND) == RUNTIME)


def _pairs(value: Iterable[Any]) -> tuple[tuple[int, int], ...]:
    return tuple((int(e), int(s)) for e, s in value)


@dataclass(frozen=True, kw_only=True)
class StudySettings:
    """What a study stores as its settings, typed. The field order is the stored order. ``cost``, ``target``,
    ``cost_unit`` and ``latency`` are stored only for a cost other than FLOPs (a FLOPs study keeps the
    fingerprint it always had), ``seed_base`` only when not 0; ``target`` None means T is ``target_flops``.
    ``proxy``: the proxy's study fields but the epochs (the rungs hold those), as stored; a key missing there
    takes ProxyConfig's default."""

    cost: str = DEFAULT_COST
    target: float | None = None
    cost_unit: str | None = None
    latency: Mapping[str, Any] | None = None  # the machine a latency cost was timed on
    baseline: str = DEFAULT_BASELINE
    image_size: int | None = None  # a builder baseline's input size in px (None: its own, or a spec's resolution)
    baseline_architecture: str | None = None
    policy: str = DEFAULT_POLICY
    alpha: str = DEFAULT_ALPHA
    beta: str = DEFAULT_BETA
    gamma: str = DEFAULT_GAMMA
    tolerance: float = DEFAULT_TOLERANCE
    constraint: str = DEFAULT_CONSTRAINT
    data: str = DEFAULT_DATA
    proxy: Mapping[str, Any] = field(default_factory=dict)
    rungs: tuple[tuple[int, int], ...] = DEFAULT_RUNG_PAIRS
    promote: float = DEFAULT_PROMOTE
    references: tuple[str, ...] = DEFAULT_REFERENCES
    sampler: Sampler = Sampler.GRID
    pruner: Pruner = Pruner.NONE
    dedup: bool = True
    seed_base: int = DEFAULT_SEED_BASE  # stored only when not 0, so every earlier study keeps its fingerprint
    # the race after the last rung (core.decision.RaceSettings.stored): stored only when not the default race
    race: Mapping[str, Any] | None = None
    target_flops: int
    w: float = DEFAULT_W
    record_format: int = RECORD_FORMAT

    @property
    def cost_target(self) -> float:
        """T in the unit of ``cost``."""
        return float(self.target) if self.target is not None else float(self.target_flops)

    @classmethod
    def from_config(cls, config: Any, **resolved: Any) -> StudySettings:
        """The settings of ``config`` (a dataclass whose fields are all marked): each study field as its
        ``store`` says, the ``resolved`` ones (and the keys that are no config field, such as
        ``baseline_architecture``) as given. A study field this class does not hold, or a resolved one not
        given, is refused: it would drop out of the fingerprint."""
        check_marked(type(config))
        names = {f.name for f in dataclasses.fields(cls)}
        values: dict[str, Any] = {}
        for f in dataclasses.fields(config):
            if f.metadata.get(KIND) != STUDY:
                continue
            if f.name not in names:
                raise SettingsError(f"{type(config).__name__}.{f.name} is a study setting that StudySettings does "
                                    "not store: add it there")
            if f.metadata.get(RESOLVED):
                if f.name not in resolved:
                    raise SettingsError(f"{type(config).__name__}.{f.name} is stored as resolved: pass it")
                continue
            store = f.metadata.get(STORE)
            value = getattr(config, f.name)
            values[f.name] = store(value) if store is not None else value
        unknown = sorted(set(resolved) - names)
        if unknown:
            raise SettingsError(f"StudySettings has no field {', '.join(unknown)}")
        return cls._typed({**values, **resolved})

    @classmethod
    def from_stored(cls, stored: Mapping[str, Any]) -> StudySettings:
        """The settings a study stored (StudyRecord.settings): a key missing reads as the default above, and
        a key this class does not know is ignored."""
        names = {f.name for f in dataclasses.fields(cls)}
        return cls._typed({k: v for k, v in stored.items() if k in names})

    @classmethod
    def _typed(cls, values: Mapping[str, Any]) -> StudySettings:
        v = dict(values)
        for key, make in (("sampler", Sampler), ("pruner", Pruner), ("rungs", _pairs), ("references", tuple),
                          ("proxy", dict), ("target_flops", int)):
            if key in v:
                v[key] = make(v[key])
        if v.get("latency") is not None:
            v["latency"] = dict(v["latency"])
        return cls(**v)

    def to_stored(self) -> dict[str, Any]:
        """The JSON-ready dict a study keeps, in its stored order and form (lists for tuples, strings for
        enums). The cost's keys only for a cost other than FLOPs, ``latency`` only when timed, ``seed_base`` only
        when not 0."""
        out: dict[str, Any] = {}
        for f in dataclasses.fields(self):
            value = getattr(self, f.name)
            if f.name in ("cost", "target", "cost_unit") and self.cost == DEFAULT_COST:
                continue
            if f.name == "latency" and value is None:
                continue
            if f.name in ("baseline_architecture", "image_size") and value is None:
                continue
            if f.name == "seed_base" and value == DEFAULT_SEED_BASE:
                continue
            if f.name == "race" and value is None:
                continue
            if isinstance(value, StrEnum):
                value = value.value
            elif f.name == "rungs":
                value = [[e, s] for e, s in value]
            elif isinstance(value, tuple):
                value = list(value)
            elif isinstance(value, Mapping):
                value = dict(value)
            out[f.name] = value
        return out
