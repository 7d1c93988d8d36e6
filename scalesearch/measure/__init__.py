"""measure(spec) -> Cost: multiply-adds, parameters and activations of a built network, cached; with
``latency=LatencyConfig(...)`` also its measured latency on a device (machine-dependent)."""

from __future__ import annotations

import dataclasses
from pathlib import Path

from scalesearch.core.builderspec import AnySpec
from scalesearch.measure.cost import CONVENTION, COUNTERS, DEFAULT_COUNTER, Cost, PartCost, count
from scalesearch.measure.costcache import CostCache, cache_at
from scalesearch.measure.latency import DTYPES, MACHINE_NOTE, MODES, Latency, LatencyConfig, time_network
from scalesearch.measure.latencycache import LatencyCache, measure_latency


def measure(spec: AnySpec, counter: str = DEFAULT_COUNTER, cache: bool | Path | CostCache = True,
            latency: LatencyConfig | None = None) -> Cost:
    """Cost of ``spec`` at its own resolution, batch 1, all FLOPs in multiply-adds.

    ``latency`` also times the network on a device (``Cost.latency``; see scalesearch.measure.latency). It
    is cached per machine (device model, threads, torch) next to the counts: a Path or ``False`` applies to both.

    Identical architectures (same ``spec.architecture_key()``) are counted once: the result is cached on
    disk (see scalesearch.measure.costcache) unless ``cache=False``; a Path selects another cache file.
    The returned Cost's ``seconds`` is the time of the original count, not of the lookup.
    """
    cost = _counted(spec, counter, cache)
    if latency is None:
        return cost
    where = cache.path if isinstance(cache, CostCache) else cache
    return dataclasses.replace(cost, latency=measure_latency(spec, latency, where))


def _counted(spec: AnySpec, counter: str, cache: bool | Path | CostCache) -> Cost:
    if cache is False:
        return count(spec, counter)
    store = cache if isinstance(cache, CostCache) else cache_at(cache if isinstance(cache, Path) else None)
    hit = store.get(spec.architecture_key(), counter)
    if hit is not None:
        return hit
    cost = count(spec, counter)
    store.put(cost)
    return cost


__all__ = [
    "CONVENTION", "COUNTERS", "DEFAULT_COUNTER", "DTYPES", "MACHINE_NOTE", "MODES", "Cost", "CostCache", "Latency",
    "LatencyCache", "LatencyConfig", "PartCost", "count", "measure", "measure_latency", "time_network",
]
