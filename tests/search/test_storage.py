"""Opening study storage: retried when another process creates the same tables at that moment."""

from __future__ import annotations

import os
import subprocess
import sys
import time
import uuid

import pytest

from scalesearch.errors import StorageError
from scalesearch.search import storage

DUPLICATE = ('(psycopg.errors.UniqueViolation) duplicate key value violates unique constraint '
             '"pg_type_typname_nsp_index"')


class FlakyRDB:
    """Stands in for RDBStorage: fails with ``error`` the first ``fails`` times it is constructed."""

    def __init__(self, fails: int, error: str) -> None:
        self.calls, self.fails, self.error = 0, fails, error

    def __call__(self, url: str, **kwargs: object) -> str:
        self.calls += 1
        if self.calls <= self.fails:
            raise RuntimeError(self.error)
        return f"storage for {url}"


@pytest.fixture(autouse=True)
def no_sleep(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(storage.time, "sleep", lambda s: None)


def test_concurrent_creation_is_retried(monkeypatch: pytest.MonkeyPatch, tmp_path) -> None:
    fake = FlakyRDB(fails=2, error=DUPLICATE)
    monkeypatch.setattr(storage, "RDBStorage", fake)
    assert storage.open_storage(f"sqlite:///{tmp_path}/s.db") == f"storage for sqlite:///{tmp_path}/s.db"
    assert fake.calls == 3


def test_retries_are_bounded_and_end_in_one_line(monkeypatch: pytest.MonkeyPatch, tmp_path) -> None:
    fake = FlakyRDB(fails=100, error=DUPLICATE)
    monkeypatch.setattr(storage, "RDBStorage", fake)
    with pytest.raises(StorageError, match="cannot open study storage .*duplicate key"):
        storage.open_storage(f"sqlite:///{tmp_path}/s.db")
    assert fake.calls == storage.CREATE_ATTEMPTS


def test_other_errors_are_not_retried(monkeypatch: pytest.MonkeyPatch, tmp_path) -> None:
    fake = FlakyRDB(fails=1, error="connection refused")
    monkeypatch.setattr(storage, "RDBStorage", fake)
    with pytest.raises(StorageError, match="connection refused"):
        storage.open_storage(f"sqlite:///{tmp_path}/s.db")
    assert fake.calls == 1


OPEN_AT = """
import sys, time
from scalesearch.search.storage import open_storage
while time.time() < float(sys.argv[2]):
    time.sleep(0.001)
open_storage(sys.argv[1])
"""


@pytest.mark.slow
def test_processes_opening_a_new_postgresql_database_at_once() -> None:
    """The race CI once hit: two commands creating Optuna's tables in one new database at the same moment."""
    url = os.environ.get("SCALESEARCH_TEST_PG_URL")
    if not url:
        pytest.skip("no PostgreSQL: set SCALESEARCH_TEST_PG_URL (bash .ci/postgres.sh prints one)")
    psycopg = pytest.importorskip("psycopg")
    server, _ = url.rsplit("/", 1)
    name = f"race_{uuid.uuid4().hex[:8]}"
    with psycopg.connect(f"{server}/postgres", autocommit=True) as conn:
        conn.execute(f"CREATE DATABASE {name}")
    try:
        start = time.time() + 8  # every process imported and waiting by then, even on a busy machine
        procs = [subprocess.Popen([sys.executable, "-c", OPEN_AT, f"{server}/{name}", str(start)],
                                  stderr=subprocess.PIPE, text=True) for _ in range(4)]
        results = [(p.wait(timeout=120), p.stderr.read()) for p in procs]  # type: ignore[union-attr]
        assert [rc for rc, _ in results] == [0] * 4, [err[-500:] for _, err in results]
    finally:
        with psycopg.connect(f"{server}/postgres", autocommit=True) as conn:
            conn.execute(f"DROP DATABASE IF EXISTS {name} WITH (FORCE)")
