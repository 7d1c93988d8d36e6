"""A persistent latency cache: architecture + device model + batch/dtype/mode/layout/threads + torch -> Latency.

It shares the cost cache's SQLite file (a table of its own). The key holds everything that changes a
timing except the load on the machine, which no key can hold: a figure measured while other processes
ran stays cached; pass ``cache=False`` (or delete the file) to measure again.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import torch

from scalesearch.core.builderspec import AnySpec
from scalesearch.core.kvstore import JsonStore, default_cache_dir
from scalesearch.measure.latency import Latency, LatencyConfig, time_network, where

CACHE_VERSION = 1  # bump when the way of timing changes


class LatencyCache:
    def __init__(self, path: Path | None = None) -> None:
        self.path = path or default_cache_dir() / "costs.sqlite"
        self._memory: dict[str, Latency] = {}
        self._store = JsonStore(self.path, "latency", timeout=30)

    @staticmethod
    def key(architecture: str, config: LatencyConfig, device_name: str, threads: int) -> str:
        return (f"v{CACHE_VERSION}-torch{torch.__version__}:{device_name}:{config.batch}:{config.dtype}:"
                f"{config.mode}:cl{int(config.channels_last)}:t{threads}:{architecture}")

    def get(self, key: str) -> Latency | None:
        if key not in self._memory:
            stored = self._store.get(key)
            if stored is None:
                return None
            latency = _read(stored)
            if latency is None:  # damaged or from another version: measured again, never an error
                self._store.damaged()
                return None
            self._memory[key] = latency
        return self._memory[key]

    def put(self, key: str, latency: Latency) -> None:
        self._memory[key] = latency
        self._store.put(key, latency.to_dict())


def _read(stored: Any) -> Latency | None:
    if not isinstance(stored, dict):
        return None
    try:
        latency = Latency.from_dict(stored)
    except (TypeError, ValueError):
        return None
    times = (latency.median_ms, latency.p10_ms, latency.p90_ms)
    if not all(isinstance(t, (int, float)) and not isinstance(t, bool) and t > 0 for t in times):
        return None
    return latency


_DEFAULT: dict[Path, LatencyCache] = {}


def latency_cache_at(path: Path | None = None) -> LatencyCache:
    """One LatencyCache per file per process."""
    resolved = path or default_cache_dir() / "costs.sqlite"
    if resolved not in _DEFAULT:
        _DEFAULT[resolved] = LatencyCache(resolved)
    return _DEFAULT[resolved]


def measure_latency(spec: AnySpec, config: LatencyConfig | None = None,
                    cache: bool | Path | LatencyCache = True) -> Latency:
    """``spec``'s latency as ``config`` says, measured once per machine and setting (see the module docstring)."""
    config = config or LatencyConfig()
    if cache is False:
        return time_network(spec, config)
    store = cache if isinstance(cache, LatencyCache) else latency_cache_at(cache if isinstance(cache, Path) else None)
    _, name, threads = where(config)
    key = store.key(spec.architecture_key(), config, name, threads)
    hit = store.get(key)
    if hit is not None:
        return hit
    latency = time_network(spec, config)
    store.put(key, latency)
    return latency
