"""What ``train_proxy(progress=...)`` reports while a run goes: three small frozen records, in this order.

One ``RunStarted``, then per epoch some ``StepDone`` and one ``EpochDone``. A consumer dispatches on the
type (``isinstance`` or ``match``), so a renamed field fails at the attribute, not as a silent missing key.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class RunStarted:
    """The proxy is built and its data is on the device; training starts next."""

    epochs: int
    steps_per_epoch: int
    batch_size: int  # the batch actually used (the config's, capped at the number of training images)
    resolution: int  # proxy input pixels
    params: int  # the proxy network's parameters
    device: str
    threads: int


@dataclass(frozen=True)
class StepDone:
    """A training step whose loss was read back: every step on the CPU, every 25th and the last of each epoch
    on an accelerator (reading a loss there stalls the device, so most steps are not reported)."""

    epoch: int  # 1-based
    step: int  # 1-based within the epoch
    steps: int  # steps per epoch
    loss: float  # this step's training loss
    images_per_second: float  # training images per second of training steps so far in the run


@dataclass(frozen=True)
class EpochDone:
    """An epoch finished and was evaluated (after BN recalibration). Not sent for an epoch that diverged."""

    epoch: int  # 1-based
    epochs: int
    loss: float  # mean training loss over the epoch
    val_accuracy: float  # validation top-1, a fraction
    val_loss: float
    images_per_second: float  # training images per second of training steps so far in the run


ProgressEvent = RunStarted | StepDone | EpochDone
