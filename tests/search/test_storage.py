"""Opening study storage: retried when another process creates the same tables at that moment."""

from __future__ import annotations

import os
import subprocess
import sys
import time
import uuid

import pytest

from scalesearch.core.errors import StorageError, UsageError
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
        results = [(p.wait(timeout=120), p.stderr.read()) for p in procs]  # type: ignore[union-attr]  # stderr=PIPE: never None
        assert [rc for rc, _ in results] == [0] * 4, [err[-500:] for _, err in results]
    finally:
        with psycopg.connect(f"{server}/postgres", autocommit=True) as conn:
            conn.execute(f"DROP DATABASE IF EXISTS {name} WITH (FORCE)")


# -- URLs that cannot work: refused before any work, in one line ---------------------------------------------

@pytest.mark.parametrize("url", ["sqlite://", "sqlite:///:memory:", "sqlite+pysqlite:///:memory:",
                                 "sqlite:///file::memory:?cache=shared&uri=true", "sqlite:///file:s?mode=memory&uri=true"])
def test_an_in_memory_database_is_refused(url: str) -> None:
    with pytest.raises(UsageError, match="an in-memory database lives in one process only") as info:
        storage.open_storage(url)
    assert info.value.exit_code == 2 and "leave --storage out" in str(info.value)


def test_grid_refuses_an_in_memory_storage_before_any_work(tiny_file, tmp_path) -> None:
    from typer.testing import CliRunner

    from scalesearch.cli.main import app

    result = CliRunner().invoke(app, ["grid", "--baseline", str(tiny_file), "--data", "synthetic", "--workers", "2",
                                      "--out", str(tmp_path / "res"), "--storage", "sqlite:///:memory:"])
    assert result.exit_code == 2, result.output
    message = result.stderr.strip()
    assert len(message.splitlines()) == 1 and "Traceback" not in result.output
    assert message.startswith("error: --storage 'sqlite:///:memory:': an in-memory database lives in one process")
    assert "Record does not exist" not in result.output and "rerun the same command" not in result.output
    assert not (tmp_path / "res").exists()


@pytest.fixture
def no_postgres_driver(monkeypatch: pytest.MonkeyPatch) -> None:
    """Neither psycopg nor psycopg2 importable, as on a machine without the postgres extra."""
    for module in ("psycopg", "psycopg2", "psycopg_binary", "psycopg_c"):
        monkeypatch.setitem(sys.modules, module, None)  # None in sys.modules: `import` raises ImportError
    monkeypatch.setattr(storage.importlib.util, "find_spec", lambda name, *a: None)


@pytest.mark.parametrize("url", ["postgresql://user:SECRET@127.0.0.1:9/db", "postgresql+psycopg://user:SECRET@h/db",
                                 "postgresql+psycopg2://:SECRET@h/db"])
def test_a_missing_postgresql_driver_names_the_extra_to_install(no_postgres_driver: None, url: str) -> None:
    with pytest.raises(StorageError) as info:
        storage.open_storage(url)
    message = str(info.value)
    assert 'the PostgreSQL driver is not installed' in message and 'pip install "scalesearch[postgres]"' in message
    assert "SECRET" not in message and "***" in message and "\n" not in message
    assert "Failed to import DB access module" not in message


def test_grid_with_a_missing_driver_is_one_line(no_postgres_driver: None, tiny_file, tmp_path) -> None:
    from typer.testing import CliRunner

    from scalesearch.cli.main import app

    result = CliRunner().invoke(app, ["grid", "--baseline", str(tiny_file), "--data", "synthetic", "--out",
                                      str(tmp_path), "--storage", "postgresql://user:SECRET@127.0.0.1:9/db"])
    assert result.exit_code == 4, result.output
    assert result.stderr.strip() == ("error: cannot open study storage postgresql://user:***@127.0.0.1:9/db: the "
                                     "PostgreSQL driver is not installed (no module 'psycopg'): pip install "
                                     '"scalesearch[postgres]" (psycopg 3), then rerun')


def test_a_wrong_password_is_reported_masked(monkeypatch: pytest.MonkeyPatch) -> None:
    """What psycopg says of a rejected login, through SQLAlchemy, with the URL's password quoted back in."""
    fake = FlakyRDB(fails=1, error='(psycopg.OperationalError) connection failed: FATAL:  password authentication '
                                   'failed for user "user" (password "S3CR3T" for postgresql://user:S3CR3T@h/db)')
    monkeypatch.setattr(storage, "RDBStorage", fake)
    with pytest.raises(StorageError) as info:
        storage.open_storage("postgresql://user:S3CR3T@h/db")
    message = str(info.value)
    assert message.startswith("cannot open study storage postgresql://user:***@h/db: (psycopg.OperationalError)")
    assert "password authentication failed" in message and "S3CR3T" not in message
