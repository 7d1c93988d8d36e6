"""Which torch device a name means, and which devices this machine has.

Training (``--device``) and latency measurement (``--latency-device``) resolve names alike; they live on
different layers of the package (train, measure), so the check lives here, below both.
"""

from __future__ import annotations

import torch

from scalesearch.core.errors import UsageError

DEVICE_FORMS = "auto, cpu, cuda, cuda:N or mps"


def _mps_available() -> bool:
    return getattr(torch.backends, "mps", None) is not None and torch.backends.mps.is_available()


def present_devices() -> list[str]:
    """The device names usable here: 'cpu', then 'cuda:0'.. for each visible GPU, then 'mps'."""
    out = ["cpu"]
    if torch.cuda.is_available():
        out += [f"cuda:{i}" for i in range(torch.cuda.device_count())]
    if _mps_available():
        out.append("mps")
    return out


def resolve_device(name: str = "auto") -> torch.device:
    """``auto`` picks CUDA, then MPS, then CPU. An explicit device that is not there is a UsageError whose
    one line names the devices that are."""
    name = name.strip().lower()
    if name == "auto":
        if torch.cuda.is_available():
            return torch.device("cuda")
        if _mps_available():
            return torch.device("mps")
        return torch.device("cpu")
    try:
        device = torch.device(name)
    except RuntimeError:
        raise UsageError(f"device {name!r}: use {DEVICE_FORMS}") from None
    here = f"devices here: {', '.join(present_devices())}"
    if device.type == "cuda":
        if not torch.cuda.is_available():
            raise UsageError(f"device {name!r}: this torch build sees no CUDA GPU; {here}")
        if device.index is not None and device.index >= torch.cuda.device_count():
            raise UsageError(f"device {name!r}: only {torch.cuda.device_count()} CUDA device(s) visible; {here}")
    elif device.type == "mps":
        if not _mps_available():
            raise UsageError(f"device {name!r}: MPS is not available here; {here}")
    elif device.type != "cpu":
        raise UsageError(f"device {name!r}: use {DEVICE_FORMS}")
    return device
