"""What one proxy training run produces: its status and its result, as plain values (no torch).

The trainer (``scalesearch.train``) returns a ``ProxyResult``; the search stores it in the study
(``scalesearch.core.record``) and the proxy-run cache; the ranking (``scalesearch.core.ranking``) reads it back.
Keeping the type here, below all three, lets each of them use it without importing the others.
"""

from __future__ import annotations

import dataclasses
import math
from dataclasses import dataclass
from enum import StrEnum
from typing import Any

from scalesearch.core.jsonio import json_object


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
    history: tuple[float, ...] = ()  # validation top-1 after each evaluated epoch
    history_epochs: tuple[int, ...] = ()  # the epoch of each history entry; () when every epoch was evaluated
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
        object.__setattr__(self, "history_epochs", tuple(int(e) for e in self.history_epochs))
        object.__setattr__(self, "loss_history", tuple(float(a) for a in self.loss_history))

    @property
    def curve(self) -> tuple[tuple[int, float], ...]:
        """(epoch, validation top-1) for each evaluated epoch."""
        epochs = self.history_epochs or tuple(range(1, len(self.history) + 1))
        return tuple(zip(epochs, self.history, strict=False))

    @property
    def training_speed(self) -> float:
        """The training speed estimate (Ru et al., NeurIPS 2021): the sum of the per-epoch training losses.
        Lower is better; it ranks architectures well from the first epochs and costs nothing to record.
        NaN when no epoch finished or a loss was not finite."""
        total = sum(self.loss_history)
        return total if self.loss_history and math.isfinite(total) else math.nan

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready: the status as its string, non-finite numbers as None; ``history_epochs`` only when not every
        epoch was evaluated (a record of every epoch reads as it always has)."""
        out = json_object(dataclasses.asdict(self))
        if not self.history_epochs:
            out.pop("history_epochs", None)
        return out

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


class BadResult(ValueError):
    """A stored result that is not one this version wrote: the message names the field (``accuracy``)."""

    def __init__(self, field: str, problem: str) -> None:
        self.field, self.problem = field, problem
        super().__init__(f"{field!r} {problem}")


REQUIRED = ("status", "accuracy", "epochs_run", "seed")  # what every stored result has held since the first format


def checked_result(data: Any) -> ProxyResult:
    """The ProxyResult a stored mapping (``to_dict``'s, read back from a study or the proxy-run cache) holds,
    every field checked: present where required, of its type, in its range (an accuracy is a fraction in
    [0, 1], finite). BadResult naming the first wrong field, never a result that could be ranked wrongly."""
    if not isinstance(data, dict):
        raise BadResult("result", f"is {type(data).__name__}, not a mapping")
    for name in REQUIRED:
        if data.get(name) is None:
            raise BadResult(name, "is missing")
    if data["status"] not in {s.value for s in RunStatus}:
        raise BadResult("status", f"is {data['status']!r}, not one of {', '.join(s.value for s in RunStatus)}")
    history = _sequence(data, "history")
    fractions = [("accuracy", data["accuracy"]), *((f"history[{i}]", a) for i, a in enumerate(history))]
    for name, value in fractions:
        if not _finite(value) or not 0.0 <= value <= 1.0:
            raise BadResult(name, f"is {value!r}, not a fraction in [0, 1]")
    epochs = _sequence(data, "history_epochs")
    if epochs and (len(epochs) != len(history) or any(isinstance(e, bool) or not isinstance(e, int) for e in epochs)
                   or any(b <= a for a, b in zip([0, *epochs], epochs, strict=False))):
        raise BadResult("history_epochs", f"is {epochs!r}, not one increasing epoch >= 1 per history entry")
    for i, value in enumerate(_sequence(data, "loss_history")):
        if value is not None and not _real(value):
            raise BadResult(f"loss_history[{i}]", f"is {value!r}, not a number")
    for name in ("loss", "val_loss"):
        if data.get(name) is not None and not _real(data[name]):
            raise BadResult(name, f"is {data[name]!r}, not a number")
    for name in ("seconds", "images_per_second", "proxy_width"):
        if name in data and (not _finite(data[name]) or data[name] < 0):
            raise BadResult(name, f"is {data[name]!r}, not a number >= 0")
    for name in ("epochs_run", "seed", "peak_memory_bytes", "proxy_resolution", "proxy_params", "threads"):
        if name in data and (isinstance(data[name], bool) or not isinstance(data[name], int) or data[name] < 0):
            raise BadResult(name, f"is {data[name]!r}, not an integer >= 0")
    for name in ("peak_memory_kind", "proxy_key", "device", "message"):
        if name in data and not isinstance(data[name], str):
            raise BadResult(name, f"is {data[name]!r}, not text")
    return ProxyResult.from_dict(data)


def _sequence(data: dict[str, Any], name: str) -> list[Any]:
    value = data.get(name)
    if value is None:
        return []
    if not isinstance(value, list):
        raise BadResult(name, f"is {type(value).__name__}, not a list")
    return value


def _real(value: Any) -> bool:
    return isinstance(value, (int, float)) and not isinstance(value, bool)


def _finite(value: Any) -> bool:
    return _real(value) and math.isfinite(value)
