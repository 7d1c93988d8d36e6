"""A small persistent JSON key-value store on SQLite, shared by the cost cache and the proxy-run cache.

SQLite because several search workers read and write at once. A store that cannot be opened or written
(read-only home, a corrupt file) degrades to no store: a lost entry costs a recount or a retrain later,
never an error or a wrong result.
"""

from __future__ import annotations

import json
import sqlite3
from pathlib import Path
from typing import Any


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
        return json.loads(row[0]) if row else None

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
