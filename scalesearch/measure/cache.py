"""A persistent cost cache: architecture hash + counter -> Cost, shared by runs and worker processes.

Rounded networks repeat (many coefficient triples build the same network), and a B7 count takes
seconds, so every count is stored once.
The location is ``$SCALESEARCH_CACHE_DIR`` or ``~/.cache/scalesearch``; delete the file to reset it.
"""

from __future__ import annotations

import os
from pathlib import Path

import fvcore
import torch

from scalesearch.measure.cost import Cost
from scalesearch.store import JsonStore

# Bump when counting changes; torch and fvcore versions are part of the key because they count.
CACHE_VERSION = 1


def default_cache_dir() -> Path:
    env = os.environ.get("SCALESEARCH_CACHE_DIR")
    return Path(env).expanduser() if env else Path.home() / ".cache" / "scalesearch"


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
            self._memory[k] = Cost.from_dict(stored)
        return self._memory[k]

    def put(self, cost: Cost) -> None:
        k = self.key(cost.architecture, cost.counter)
        self._memory[k] = cost
        self._store.put(k, cost.to_dict())


_DEFAULT: dict[Path, CostCache] = {}


def cache_at(path: Path | None = None) -> CostCache:
    """One CostCache per file per process."""
    resolved = path or default_cache_dir() / "costs.sqlite"
    if resolved not in _DEFAULT:
        _DEFAULT[resolved] = CostCache(resolved)
    return _DEFAULT[resolved]
