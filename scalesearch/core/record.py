"""The study record: what a search stores in its Optuna study, with one read/write pair per record.

This module is the only one that spells a stored key. A study holds:

- ``StudyRecord`` (study user attrs, written once when the study is created, plus the list of
  invocations): the fingerprinted settings, the grid axes, every candidate's measured facts, the trained
  networks (proxy groups) and the baseline.
- ``TrialRecord`` (trial user attrs): which candidate and network the trial trains, its seeds, its rung,
  the worker, and one ``SeedRun`` per finished seed, which says whether the result was trained here or
  reused (from another trial or the proxy-run cache).

Trials are readable by Optuna's own tools (optuna-dashboard, ``optuna.visualization``,
``study.trials_dataframe()``): the params are ``alpha``, ``beta``, ``gamma`` (and ``seed`` where each
seed is its own trial), the value is the candidate's score, intermediate values are per-epoch validation
accuracy, and the facts people filter on are plain user attrs (``accuracy``, ``flops``, ``params``,
``activations``, ``group``, ``network``, ``rung``, ``reference``, ``status``, ``feasible``,
``training_speed``).

Torch-free and Optuna-free: records read from anything with ``user_attrs``/``params`` (a FrozenTrial, a
Trial, a Study) and write through ``set_user_attr``.
"""

from __future__ import annotations

import dataclasses
import hashlib
import json
import math
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from enum import StrEnum
from typing import Any, Protocol, TypeVar

from scalesearch.core.builderspec import AnySpec, network_from_dict, network_to_dict
from scalesearch.core.errors import ScaleSearchError, SearchError, StorageError
from scalesearch.core.jsonio import json_object, json_safe
from scalesearch.core.runs import BadResult, ProxyResult, RunStatus, checked_result
from scalesearch.core.settings import RECORD_FORMAT, StudySettings
from scalesearch.core.spec import preview
from scalesearch.core.units import COST_UNITS

PARAMS = ("alpha", "beta", "gamma")  # trial params, one per coefficient
SEED_PARAM = "seed"  # a trial param only where each seed is its own trial (the grid sampler)


class HasAttrs(Protocol):
    @property
    def user_attrs(self) -> dict[str, Any]: ...


class Writable(Protocol):
    def set_user_attr(self, key: str, value: Any) -> None: ...


class ReadWritable(HasAttrs, Writable, Protocol):
    """A study whose attrs are read and written (an Optuna study)."""


class TrialStatus(StrEnum):
    """The ``status`` user attr of a trial: a run status, or INFEASIBLE for a sampled point that is no
    candidate (tpe/random draw from the whole box; such trials are pruned at once and train nothing)."""

    OK = "ok"
    DIVERGED = "diverged"
    OOM = "oom"
    PRUNED = "pruned"
    INFEASIBLE = "infeasible"


# -- the study --------------------------------------------------------------------------------------

@dataclass(frozen=True)
class CandidateRow:
    """One coefficient triple at phi = 1, built and measured: the facts every view shows. FLOPs are fvcore
    multiply-adds of the full candidate at its deployment resolution, batch 1."""

    index: int
    alpha: float
    beta: float
    gamma: float
    product: float  # alpha * beta^2 * gamma^2
    depth_achieved: float  # layers / baseline layers, after rounding
    width_achieved: float
    resolution_achieved: float
    layers: int
    resolution_px: int
    proxy_resolution_px: int
    flops: int
    params: int
    activations: int
    flops_ratio: float  # flops / the baseline's
    group: int  # collapse group: same full network at the same resolution
    network: int  # the trained proxy network (index into StudyRecord.networks)
    architecture: str
    proxy_architecture: str
    baseline: bool = False
    feasible: bool = True  # False only for the baseline when (1, 1, 1) is outside the band
    reference: str = ""  # the named strategies (scalesearch.core.strategies) this point is, "+"-joined; "" for none
    latency_ms: float | None = None  # measured median latency, when the search's cost is latency

    @property
    def triple(self) -> tuple[float, float, float]:
        return (self.alpha, self.beta, self.gamma)

    def cost(self, kind: str = "flops") -> float:
        """The candidate's cost of one kind (units.COST_UNITS): flops, activations, params or latency (ms)."""
        value = {"flops": self.flops, "activations": self.activations, "params": self.params,
                 "latency": self.latency_ms}.get(kind)
        if value is None:
            raise SearchError(f"candidate {self.index} has no {kind} cost (the study measured no latency)"
                              if kind == "latency" else f"unknown cost {kind!r}")
        return float(value)

    def to_dict(self) -> dict[str, Any]:
        return json_object(self.__dict__)

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> CandidateRow:
        return cls(**data)


@dataclass(frozen=True)
class Network:
    """A distinct proxy network: the unit that is trained, once per seed, for every candidate mapped to it."""

    index: int
    proxy_key: str
    spec: AnySpec  # a full candidate; the trainer derives the proxy from it
    members: tuple[int, ...]  # candidate indexes

    def to_dict(self) -> dict[str, Any]:
        return {"index": self.index, "proxy_key": self.proxy_key, "spec": network_to_dict(self.spec),
                "members": list(self.members)}

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> Network:
        return cls(int(data["index"]), str(data["proxy_key"]), network_from_dict(data["spec"]),
                   tuple(data["members"]))


@dataclass(frozen=True)
class Invocation:
    """One run of the search command against the study (a resumed search has several)."""

    finished_at: str
    seconds: float
    workers: int
    interrupted: bool

    def to_dict(self) -> dict[str, Any]:
        return json_object(self.__dict__)


@dataclass(frozen=True)
class StudyRecord:
    settings: dict[str, Any]  # the fingerprinted settings (SearchConfig.settings)
    axes: tuple[tuple[float, ...], tuple[float, ...], tuple[float, ...]]  # choices of alpha, beta, gamma
    candidates: tuple[CandidateRow, ...]  # baseline first
    networks: tuple[Network, ...]
    baseline_spec: AnySpec
    baseline_flops: int
    created: str
    invocations: tuple[Invocation, ...] = ()
    _triples: dict[tuple[float, float, float], CandidateRow] = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        object.__setattr__(self, "_triples", {c.triple: c for c in self.candidates})

    @property
    def fingerprint(self) -> str:
        return fingerprint(self.settings)

    @property
    def target_flops(self) -> int:
        return int(self.settings["target_flops"])

    @property
    def w(self) -> float:
        return float(self.settings["w"])

    @property
    def rungs(self) -> tuple[tuple[int, int], ...]:
        """(epochs, seeds) of each successive-halving rung, cheapest first."""
        return tuple((int(e), int(s)) for e, s in self.settings.get("rungs", ()))

    @property
    def study_settings(self) -> StudySettings:
        """The settings, typed (a key missing reads as the search's default)."""
        return StudySettings.from_stored(self.settings)

    @property
    def cost(self) -> str:
        """What the score charges: flops (studies made before costs were a choice), activations, params, latency."""
        return self.study_settings.cost

    @property
    def target(self) -> float:
        """T of the score in the unit of ``cost`` (multiply-adds, activations, parameters or ms)."""
        return self.study_settings.cost_target

    def candidate_at(self, triple: tuple[float, float, float]) -> CandidateRow | None:
        a, b, g = triple
        return self._triples.get((float(a), float(b), float(g)))

    def write(self, study: Writable) -> None:
        """Write everything but the invocations (add_invocation appends those). The settings go last: a
        study whose settings are stored is complete, so a machine joining while another one creates the
        study (``stored_settings``) never reads half a record."""
        study.set_user_attr(_FORMAT, RECORD_FORMAT)
        study.set_user_attr(_AXES, [list(a) for a in self.axes])
        study.set_user_attr(_CANDIDATES, [c.to_dict() for c in self.candidates])
        study.set_user_attr(_NETWORKS, [n.to_dict() for n in self.networks])
        study.set_user_attr(_BASELINE_SPEC, network_to_dict(self.baseline_spec))
        study.set_user_attr(_BASELINE_FLOPS, int(self.baseline_flops))
        study.set_user_attr(_CREATED, self.created)
        study.set_user_attr(_FINGERPRINT, self.fingerprint)
        study.set_user_attr(_SETTINGS, json_safe(self.settings))

    @classmethod
    def read(cls, study: HasAttrs, name: str = "") -> StudyRecord:
        """The record of a study made by this version. A first-release study (params ``idx``) or a study
        made by another tool is refused with one line saying what to do."""
        attrs = study.user_attrs
        label = f"study {name!r}" if name else "the study"
        if attrs.get(_FORMAT) != RECORD_FORMAT:
            if "groups" in attrs:
                raise SearchError(f"{label} was written by scalesearch 0.1 (trial params idx/seed), which this "
                                  "version does not read: rerun the search with another --study name or --out "
                                  "folder (the proxy-run cache makes the rerun fast)")
            if _CANDIDATES not in attrs:
                raise SearchError(f"{label} holds no scalesearch candidates (was it made by another tool?)")
            raise SearchError(f"{label} has record format {attrs.get(_FORMAT)!r} (an earlier scalesearch), this "
                              f"version reads {RECORD_FORMAT}: rerun the search (the default study name changes "
                              "with the format; or pass another --study name)")
        return _read_checked(cls._checked, attrs, f"{label}: study record")

    @classmethod
    def _checked(cls, attrs: Mapping[str, Any]) -> StudyRecord:
        """The record, every stored field checked first (its presence, type and range), so that a damaged
        record is one line naming the field, never a traceback later in the ranking or a worker."""
        settings = _check_settings(_field(attrs, _SETTINGS))
        axes = _list(_field(attrs, _AXES), _AXES, length=3)

        def axis(i: int) -> tuple[float, ...]:
            return tuple(_number(v, f"{_AXES}[{i}][{j}]", positive=True)
                         for j, v in enumerate(_list(axes[i], f"{_AXES}[{i}]", minimum=1)))

        checked_axes = (axis(0), axis(1), axis(2))
        candidates = tuple(_row(c, f"{_CANDIDATES}[{i}]")
                           for i, c in enumerate(_list(_field(attrs, _CANDIDATES), _CANDIDATES, minimum=1)))
        networks = tuple(_network(n, f"{_NETWORKS}[{i}]")
                         for i, n in enumerate(_list(_field(attrs, _NETWORKS), _NETWORKS, minimum=1)))
        indexes, members = {n.index for n in networks}, {c.index for c in candidates}
        for i, c in enumerate(candidates):
            if c.network not in indexes:
                raise _Bad(f"{_CANDIDATES}[{i}].network", f"is {c.network}, which names no stored network")
        for i, n in enumerate(networks):
            if not set(n.members) <= members:
                raise _Bad(f"{_NETWORKS}[{i}].members", f"{sorted(set(n.members) - members)} name no candidate")
        invocations = tuple(_invocation(v, f"{_INVOCATIONS}[{i}]")
                            for i, v in enumerate(_list(attrs.get(_INVOCATIONS, []), _INVOCATIONS)))
        return cls(
            settings=settings, axes=checked_axes,
            candidates=candidates, networks=networks,
            baseline_spec=_spec(_field(attrs, _BASELINE_SPEC), _BASELINE_SPEC),
            baseline_flops=_integer(_field(attrs, _BASELINE_FLOPS), _BASELINE_FLOPS),
            created=_text(attrs.get(_CREATED, ""), _CREATED), invocations=invocations,
        )


def stored_settings(study: HasAttrs) -> dict[str, Any] | None:
    """The settings a study was made with; None for a study whose record is not (completely) written yet."""
    value = study.user_attrs.get(_SETTINGS)
    if value is None:
        return None
    if not isinstance(value, dict):  # not "not written yet": a damaged record, which must not be overwritten
        raise StorageError(f"{_label(study)}: study record: field {_SETTINGS!r} is {preview(value)}, not a "
                           f"mapping; {DAMAGED_ADVICE}")
    return dict(value)


def add_invocation(study: ReadWritable, invocation: Invocation) -> None:
    runs = list(study.user_attrs.get(_INVOCATIONS, []))
    runs.append(invocation.to_dict())
    study.set_user_attr(_INVOCATIONS, runs)


def fingerprint(settings: Mapping[str, Any]) -> str:
    blob = json.dumps(json_safe(settings), sort_keys=True, separators=(",", ":"))
    return hashlib.sha256(blob.encode()).hexdigest()


# -- a trial ----------------------------------------------------------------------------------------

@dataclass(frozen=True)
class SeedRun:
    """One seed's finished proxy run as a trial stores it. ``reused`` is None when this trial trained it,
    else where the result came from ("trial 12", "cache"): a reused copy is never counted twice."""

    result: ProxyResult
    reused: str | None = None

    @property
    def seed(self) -> int:
        return self.result.seed

    @property
    def status(self) -> RunStatus:
        return self.result.status

    @property
    def accuracy(self) -> float:
        return self.result.accuracy

    def to_dict(self) -> dict[str, Any]:
        return {**self.result.to_dict(), _REUSED: self.reused}

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> SeedRun:
        return cls(ProxyResult.from_dict(dict(data)), data.get(_REUSED))


@dataclass(frozen=True)
class TrialRecord:
    candidate: int
    network: int
    seeds: tuple[int, ...]
    rung: int = 0  # the successive-halving rung (scalesearch.search.schedule): 0 is every network's first
    worker: str = ""
    results: tuple[SeedRun, ...] = field(default=())

    def with_result(self, run: SeedRun) -> TrialRecord:
        return TrialRecord(self.candidate, self.network, self.seeds, self.rung, self.worker, (*self.results, run))

    def write(self, trial: Writable, row: CandidateRow) -> None:
        """Store the record and the plain facts people filter on (accuracy is the mean of the OK seeds)."""
        ok = [r.accuracy for r in self.results if r.status is RunStatus.OK]
        status = _trial_status(self.results)
        values: dict[str, Any] = {
            _CANDIDATE: self.candidate, _NETWORK: self.network, _SEEDS: list(self.seeds), _RUNG: self.rung,
            _WORKER: self.worker, _RESULTS: [r.to_dict() for r in self.results],
            "accuracy": sum(ok) / len(ok) if ok else None, "status": status,
            "flops": row.flops, "params": row.params, "activations": row.activations, "group": row.group,
            "feasible": row.feasible, "baseline": row.baseline, "reference": row.reference,
            "training_speed": _mean([r.result.training_speed for r in self.results if r.status is RunStatus.OK]),
        }
        for key, value in values.items():
            trial.set_user_attr(key, json_safe(value))

    @classmethod
    def read(cls, trial: HasAttrs) -> TrialRecord | None:
        """None for a trial that stored nothing yet (it died before its first write) or is infeasible."""
        attrs = trial.user_attrs
        if _CANDIDATE not in attrs or _SEEDS not in attrs:
            return None
        number = getattr(trial, "number", None)
        label = "a trial" if number is None else f"trial {number}"
        return _read_checked(cls._checked, attrs, f"{label}: trial record")

    @classmethod
    def _checked(cls, attrs: Mapping[str, Any]) -> TrialRecord:
        runs = []
        for i, stored in enumerate(_list(attrs.get(_RESULTS, []), _RESULTS)):
            try:
                result = checked_result(stored)
            except BadResult as exc:
                raise _Bad(f"{_RESULTS}[{i}].{exc.field}", exc.problem) from None
            reused = stored.get(_REUSED)
            runs.append(SeedRun(result, None if reused is None else _text(reused, f"{_RESULTS}[{i}].{_REUSED}")))
        seeds = _list(attrs[_SEEDS], _SEEDS, minimum=1)
        return cls(_integer(attrs[_CANDIDATE], _CANDIDATE), _integer(_field(attrs, _NETWORK), _NETWORK),
                   tuple(_integer(s, f"{_SEEDS}[{i}]") for i, s in enumerate(seeds)),
                   _integer(attrs.get(_RUNG, 0), _RUNG), _text(attrs.get(_WORKER, ""), _WORKER), tuple(runs))


def mark_infeasible(trial: Writable) -> None:
    trial.set_user_attr("status", TrialStatus.INFEASIBLE.value)
    trial.set_user_attr("feasible", False)


def is_infeasible(trial: HasAttrs) -> bool:
    return trial.user_attrs.get("status") == TrialStatus.INFEASIBLE.value


def network_runs(trials: Iterable[HasAttrs]) -> dict[int, dict[int, list[SeedRun]]]:
    """rung -> network -> every stored seed run, in trial order (duplicates and reused copies included:
    the ranking counts each seed once)."""
    out: dict[int, dict[int, list[SeedRun]]] = {}
    for t in trials:
        rec = TrialRecord.read(t)
        if rec is not None:
            out.setdefault(rec.rung, {}).setdefault(rec.network, []).extend(rec.results)
    return out


def _mean(values: list[float]) -> float | None:
    finite = [v for v in values if v == v]
    return sum(finite) / len(finite) if finite else None


def _trial_status(results: tuple[SeedRun, ...]) -> str | None:
    if not results:
        return None
    if any(r.status is RunStatus.OK for r in results):
        return TrialStatus.OK.value
    return next(s.value for s in (RunStatus.PRUNED, RunStatus.DIVERGED, RunStatus.OOM)
                if any(r.status is s for r in results))


# -- checking what is read back -------------------------------------------------------------------
# A record is read back from a database any tool (or a crash, or a hand) may have changed: every field is
# checked before use, and a bad one is one line naming it (StorageError, exit 4), never a traceback.

DAMAGED_ADVICE = ("the stored record is damaged: move the study folder aside (or, in a shared storage, pick another "
                  "--study name) and rerun the search; finished proxy runs come back from the proxy-run cache "
                  "(unless the search ran with --no-cache)")


class _Bad(Exception):
    """A stored field that is missing or wrong: ``where`` names it (``candidates[3].flops``)."""

    def __init__(self, where: str, problem: str) -> None:
        super().__init__(f"field {where!r} {problem}")


_R = TypeVar("_R")


def _read_checked(check: Callable[[Mapping[str, Any]], _R], attrs: Mapping[str, Any], what: str) -> _R:
    """``check(attrs)``, or StorageError in one line naming ``what`` and the damaged field (exit 4)."""
    try:
        return check(attrs)
    except _Bad as bad:
        raise StorageError(f"{what}: {bad}; {DAMAGED_ADVICE}") from None
    except (TypeError, ValueError, KeyError, AttributeError) as exc:  # a check missed: still one line
        raise StorageError(f"{what}: unreadable ({type(exc).__name__}: {exc}); {DAMAGED_ADVICE}") from None


def _label(study: object) -> str:
    name = getattr(study, "study_name", "")
    return f"study {name!r}" if name else "the study"


def _field(attrs: Mapping[str, Any], key: str, where: str = "") -> Any:
    if key not in attrs:
        raise _Bad(f"{where}{key}", "is missing")
    return attrs[key]


def _is_number(value: Any) -> bool:
    return isinstance(value, (int, float)) and not isinstance(value, bool) and math.isfinite(value)


def _number(value: Any, where: str, *, positive: bool = False) -> float:
    if not _is_number(value) or (positive and value <= 0):
        raise _Bad(where, f"is {preview(value)}, not a {'positive' if positive else 'finite'} number")
    return float(value)


def _integer(value: Any, where: str, minimum: int = 0) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or value < minimum:
        raise _Bad(where, f"is {preview(value)}, not an integer >= {minimum}")
    return value


def _text(value: Any, where: str) -> str:
    if not isinstance(value, str):
        raise _Bad(where, f"is {preview(value)}, not text")
    return value


def _flag(value: Any, where: str) -> bool:
    if not isinstance(value, bool):
        raise _Bad(where, f"is {preview(value)}, not true or false")
    return value


def _mapping(value: Any, where: str) -> Mapping[str, Any]:
    if not isinstance(value, Mapping):
        raise _Bad(where, f"is {preview(value)}, not a mapping")
    return value


def _list(value: Any, where: str, *, minimum: int = 0, length: int | None = None) -> list[Any]:
    if not isinstance(value, list) or len(value) < minimum or (length is not None and len(value) != length):
        size = f"of {length}" if length is not None else f"of {minimum} or more" if minimum else ""
        raise _Bad(where, f"is {preview(value)}, not a list {size}".rstrip())
    return value


def _optional(check: Callable[[Any, str], Any]) -> Callable[[Any, str], Any]:
    return lambda value, where: None if value is None else check(value, where)


# A stored field's check, by the annotation of its dataclass field (``from __future__ import annotations``
# makes them strings).
_BY_TYPE: dict[str, Callable[[Any, str], Any]] = {
    "int": _integer, "float": _number, "str": _text, "bool": _flag, "float | None": _optional(_number),
}


def _fields_of(cls: type, value: Any, where: str) -> dict[str, Any]:
    """The checked keyword arguments of dataclass ``cls`` from a stored mapping: each field present (unless it
    has a default) and of its type; no field it does not have."""
    data = _mapping(value, where)
    out = {}
    for f in dataclasses.fields(cls):
        if not f.init:
            continue
        if f.name not in data:
            if f.default is dataclasses.MISSING and f.default_factory is dataclasses.MISSING:
                raise _Bad(f"{where}.{f.name}", "is missing")
            continue
        out[f.name] = _BY_TYPE[str(f.type)](data[f.name], f"{where}.{f.name}")
    unknown = sorted(set(data) - {f.name for f in dataclasses.fields(cls)}, key=str)
    if unknown:
        raise _Bad(f"{where}.{unknown[0]}", "is not a field this version stores")
    return out


def _row(value: Any, where: str) -> CandidateRow:
    return CandidateRow(**_fields_of(CandidateRow, value, where))


def _invocation(value: Any, where: str) -> Invocation:
    return Invocation(**_fields_of(Invocation, value, where))


def _spec(value: Any, where: str) -> AnySpec:
    try:
        return network_from_dict(value)
    except ScaleSearchError as exc:
        raise _Bad(where, f"is not a network spec ({exc})") from None


def _network(value: Any, where: str) -> Network:
    data = _mapping(value, where)
    members = _list(_field(data, "members", where + "."), f"{where}.members", minimum=1)
    return Network(_integer(_field(data, "index", where + "."), f"{where}.index"),
                   _text(_field(data, "proxy_key", where + "."), f"{where}.proxy_key"),
                   _spec(_field(data, "spec", where + "."), f"{where}.spec"),
                   tuple(_integer(m, f"{where}.members[{i}]") for i, m in enumerate(members)))


# The settings a reader uses, with their check: target_flops and w always (the score), the rest when present.
_SETTING_CHECKS: dict[str, Callable[[Any, str], Any]] = {
    "baseline": _text, "image_size": lambda v, w: _integer(v, w, minimum=8),
    "policy": _text, "data": _text, "constraint": _text, "sampler": _text, "pruner": _text,
    "proxy": _mapping, "latency": _mapping, "tolerance": _number, "promote": _number,
    "target": lambda v, w: _number(v, w, positive=True),
}


def _check_settings(value: Any) -> dict[str, Any]:
    settings = dict(_mapping(value, _SETTINGS))
    _integer(_field(settings, "target_flops", _SETTINGS + "."), f"{_SETTINGS}.target_flops", minimum=1)
    _number(_field(settings, "w", _SETTINGS + "."), f"{_SETTINGS}.w")
    for key, check in _SETTING_CHECKS.items():
        if key in settings:
            check(settings[key], f"{_SETTINGS}.{key}")
    if "cost" in settings and settings["cost"] not in COST_UNITS:
        raise _Bad(f"{_SETTINGS}.cost", f"is {preview(settings['cost'])}, not one of {', '.join(COST_UNITS)}")
    for i, rung in enumerate(_list(settings.get("rungs", []), f"{_SETTINGS}.rungs")):
        for j, n in enumerate(_list(rung, f"{_SETTINGS}.rungs[{i}]", length=2)):
            _integer(n, f"{_SETTINGS}.rungs[{i}][{j}]", minimum=1)
    for i, name in enumerate(_list(settings.get("references", []), f"{_SETTINGS}.references")):
        _text(name, f"{_SETTINGS}.references[{i}]")
    return settings


# The stored keys. Nothing outside this module spells them.
_FORMAT, _SETTINGS, _FINGERPRINT, _AXES = "scalesearch_format", "settings", "fingerprint", "axes"
_CANDIDATES, _NETWORKS, _BASELINE_SPEC, _BASELINE_FLOPS = "candidates", "networks", "baseline_spec", "baseline_flops"
_CREATED, _INVOCATIONS = "created", "invocations"
_CANDIDATE, _NETWORK, _SEEDS, _RUNG, _WORKER, _RESULTS = "candidate", "network", "seeds", "rung", "worker", "results"
_REUSED = "reused"
