"""measure(spec) -> Cost: multiply-adds, parameters and activations of a built network, cached."""

from __future__ import annotations

from pathlib import Path

from scalesearch.measure.cost import CONVENTION, COUNTERS, DEFAULT_COUNTER, Cost, PartCost, count
from scalesearch.measure.costcache import CostCache, cache_at
from scalesearch.spec import NetSpec


def measure(spec: NetSpec, counter: str = DEFAULT_COUNTER, cache: bool | Path | CostCache = True) -> Cost:
    """Cost of ``spec`` at its own resolution, batch 1, all FLOPs in multiply-adds.

    Identical architectures (same ``spec.architecture_key()``) are counted once: the result is cached on
    disk (see scalesearch.measure.costcache) unless ``cache=False``; a Path selects another cache file.
    The returned Cost's ``seconds`` is the time of the original count, not of the lookup.
    """
    if cache is False:
        return count(spec, counter)
    store = cache if isinstance(cache, CostCache) else cache_at(cache if isinstance(cache, Path) else None)
    hit = store.get(spec.architecture_key(), counter)
    if hit is not None:
        return hit
    cost = count(spec, counter)
    store.put(cost)
    return cost


__all__ = ["CONVENTION", "COUNTERS", "DEFAULT_COUNTER", "Cost", "CostCache", "PartCost", "count", "measure"]
