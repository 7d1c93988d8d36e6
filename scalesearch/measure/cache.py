"""A persistent cost cache: architecture hash + counter -> Cost, shared by runs and worker processes.

Rounded networks repeat (many coefficient triples build the same network), and a B7 count takes
seconds, so every count is stored once. SQLite because several search workers write at once.
The location is ``$SCALESEARCH_CACHE_DIR`` or ``~/.cache/scalesearch``; delete the file to reset it.
"""

from __future__ import annotations

import json
import os
import sqlite3
from pathlib import Path

import fvcore
import torch

from scalesearch.measure.cost import Cost

# Bump when counting changes; torch and fvcore versions are part of the key because they count.
CACHE_VERSION = 1


def default_cache_dir() -> Path:
    env = os.environ.get("SCALESEARCH_CACHE_DIR")
    return Path(env).expanduser() if env else Path.home() / ".cache" / "scalesearch"


def _version_tag() -> str:
    fv = getattr(fvcore, "__version__", "?")
    return f"v{CACHE_VERSION}-torch{torch.__version__}-fvcore{fv}"


class CostCache:
    """Get/put Costs by (architecture key, counter). Failures to read or write never lose a count:
    a cache that cannot be opened (read-only home, say) degrades to memory only."""

    def __init__(self, path: Path | None = None) -> None:
        self.path = path or default_cache_dir() / "costs.sqlite"
        self._memory: dict[str, Cost] = {}
        self._db: sqlite3.Connection | None = None
        try:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            self._db = sqlite3.connect(self.path, timeout=30)
            self._db.execute("CREATE TABLE IF NOT EXISTS costs (key TEXT PRIMARY KEY, cost TEXT NOT NULL)")
            self._db.commit()
        except (OSError, sqlite3.Error):
            self._db = None

    @staticmethod
    def key(architecture: str, counter: str) -> str:
        return f"{_version_tag()}:{counter}:{architecture}"

    def get(self, architecture: str, counter: str) -> Cost | None:
        k = self.key(architecture, counter)
        if k in self._memory:
            return self._memory[k]
        if self._db is None:
            return None
        try:
            row = self._db.execute("SELECT cost FROM costs WHERE key = ?", (k,)).fetchone()
        except sqlite3.Error:
            return None
        if row is None:
            return None
        cost = Cost.from_dict(json.loads(row[0]))
        self._memory[k] = cost
        return cost

    def put(self, cost: Cost) -> None:
        k = self.key(cost.architecture, cost.counter)
        self._memory[k] = cost
        if self._db is None:
            return
        try:
            self._db.execute("INSERT OR REPLACE INTO costs VALUES (?, ?)", (k, json.dumps(cost.to_dict())))
            self._db.commit()
        except sqlite3.Error:
            pass


_DEFAULT: dict[Path, CostCache] = {}


def cache_at(path: Path | None = None) -> CostCache:
    """One CostCache per file per process."""
    resolved = path or default_cache_dir() / "costs.sqlite"
    if resolved not in _DEFAULT:
        _DEFAULT[resolved] = CostCache(resolved)
    return _DEFAULT[resolved]
