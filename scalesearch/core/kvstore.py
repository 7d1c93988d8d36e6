"""A small persistent JSON key-value store on SQLite, shared by the cost cache and the proxy-run cache.

SQLite because several search workers read and write at once. A store that cannot be opened or written
(read-only home, a corrupt file) degrades to no store: a lost entry costs a recount or a retrain later,
never an error or a wrong result. So does a damaged entry (a value that is not JSON, or JSON its reader
cannot use): it reads as a miss, and the first one in a process is mentioned once on stderr.
"""

from __future__ import annotations

import json
import os
import sqlite3
import sys
from pathlib import Path
from typing import Any

_WARNED: set[str] = set()  # stores already reported damaged in this process


def default_cache_dir() -> Path:
    env = os.environ.get("SCALESEARCH_CACHE_DIR")
    return Path(env).expanduser() if env else Path.home() / ".cache" / "scalesearch"


class JsonStore:
    def __init__(self, path: Path, table: str, timeout: float = 60.0) -> None:
        if not table.isidentifier():
            raise ValueError(f"table name {table!r} must be an identifier")
        self.path, self._table = path, table
        self._db: sqlite3.Connection | None = None
        try:
            path.parent.mkdir(parents=True, exist_ok=True)
            self._db = sqlite3.connect(path, timeout=timeout)
            self._db.execute(f"CREATE TABLE IF NOT EXISTS {table} (key TEXT PRIMARY KEY, value TEXT NOT NULL)")
            self._db.commit()
        except (OSError, sqlite3.Error):
            self._db = None

    @property
    def available(self) -> bool:
        return self._db is not None

    def get(self, key: str) -> Any | None:
        if self._db is None:
            return None
        try:
            row = self._db.execute(f"SELECT value FROM {self._table} WHERE key = ?", (key,)).fetchone()
        except sqlite3.Error:
            return None
        if not row:
            return None
        try:
            return json.loads(row[0])
        except (TypeError, ValueError, RecursionError):  # not JSON (or not text): a miss, recomputed later
            self.damaged()
            return None

    def damaged(self) -> None:
        """Say once per process and file that an entry could not be used (it is recomputed, then replaced)."""
        where = str(self.path)
        if where not in _WARNED:
            _WARNED.add(where)
            print(f"warning: {where}: ignoring damaged cache entries (they are recomputed and replaced)",
                  file=sys.stderr)

    def put(self, key: str, value: Any) -> None:
        if self._db is None:
            return
        try:
            self._db.execute(f"INSERT OR REPLACE INTO {self._table} (key, value) VALUES (?, ?)",
                             (key, json.dumps(value)))
            self._db.commit()
        except sqlite3.Error:
            pass

    def close(self) -> None:
        if self._db is not None:
            self._db.close()
            self._db = None
