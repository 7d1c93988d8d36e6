"""What one proxy training run produces: its status and its result, as plain values (no torch).

The trainer (``scalesearch.train``) returns a ``ProxyResult``; the search stores it in the study
(``scalesearch.record``) and the proxy-run cache; the ranking (``scalesearch.ranking``) reads it back.
Keeping the type here, below all three, lets each of them use it without importing the others.
"""

from __future__ import annotations

import dataclasses
import math
from dataclasses import dataclass
from enum import StrEnum
from typing import Any

from scalesearch.jsonio import json_safe


class RunStatus(StrEnum):
    """How a proxy run ended. Only OK runs have an accuracy that ranks; PRUNED runs stopped early on
    purpose (their accuracy is the last epoch's); DIVERGED and OOM runs report 0.0."""

    OK = "ok"
    DIVERGED = "diverged"
    OOM = "oom"
    PRUNED = "pruned"

    @property
    def complete(self) -> bool:
        """A run that went as far as it was going to: worth caching and reusing (not a pruned one)."""
        return self is not RunStatus.PRUNED


@dataclass(frozen=True)
class ProxyResult:
    """One proxy run. ``accuracy`` is the final validation top-1 (a fraction): the last epoch's for OK and
    PRUNED, 0.0 for DIVERGED and OOM, whose ``message`` says what happened. ``peak_memory_bytes`` is CUDA's
    max allocated tensor memory on CUDA, else the process's peak RSS (``peak_memory_kind``). Non-finite
    losses (a diverged run) are stored as NaN here and written as null."""

    status: RunStatus
    accuracy: float
    loss: float = math.nan  # mean training loss of the last epoch run
    val_loss: float = math.nan
    history: tuple[float, ...] = ()  # validation top-1 after each epoch
    loss_history: tuple[float, ...] = ()  # mean training loss of each epoch
    epochs_run: int = 0
    seconds: float = 0.0  # wall time of the whole run: build, data, training, evaluation
    images_per_second: float = 0.0  # training images per second of training steps
    peak_memory_bytes: int = 0
    peak_memory_kind: str = ""
    proxy_resolution: int = 0
    proxy_width: float = 0.0
    proxy_params: int = 0
    proxy_key: str = ""  # architecture_key() of the trained network
    device: str = ""
    threads: int = 0
    seed: int = 0
    message: str = ""

    def __post_init__(self) -> None:
        object.__setattr__(self, "status", RunStatus(self.status))
        object.__setattr__(self, "history", tuple(float(a) for a in self.history))
        object.__setattr__(self, "loss_history", tuple(float(a) for a in self.loss_history))

    @property
    def training_speed(self) -> float:
        """The training speed estimate (Ru et al., NeurIPS 2021): the sum of the per-epoch training losses.
        Lower is better; it ranks architectures well from the first epochs and costs nothing to record.
        NaN when no epoch finished or a loss was not finite."""
        total = sum(self.loss_history)
        return total if self.loss_history and math.isfinite(total) else math.nan

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready: the status as its string, non-finite numbers as None."""
        return json_safe(dataclasses.asdict(self))

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> ProxyResult:
        """Read what ``to_dict`` wrote (unknown keys are ignored, so older or newer records still read)."""
        names = {f.name for f in dataclasses.fields(cls)}
        values = {k: v for k, v in data.items() if k in names}
        for k in ("loss", "val_loss"):
            if values.get(k) is None:
                values[k] = math.nan
        if values.get("accuracy") is None:
            values["accuracy"] = 0.0
        values["history"] = tuple(a for a in (values.get("history") or ()) if a is not None)
        values["loss_history"] = tuple(math.nan if a is None else a for a in (values.get("loss_history") or ()))
        return cls(**values)

