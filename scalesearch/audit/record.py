"""What audit.json holds, as typed records: ``AuditRecord.to_dict()`` writes the file, ``from_dict()`` reads it
back (the fields in the file's order; a NaN written as null reads back as None)."""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass
from typing import Any

from scalesearch.core.errors import ScaleSearchError
from scalesearch.core.stats import Interval


class AuditFormatError(ScaleSearchError):
    """audit.json does not hold an audit record of the format this version writes."""


def _plain(value: Any) -> Any:
    """A field's JSON shape: records as dicts (their own to_dict), tuples as lists."""
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        to_dict = getattr(value, "to_dict", None)
        return to_dict() if callable(to_dict) else {f.name: _plain(getattr(value, f.name))
                                                    for f in dataclasses.fields(value)}
    if isinstance(value, (list, tuple)):
        return [_plain(v) for v in value]
    if isinstance(value, dict):
        return {k: _plain(v) for k, v in value.items()}
    return value


class _Plain:
    """``to_dict``: every field in order, nested records and tuples made plain; ``from_dict``: the flat case."""

    def to_dict(self) -> dict[str, Any]:
        """Every field, but one added later (default None) that is None: files of earlier audits read and write
        back unchanged."""
        return {f.name: _plain(getattr(self, f.name)) for f in dataclasses.fields(self)  # type: ignore[arg-type]  # a mixin: its subclasses are the dataclasses
                if not (f.default is None and getattr(self, f.name) is None)}

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> Any:
        return cls(**d)


@dataclass(frozen=True)
class AuditSettings(_Plain):
    """The audit's own fidelity and bootstrap ("config" in audit.json)."""

    sample: int
    seeds: int
    epochs: int
    proxy_width: float
    resamples: int
    bootstrap_seed: int
    data: str | None
    train_subset: int | None = None  # images per run (None: all; audit.json files before this field: all)
    val_subset: int | None = None


@dataclass(frozen=True)
class StudyFidelity(_Plain):
    """The study's final rung, which the audit is compared with."""

    rung: int
    epochs: int
    seeds: int
    proxy_width: float
    ranked_networks: int
    train_subset: int | None = None
    val_subset: int | None = None


COMPUTE_RULE = ("training multiply-adds per network (fvcore count of the proxy x epochs x training images), audit / "
                "final rung, mean over the sample")
NOMINAL_RULE = "epochs x proxy width^2 x training images, audit / final rung"
MEASURED_RULE = "training seconds x torch threads, audit / final rung"


@dataclass(frozen=True)
class Compute(_Plain):
    """The audit's compute per run over the final rung's: counted, nominal and measured."""

    ratio: float
    rule: str
    nominal_ratio: float
    nominal_rule: str
    measured_ratio: float | None
    measured_rule: str
    study_seconds_per_run: float | None
    study_threads: float | None
    audit_thread_seconds_per_run: float | None


@dataclass(frozen=True)
class AuditedNetwork(_Plain):
    """One network of the sample: its place in the study and its results in the audit."""

    network: int
    alpha: float
    beta: float
    gamma: float
    reference: str | None
    study_rank: int
    study_rung: int
    study_score: float | None
    study_accuracy: float | None
    rung0_accuracy: float | None
    rung0_training_speed: float | None
    leader: bool
    audit_accuracies: dict[int, float]  # seed -> accuracy (OK runs); audit.json keys the seeds as strings
    audit_accuracy: float | None
    audit_score: float | None
    audit_rank: int | None
    audit_status: tuple[str, ...]  # every run's status, in the order run

    def to_dict(self) -> dict[str, Any]:
        return {**super().to_dict(), "audit_accuracies": {str(k): v for k, v in self.audit_accuracies.items()}}

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> AuditedNetwork:
        return cls(**{**d, "audit_accuracies": {int(k): v for k, v in d["audit_accuracies"].items()},
                      "audit_status": tuple(d["audit_status"])})


@dataclass(frozen=True)
class Correlations(_Plain):
    spearman: Interval
    kendall: Interval
    study_side: str = "the study's final ranking"
    audit_side: str = "mean score over the seeds"

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> Correlations:
        return cls(**{**d, "spearman": Interval(**d["spearman"]), "kendall": Interval(**d["kendall"])})


@dataclass(frozen=True)
class TopOne(_Plain):
    study: int | None  # the study's winner, when it is in the sample
    audit: int | None  # the audit's best
    agree: bool
    study_top_in_audit_leaders: bool


@dataclass(frozen=True)
class LeadersAgreement(_Plain):
    study: tuple[int, ...]
    audit: tuple[int, ...]
    agree: bool

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> LeadersAgreement:
        return cls(tuple(d["study"]), tuple(d["audit"]), d["agree"])


@dataclass(frozen=True)
class SeedNoise(_Plain):
    study: float | None
    audit: float | None
    unit: str = "accuracy (fraction), pooled seed std"


@dataclass(frozen=True)
class Signals(_Plain):
    """Rung-0 proxy accuracy and the training-speed estimate, each ranked against the audit's accuracy."""

    proxy_accuracy: float | None
    training_speed: float | None
    better: str | None  # "proxy_accuracy", "training_speed", "tie", or None when one is undefined
    against: str = "the audit's mean accuracy, at rung 0"


@dataclass(frozen=True)
class Machine(_Plain):
    device: str
    cpu: str
    gpu: str


@dataclass(frozen=True)
class AuditRecord(_Plain):
    """audit.json. ``lines`` are the verdict in plain words; ``headline`` the one the report's evidence list
    shows (the correlation, or why it means nothing)."""

    format: int
    study: str
    storage: str | None
    written: str
    config: AuditSettings
    study_fidelity: StudyFidelity
    compute: Compute
    sample: tuple[AuditedNetwork, ...]
    networks_compared: int
    correlations: Correlations
    top1: TopOne
    leaders: LeadersAgreement
    seed_noise: SeedNoise
    signals: Signals
    audit_accuracy_mean: float | None  # None: no network has an OK run (NaN before writing)
    audit_accuracy_median: float | None
    audit_accuracy_spread: float | None
    saturated: bool
    saturated_rule: str
    meaningful: bool
    wall_seconds: float
    machine: Machine
    lines: tuple[str, ...] = ()
    headline: str = ""

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> AuditRecord:
        """The record of an audit.json's content; AuditFormatError when a part is missing or of another shape."""
        try:
            return cls(**{
                **d, "config": AuditSettings.from_dict(d["config"]),
                "study_fidelity": StudyFidelity.from_dict(d["study_fidelity"]),
                "compute": Compute.from_dict(d["compute"]),
                "sample": tuple(AuditedNetwork.from_dict(s) for s in d["sample"]),
                "correlations": Correlations.from_dict(d["correlations"]), "top1": TopOne.from_dict(d["top1"]),
                "leaders": LeadersAgreement.from_dict(d["leaders"]), "seed_noise": SeedNoise.from_dict(d["seed_noise"]),
                "signals": Signals.from_dict(d["signals"]), "machine": Machine.from_dict(d["machine"]),
                "lines": tuple(d["lines"])})
        except (KeyError, TypeError, AttributeError, ValueError) as exc:
            raise AuditFormatError(f"not an audit record: {exc!r}") from None
