"""A persistent cache of proxy-training results: (proxy network, training settings, data, seed) -> result.

The study already stops a network from being trained twice within one search. This cache does the same
across studies: a rerun with another --target-flops, --w or --study, or a second grid whose candidates
overlap, reuses every proxy run whose network (``architecture_key`` of the trained proxy), data source,
training settings and seed are the same. Only complete runs are stored (ok, diverged, oom), never a
pruned one. SQLite next to the cost cache (``$SCALESEARCH_CACHE_DIR``), safe for concurrent workers;
a cache that cannot be opened degrades to no cache, never to an error.
"""

from __future__ import annotations

import hashlib
import json
import sqlite3
from pathlib import Path
from typing import Any

from scalesearch.measure.cache import default_cache_dir

CACHE_VERSION = 1
STORED_STATUSES = ("ok", "diverged", "oom")


class ProxyCache:
    def __init__(self, path: Path | None = None, settings: dict[str, Any] | None = None) -> None:
        self.path = path or default_cache_dir() / "proxy.sqlite"
        blob = json.dumps({"v": CACHE_VERSION, **(settings or {})}, sort_keys=True, default=str)
        self._scope = hashlib.sha256(blob.encode()).hexdigest()[:20]
        self._db: sqlite3.Connection | None = None
        try:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            self._db = sqlite3.connect(self.path, timeout=60)
            self._db.execute("CREATE TABLE IF NOT EXISTS runs (key TEXT PRIMARY KEY, result TEXT NOT NULL)")
            self._db.commit()
        except (OSError, sqlite3.Error):
            self._db = None

    def _key(self, proxy_key: str, seed: int) -> str:
        return f"{self._scope}:{proxy_key}:{seed}"

    def get(self, proxy_key: str, seed: int) -> dict[str, Any] | None:
        if self._db is None:
            return None
        try:
            row = self._db.execute("SELECT result FROM runs WHERE key = ?", (self._key(proxy_key, seed),)).fetchone()
        except sqlite3.Error:
            return None
        return json.loads(row[0]) if row else None

    def put(self, proxy_key: str, seed: int, result: dict[str, Any]) -> None:
        if self._db is None or result.get("status") not in STORED_STATUSES:
            return
        try:
            self._db.execute("INSERT OR REPLACE INTO runs (key, result) VALUES (?, ?)",
                             (self._key(proxy_key, seed), json.dumps(result)))
            self._db.commit()
        except sqlite3.Error:
            pass  # a lost cache entry costs a retrain later, never a wrong result

    def close(self) -> None:
        if self._db is not None:
            self._db.close()
            self._db = None
