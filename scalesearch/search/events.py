"""What a search tells its display while it works: small typed events (the CLI draws them)."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Training:
    """A worker starts training ``network`` (a proxy group) for ``seed``."""

    network: int
    seed: int


@dataclass(frozen=True)
class Epoch:
    network: int
    seed: int
    epoch: int
    accuracy: float  # validation top-1 after this epoch, a fraction


@dataclass(frozen=True)
class Trained:
    network: int
    seed: int
    status: str
    accuracy: float


@dataclass(frozen=True)
class Waiting:
    """Another trial is training this (network, seed) right now; this one waits for its result."""

    network: int
    seed: int


@dataclass(frozen=True)
class Idle:
    """Only other workers' trials remain; this worker polls the study."""


@dataclass(frozen=True)
class TrialDone:
    pass


@dataclass(frozen=True)
class Ended:
    """The search stopped (finished, interrupted or failed)."""


Event = Training | Epoch | Trained | Waiting | Idle | TrialDone | Ended
