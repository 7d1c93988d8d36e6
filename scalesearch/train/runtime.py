"""Where and how training runs: device choice, torch thread count, peak memory, out-of-memory detection."""

from __future__ import annotations

import os
import resource
import sys

import torch

from scalesearch.core.errors import UsageError

# Re-exported: training has always resolved its --device here; the check itself is shared with measure.
from scalesearch.nn.device import DEVICE_FORMS, present_devices, resolve_device  # noqa: F401

_threads_set: int | None = None  # what set_threads chose in this process; None until someone calls it


def available_cores() -> int:
    """Cores this process may run on (respects taskset/cgroup affinity, unlike os.cpu_count)."""
    if hasattr(os, "sched_getaffinity"):
        return max(1, len(os.sched_getaffinity(0)))
    return max(1, os.cpu_count() or 1)


def cuda_device_count() -> int:
    """CUDA devices visible to this process (0 without CUDA)."""
    return torch.cuda.device_count() if torch.cuda.is_available() else 0


def set_threads(n: int | None = None, workers: int = 1) -> int:
    """Give torch ``n`` intra-op threads, or available cores // ``workers`` when ``n`` is None.

    Call it once per process before any torch work (a search worker does, with its worker count).
    Oversubscription is costly: on 2 cores, two processes x 2 threads trained 25 images/s in all, two
    processes x 1 thread 304 (docs/training.md, 'Threads and workers'). Results reproduce exactly only at a
    fixed thread count.
    """
    global _threads_set
    if n is not None and (isinstance(n, bool) or not isinstance(n, int) or n < 1):
        raise UsageError(f"threads = {n!r}: must be an integer >= 1")
    if isinstance(workers, bool) or not isinstance(workers, int) or workers < 1:
        raise UsageError(f"workers = {workers!r}: must be an integer >= 1")
    n = n or max(1, available_cores() // workers)
    if torch.get_num_threads() != n:
        torch.set_num_threads(n)
    try:  # only allowed before inter-op work starts; eager training barely uses it, so a miss is harmless
        torch.set_num_interop_threads(n)
    except RuntimeError:
        pass
    _threads_set = n
    return n


def ensure_threads(n: int | None, workers: int) -> int:
    """The thread count for a run: an explicit ``n`` wins; else whatever set_threads already chose in this
    process (a search worker's choice must survive each trial); else cores // workers."""
    if n is not None or _threads_set is None:
        return set_threads(n, workers)
    return _threads_set


def reset_peak_memory(device: torch.device) -> None:
    if device.type == "cuda":
        torch.cuda.reset_peak_memory_stats(device)


def peak_memory(device: torch.device) -> tuple[int, str]:
    """(bytes, what was measured). CUDA: max tensor memory allocated during the run. Elsewhere: the
    process's peak resident set size since it started (an upper bound: it includes Python and data)."""
    if device.type == "cuda":
        return int(torch.cuda.max_memory_allocated(device)), "cuda_max_allocated"
    rss = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    return int(rss if sys.platform == "darwin" else rss * 1024), "process_peak_rss"


def is_oom(exc: BaseException) -> bool:
    """CUDA raises torch.OutOfMemoryError; MPS and the CPU allocator raise RuntimeErrors that say so."""
    if isinstance(exc, torch.OutOfMemoryError):
        return True
    text = str(exc).lower()
    return isinstance(exc, RuntimeError) and ("out of memory" in text or "can't allocate memory" in text)


def free_memory(device: torch.device) -> None:
    if device.type == "cuda":
        torch.cuda.empty_cache()
    elif device.type == "mps":
        torch.mps.empty_cache()


def data_fits(nbytes: int, device: torch.device) -> bool:
    """Keep the image tensors on the training device if they take at most a quarter of its free memory."""
    if device.type != "cuda":
        return True  # CPU and Apple unified memory: the data is in host memory either way
    free, _ = torch.cuda.mem_get_info(device)
    return nbytes <= free // 4
