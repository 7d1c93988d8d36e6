"""A persistent cache of proxy-training results: (proxy network, training settings, data, seed) -> result.

The study already stops a network from being trained twice within one search. This cache does the same
across studies: a rerun with another --target-flops, --w or --study, or a second grid whose candidates
overlap, reuses every proxy run whose network (``architecture_key`` of the trained proxy), data source,
training settings and seed are the same. Only complete runs are stored (ok, diverged, oom), never a
pruned one. SQLite next to the cost cache (``$SCALESEARCH_CACHE_DIR``), safe for concurrent workers;
a cache that cannot be opened degrades to no cache, never to an error.

An entry is checked before it is reused, as the cost cache checks its counts: every field present and of its
type, the accuracy a finite fraction in [0, 1], the seed the one asked for, the epochs those of the scope (an
OK run ran them all). One that fails is a miss: the run is trained again and the entry replaced, and the first
such entry in a process is mentioned on stderr. An impossible result is never ranked.

``run_scope`` is the one definition of a run's scope (the data plus every proxy study setting, epochs included,
the runtime ones left out): grid (a rung's), compare and audit all open the cache with it, so a comparison or
an audit at a grid's own settings reuses the grid's finished runs.
"""

from __future__ import annotations

import hashlib
import json
from pathlib import Path
from typing import Any

from scalesearch.core.kvstore import JsonStore, default_cache_dir
from scalesearch.core.runs import BadResult, ProxyResult, RunStatus, checked_result
from scalesearch.core.settings import study_fields
from scalesearch.train import ProxyConfig

CACHE_VERSION = 1


def trained_settings(proxy: ProxyConfig, epochs: int | None = None) -> dict[str, Any]:
    """The proxy's study settings (those that change a trained result), in field order; the epochs are
    ``epochs`` when given (a rung's), else the proxy's own."""
    out = {name: getattr(proxy, name) for name in study_fields(ProxyConfig)}
    if out.get("val_subset") is None:  # a newer field: left out when unset, so earlier studies keep their
        out.pop("val_subset", None)    # fingerprints and cached runs
    if epochs is not None:
        out["epochs"] = epochs
    return out


def run_scope(data: str, proxy: ProxyConfig, epochs: int | None = None, *, seed_base: int = 0) -> dict[str, Any]:
    """The proxy-run cache's scope of runs on ``data`` trained as ``proxy`` (at ``epochs`` when given): what
    ``ProxyRunCache`` takes as its ``settings``. Entries are keyed by seed index; ``seed_base`` (what the
    trainer adds to the index) is part of the scope when not 0, so a run of index k trained as seed 1000 + k is
    never handed to a study with another seed base, and the scope of seed base 0 is the one it always was."""
    scope: dict[str, Any] = {"data": data, "proxy": trained_settings(proxy, epochs)}
    if seed_base:
        scope["seed_base"] = seed_base
    return scope


class ProxyRunCache:
    def __init__(self, path: Path | None = None, settings: dict[str, Any] | None = None) -> None:
        self.path = path or default_cache_dir() / "proxy.sqlite"
        blob = json.dumps({"v": CACHE_VERSION, **(settings or {})}, sort_keys=True, default=str)
        proxy = (settings or {}).get("proxy")
        epochs = proxy.get("epochs") if isinstance(proxy, dict) else None
        self._epochs = epochs if isinstance(epochs, int) and not isinstance(epochs, bool) else None
        self._scope = hashlib.sha256(blob.encode()).hexdigest()[:20]
        self._store = JsonStore(self.path, "runs")

    def _key(self, proxy_key: str, seed: int) -> str:
        return f"{self._scope}:{proxy_key}:{seed}"

    def get(self, proxy_key: str, seed: int) -> ProxyResult | None:
        stored = self._store.get(self._key(proxy_key, seed))
        if stored is None:
            return None
        result = _read_result(stored, seed, self._epochs)
        if result is None:  # an entry this version cannot read (or a damaged one) costs a retrain, never an error
            self._store.damaged()
        return result

    def put(self, proxy_key: str, seed: int, result: ProxyResult) -> None:
        if result.status.complete:
            self._store.put(self._key(proxy_key, seed), result.to_dict())

    def close(self) -> None:
        self._store.close()


def _read_result(stored: Any, seed: int, epochs: int | None) -> ProxyResult | None:
    """The complete ProxyResult a stored entry holds for ``seed`` (trained for ``epochs``, when the scope says),
    or None if it is not one."""
    try:
        result = checked_result(stored)
    except (BadResult, TypeError, ValueError, AttributeError):
        return None
    if not result.status.complete or result.seed != seed:
        return None
    if epochs is not None:
        ran = result.epochs_run
        if ran > epochs or len(result.history) > epochs or (result.status is RunStatus.OK and ran != epochs):
            return None
    return result
