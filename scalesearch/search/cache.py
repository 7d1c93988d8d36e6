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
from pathlib import Path
from typing import Any

from scalesearch.measure.cache import default_cache_dir
from scalesearch.store import JsonStore

CACHE_VERSION = 1
STORED_STATUSES = ("ok", "diverged", "oom")


class ProxyCache:
    def __init__(self, path: Path | None = None, settings: dict[str, Any] | None = None) -> None:
        self.path = path or default_cache_dir() / "proxy.sqlite"
        blob = json.dumps({"v": CACHE_VERSION, **(settings or {})}, sort_keys=True, default=str)
        self._scope = hashlib.sha256(blob.encode()).hexdigest()[:20]
        self._store = JsonStore(self.path, "runs")

    def _key(self, proxy_key: str, seed: int) -> str:
        return f"{self._scope}:{proxy_key}:{seed}"

    def get(self, proxy_key: str, seed: int) -> dict[str, Any] | None:
        return self._store.get(self._key(proxy_key, seed))

    def put(self, proxy_key: str, seed: int, result: dict[str, Any]) -> None:
        if result.get("status") in STORED_STATUSES:
            self._store.put(self._key(proxy_key, seed), result)

    def close(self) -> None:
        self._store.close()
