"""Measured latency: the full network's forward pass (or forward + backward) timed on one device.

Latency depends on the machine (CPU model, GPU, threads, other load, torch version): a figure is only
comparable with figures measured on the same machine, ideally in the same run. It is cached by
everything that changes it (see LatencyCache.key), never by the repeat count, which only sets precision.

How it is timed: the network is built on the device, converted to channels_last (the fast layout for
depthwise convolutions on CPU and tensor cores), run ``warmup`` times untimed (allocator, cuDNN autotune,
lazy init), then timed one pass at a time until ``repeats`` passes or ``budget_seconds`` (at least
``min_repeats`` passes), so a B7 at 600 px on a CPU costs seconds, not minutes. The result is the median
pass with the 10th-90th percentile spread: on a shared machine a mean is dragged by the slowest passes.
CUDA passes are timed by CUDA events on the stream (the host returns before the GPU finishes); MPS is
synchronised around each pass.
"""

from __future__ import annotations

import contextlib
import dataclasses
import os
import platform
import statistics
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import torch

from scalesearch.core import limits
from scalesearch.core.builderspec import AnySpec
from scalesearch.core.errors import FieldError
from scalesearch.nn import build
from scalesearch.nn.device import resolve_device

DTYPES = {"fp32": torch.float32, "bf16": torch.bfloat16, "fp16": torch.float16}
MODES = ("eval", "train")
MACHINE_NOTE = "latency depends on the machine: compare it only with latency measured on the same machine"


@dataclass(frozen=True)
class LatencyConfig:
    """How to time a network. ``threads`` None: torch's current intra-op thread count (stated in the result)."""

    device: str = "cpu"
    batch: int = 1
    dtype: str = "fp32"
    mode: str = "eval"  # eval: forward under no_grad; train: forward + backward of the summed logits
    channels_last: bool = True
    threads: int | None = None
    warmup: int = 2
    repeats: int = 20
    min_repeats: int = 5
    budget_seconds: float = 3.0

    def __post_init__(self) -> None:
        def need(ok: bool, name: str, problem: str) -> None:
            if not ok:
                raise FieldError(name, getattr(self, name), problem)

        def count(value: Any) -> bool:
            return isinstance(value, int) and not isinstance(value, bool)

        need(count(self.batch) and self.batch >= 1, "batch", "must be an integer >= 1")
        need(self.dtype in DTYPES, "dtype", f"choose one of {', '.join(DTYPES)}")
        need(self.mode in MODES, "mode", f"choose one of {', '.join(MODES)}")
        need(self.threads is None or (count(self.threads) and self.threads >= 1), "threads", "must be >= 1")
        need(count(self.warmup) and self.warmup >= 0, "warmup", "must be an integer >= 0")
        need(count(self.min_repeats) and self.min_repeats >= 1, "min_repeats", "must be an integer >= 1")
        need(count(self.repeats) and self.repeats >= self.min_repeats, "repeats", "must be >= min_repeats")
        need(self.budget_seconds > 0, "budget_seconds", "must be > 0")


@dataclass(frozen=True)
class Latency:
    """One network's measured latency, per pass of ``batch`` images, in milliseconds."""

    median_ms: float
    p10_ms: float
    p90_ms: float
    passes: int
    device: str  # the torch device, e.g. cpu or cuda:0
    device_name: str  # the CPU's or GPU's model string: what makes two figures comparable
    batch: int
    dtype: str
    mode: str
    channels_last: bool
    threads: int
    torch_version: str
    architecture: str
    resolution: int
    note: str = MACHINE_NOTE

    def to_dict(self) -> dict[str, Any]:
        return dataclasses.asdict(self)

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> Latency:
        return cls(**data)

    def describe(self) -> str:
        """'12.3 ms (p10-p90 11.9-13.0), batch 1 fp32 eval, 2 threads, AMD EPYC'."""
        return (f"{self.median_ms:.3g} ms (p10-p90 {self.p10_ms:.3g}-{self.p90_ms:.3g}), batch {self.batch} "
                f"{self.dtype} {self.mode}, {self.threads} thread(s), {self.device_name}")


def device_name(device: torch.device) -> str:
    """The model string of the device: GPU name, or the CPU model from /proc/cpuinfo (else platform)."""
    if device.type == "cuda":
        return torch.cuda.get_device_name(device)
    if device.type == "mps":
        return f"Apple MPS ({platform.machine()})"
    with contextlib.suppress(OSError):
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.lower().startswith("model name"):
                return line.split(":", 1)[1].strip()
    return platform.processor() or platform.machine() or "unknown CPU"


def _check_device_dtype(device: torch.device, dtype: str) -> None:
    if device.type == "cpu" and dtype == "fp16":
        raise FieldError("dtype", dtype, "fp16 needs an accelerator (cuda or mps); use fp32 or bf16 on the CPU")


@contextlib.contextmanager
def _threads(n: int | None) -> Iterator[int]:
    """Run with ``n`` intra-op threads (None: as set), putting the process's count back afterwards."""
    before = torch.get_num_threads()
    if n is not None and n != before:
        torch.set_num_threads(n)
    try:
        yield torch.get_num_threads()
    finally:
        if torch.get_num_threads() != before:
            torch.set_num_threads(before)


def _sync(device: torch.device) -> None:
    if device.type == "cuda":
        torch.cuda.synchronize(device)
    elif device.type == "mps":
        torch.mps.synchronize()


def _percentiles(samples: list[float]) -> tuple[float, float, float]:
    if len(samples) == 1:
        return samples[0], samples[0], samples[0]
    cuts = statistics.quantiles(samples, n=10, method="inclusive")
    return statistics.median(samples), cuts[0], cuts[-1]


def available_cores() -> int:
    """Cores this process may run on (respects taskset/cgroup affinity, unlike os.cpu_count)."""
    if hasattr(os, "sched_getaffinity"):
        return max(1, len(os.sched_getaffinity(0)))
    return max(1, os.cpu_count() or 1)


def where(config: LatencyConfig) -> tuple[torch.device, str, int]:
    """(device, its model string, the thread count a measurement would use): the machine part of a cache
    key, known before anything is timed. Refuses a device that is not present, fp16 on the CPU, and more
    threads than the cores this process may use (each thread takes a stack: 1,000 of them end in an
    allocation failure under a memory cap, and oversubscribed threads only time the contention)."""
    device = resolve_device(config.device)
    _check_device_dtype(device, config.dtype)
    cores = available_cores()
    if config.threads is not None and config.threads > cores:
        raise FieldError("threads", config.threads, f"more than the {cores} core(s) this process may use; give "
                         f"at most {cores}")
    return device, device_name(device), config.threads or torch.get_num_threads()


def check_fits(spec: AnySpec, config: LatencyConfig) -> None:
    """Refuse (SpecError, one line) timing ``spec`` at ``config.batch`` beyond the memory limits
    (scalesearch.core.limits: activation elements per image x batch, x3 in train mode), before anything is built."""
    limits.check_memory(spec, config.batch, training=config.mode == "train", doing="time")


def time_network(spec: AnySpec, config: LatencyConfig | None = None) -> Latency:
    """Time ``spec`` as ``config`` says, with no cache. A device that is not present is a one-line UsageError;
    a network and batch beyond the memory limits a one-line SpecError (see ``check_fits``)."""
    config = config or LatencyConfig()
    device, _, _ = where(config)
    check_fits(spec, config)
    with _threads(config.threads) as threads:
        model = build(spec, device=device)
        model.train(config.mode == "train")
        fmt = torch.channels_last if config.channels_last else torch.contiguous_format
        model = model.to(memory_format=fmt)  # type: ignore[call-overload]  # torch's stubs omit memory_format
        x = torch.randn(config.batch, 3, spec.resolution, spec.resolution, device=device).to(memory_format=fmt)
        autocast = (torch.autocast(device.type, dtype=DTYPES[config.dtype]) if config.dtype != "fp32"
                    else contextlib.nullcontext())

        def one_pass() -> None:
            if config.mode == "train":
                with autocast:
                    out = model(x)
                out.float().sum().backward()
                model.zero_grad(set_to_none=True)
            else:
                with torch.no_grad(), autocast:
                    model(x)

        for _ in range(config.warmup):
            one_pass()
        _sync(device)
        samples: list[float] = []
        started = time.perf_counter()
        while len(samples) < config.repeats and (
                len(samples) < config.min_repeats or time.perf_counter() - started < config.budget_seconds):
            samples.append(_timed(one_pass, device))
    median, p10, p90 = _percentiles(samples)
    return Latency(
        median_ms=round(median, 4), p10_ms=round(p10, 4), p90_ms=round(p90, 4), passes=len(samples),
        device=str(device), device_name=device_name(device), batch=config.batch, dtype=config.dtype,
        mode=config.mode, channels_last=config.channels_last, threads=threads, torch_version=torch.__version__,
        architecture=spec.architecture_key(), resolution=spec.resolution,
    )


def _timed(one_pass: Any, device: torch.device) -> float:
    """Milliseconds of one pass, measured where the work happens."""
    if device.type == "cuda":
        start, end = torch.cuda.Event(enable_timing=True), torch.cuda.Event(enable_timing=True)
        start.record()
        one_pass()
        end.record()
        end.synchronize()
        return float(start.elapsed_time(end))
    _sync(device)
    t0 = time.perf_counter()
    one_pass()
    _sync(device)
    return (time.perf_counter() - t0) * 1000.0
