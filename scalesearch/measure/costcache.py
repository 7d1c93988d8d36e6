"""A persistent cost cache: architecture hash + counter -> Cost, shared by runs and worker processes.

Rounded networks repeat (many coefficient triples build the same network), and a B7 count takes
seconds, so every count is stored once.
The location is ``$SCALESEARCH_CACHE_DIR`` or ``~/.cache/scalesearch``; delete the file to reset it.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import fvcore
import torch

from scalesearch.core.kvstore import JsonStore, default_cache_dir
from scalesearch.measure.cost import Cost

# Bump when counting changes; torch and fvcore versions are part of the key because they count.
CACHE_VERSION = 1


def _version_tag() -> str:
    fv = getattr(fvcore, "__version__", "?")
    return f"v{CACHE_VERSION}-torch{torch.__version__}-fvcore{fv}"


class CostCache:
    """Get/put Costs by (architecture key, counter), in memory and on disk (see scalesearch.store)."""

    def __init__(self, path: Path | None = None) -> None:
        self.path = path or default_cache_dir() / "costs.sqlite"
        self._memory: dict[str, Cost] = {}
        self._store = JsonStore(self.path, "costs", timeout=30)

    @staticmethod
    def key(architecture: str, counter: str) -> str:
        return f"{_version_tag()}:{counter}:{architecture}"

    def get(self, architecture: str, counter: str) -> Cost | None:
        k = self.key(architecture, counter)
        if k not in self._memory:
            stored = self._store.get(k)
            if stored is None:
                return None
            cost = _read_cost(stored, architecture, counter)
            if cost is None:  # an entry this version cannot read (or a damaged one) costs a recount, never an error
                self._store.damaged()
                return None
            self._memory[k] = cost
        return self._memory[k]

    def put(self, cost: Cost) -> None:
        k = self.key(cost.architecture, cost.counter)
        self._memory[k] = cost
        self._store.put(k, cost.to_dict())


def _read_cost(stored: Any, architecture: str, counter: str) -> Cost | None:
    """The Cost a stored entry holds, or None if it is not one (of this architecture and counter)."""
    if not isinstance(stored, dict):
        return None
    try:
        cost = Cost.from_dict(stored)
    except (TypeError, ValueError, AttributeError):
        return None
    counts = (cost.flops, cost.conv_linear_flops, cost.params, cost.activations, cost.resolution,
              *(n for p in cost.parts for n in (p.flops, p.params)))
    if not all(isinstance(n, int) and not isinstance(n, bool) and n >= 0 for n in counts):
        return None
    if isinstance(cost.seconds, bool) or not isinstance(cost.seconds, (int, float)):
        return None
    if not isinstance(cost.unsupported, dict) or not all(isinstance(p.name, str) for p in cost.parts):
        return None
    if cost.device not in ("cpu", "meta"):
        return None
    return cost if (cost.architecture, cost.counter) == (architecture, counter) else None


_DEFAULT: dict[Path, CostCache] = {}


def cache_at(path: Path | None = None) -> CostCache:
    """One CostCache per file per process."""
    resolved = path or default_cache_dir() / "costs.sqlite"
    if resolved not in _DEFAULT:
        _DEFAULT[resolved] = CostCache(resolved)
    return _DEFAULT[resolved]
