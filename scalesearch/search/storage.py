"""Study storage: any Optuna RDB URL, SQLite under the study folder by default, with heartbeats.

Heartbeats are what make a killed worker's trial come back: a RUNNING trial whose heartbeat is older than
the grace period is failed by the next worker that looks (``fail_stale_trials``), and
``RetryHeartbeatStaleTrialCallback`` queues a copy with the same parameters. Only RDB storages (SQLite,
PostgreSQL, MySQL) have heartbeats; journal storages do not, so they are not offered.
"""

from __future__ import annotations

import importlib.util
import random
import shlex
import time
import warnings
from pathlib import Path
from typing import Any

import optuna
from optuna.storages import RDBStorage, RetryHeartbeatStaleTrialCallback
from sqlalchemy.engine import make_url

from scalesearch.core.errors import StorageError, UsageError
from scalesearch.core.redaction import redact, redact_text

__all__ = ["default_url", "load_study_at", "normalise_url", "open_storage", "redact"]

# SQLite's words for a file that is not a database (garbage) or a damaged one (truncated, overwritten).
_DAMAGED = ("file is not a database", "database disk image is malformed")
MAX_RETRY = 3  # re-queue a trial whose worker died at most this often; then the next run retries it
# What a database says when another process created the same table, type or version row a moment before:
# two commands opening a new PostgreSQL database at once both run Optuna's CREATE TABLE and one of them
# loses (pg_type_typname_nsp_index). The tables exist by then, so opening again succeeds.
_CREATED_CONCURRENTLY = ("already exists", "duplicate key", "UniqueViolation", "UNIQUE constraint failed")
CREATE_ATTEMPTS = 5


def default_url(study_dir: Path) -> str:
    return f"sqlite:///{(study_dir / 'study.db').resolve()}"


def normalise_url(url: str) -> str:
    """``postgresql://`` means psycopg2 to SQLAlchemy; use psycopg 3 when that is what is installed."""
    if url.startswith(("postgresql://", "postgres://")) and importlib.util.find_spec("psycopg2") is None \
            and importlib.util.find_spec("psycopg") is not None:
        return "postgresql+psycopg://" + url.split("://", 1)[1]
    return url


def open_storage(url: str, *, heartbeat_interval: int = 10, grace_period: int = 60) -> RDBStorage:
    """Connect (creating Optuna's tables if needed) before any work, so a bad URL fails in one line. No message
    carries the URL's password (scalesearch.core.redaction)."""
    if "://" not in url:
        raise StorageError(f"storage {redact(url)!r} is not a URL: use e.g. sqlite:///path/study.db or "
                           "postgresql://user:password@host:5432/dbname")
    _refuse_unusable(url)
    if url.startswith("sqlite:///"):
        folder = Path(url[len("sqlite:///"):].split("?", 1)[0]).parent
        try:
            folder.mkdir(parents=True, exist_ok=True)
        except OSError as exc:
            raise StorageError(f"cannot open study storage {redact(url)}: cannot create the folder {folder} "
                               f"({exc.strerror or exc}); pick another --storage or --out") from None
    engine_kwargs: dict[str, Any] = ({"connect_args": {"timeout": 60}} if url.startswith("sqlite")
                                     else {"pool_pre_ping": True})
    if url.startswith("postgresql"):
        engine_kwargs["connect_args"] = {"connect_timeout": 10}
    try:
        return _connect(normalise_url(url), engine_kwargs, heartbeat_interval, grace_period)
    except ImportError as exc:  # Optuna's "Failed to import DB access module": say which driver and how
        raise StorageError(f"cannot open study storage {redact(url)}: {_missing_driver(url, exc)}") from None
    except Exception as exc:  # SQLAlchemy raises a dozen kinds (refused, auth, bad URL)
        first = next((line for line in str(exc).strip().splitlines() if line.strip()), type(exc).__name__)
        message = f"cannot open study storage {redact(url)}: {redact_text(first.strip(), url)[:200]}"
        damaged = _damaged_sqlite_file(url, first)
        if damaged is not None:
            aside = shlex.quote(str(damaged)), shlex.quote(f"{damaged}.damaged")
            message += (f"; the file is damaged: move it aside (mv {aside[0]} {aside[1]}) and rerun the same command "
                        "(finished proxy runs are kept in the proxy-run cache, unless the search ran with --no-cache, "
                        "so the rerun retrains nothing that finished)")
        raise StorageError(message) from None


def _refuse_unusable(url: str) -> None:
    """One line for a URL that would open but cannot work: an in-memory SQLite database (no other process,
    worker or later command sees it: nothing could be shared, resumed or reported) and a password holding an
    unencoded '@' (SQLAlchemy would take the rest of the password for the host and print it)."""
    try:
        parsed = make_url(url)
    except Exception:  # SQLAlchemy's ArgumentError, or a ValueError for a bad port
        raise StorageError(f"storage {redact(url)}: not a database URL SQLAlchemy can read; use e.g. "
                           "sqlite:///path/study.db or postgresql://user:password@host:5432/dbname "
                           "(percent-encode the password's special characters: @ as %40, % as %25)") from None
    if parsed.get_backend_name() == "sqlite":
        database = parsed.database or ""
        if database in ("", ":memory:") or database.startswith("file::memory:") \
                or parsed.query.get("mode") == "memory":
            raise UsageError(f"--storage {redact(url)!r}: an in-memory database lives in one process only: worker "
                             "processes cannot see it and nothing would be kept to resume or report; use a file "
                             "(sqlite:///path/study.db) or leave --storage out (SQLite in the study folder)")
    elif "@" in (parsed.host or ""):
        raise StorageError(f"storage {redact(url)}: the password holds an unencoded '@': percent-encode it "
                           "(@ as %40, % as %25, : as %3A, / as %2F)")


def _missing_driver(url: str, exc: ImportError) -> str:
    """What to install when SQLAlchemy cannot import the database driver of ``url``."""
    cause = exc.__cause__ if isinstance(exc.__cause__, ImportError) else exc
    module = getattr(cause, "name", None)
    what = f" (no module {module!r})" if module else ""
    if url.startswith(("postgresql", "postgres")):
        if url.split("://", 1)[0].endswith("+psycopg2"):
            return (f"the PostgreSQL driver is not installed{what}: pip install psycopg2-binary, or write "
                    "postgresql:// and pip install \"scalesearch[postgres]\" (psycopg 3), then rerun")
        return (f"the PostgreSQL driver is not installed{what}: pip install \"scalesearch[postgres]\" (psycopg 3), "
                "then rerun")
    scheme = url.split("://", 1)[0]
    return (f"the database driver for {scheme}:// is not installed{what}: install it (SQLAlchemy's dialects page names "
            "it), then rerun")


def _connect(url: str, engine_kwargs: dict, heartbeat_interval: int, grace_period: int) -> RDBStorage:
    """RDBStorage, retried when the only problem is that another process created the tables at the same time."""
    for attempt in range(1, CREATE_ATTEMPTS + 1):
        try:
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")  # heartbeat_interval is "experimental" in Optuna 5
                return RDBStorage(
                    url, engine_kwargs=engine_kwargs, heartbeat_interval=heartbeat_interval,
                    grace_period=grace_period,
                    heartbeat_stale_trial_callback=RetryHeartbeatStaleTrialCallback(max_retry=MAX_RETRY),
                )
        except Exception as exc:
            if attempt == CREATE_ATTEMPTS or not any(s in str(exc) for s in _CREATED_CONCURRENTLY):
                raise
            time.sleep(random.uniform(0.1, 0.5) * attempt)  # jitter: the racing processes must not meet again
    raise AssertionError("unreachable")


def _damaged_sqlite_file(url: str, error: str) -> Path | None:
    """The SQLite file behind ``url`` when ``error`` says it is not a database or is corrupt, else None (a
    locked or unreachable file is not damaged: moving it aside would lose a good study)."""
    if not url.startswith("sqlite:///") or not any(s in error for s in _DAMAGED):
        return None
    path = Path(url[len("sqlite:///"):].split("?", 1)[0])
    return path if path.is_file() else None


def load_study_at(study_dir: Path | None, storage: str | None = None, name: str | None = None) -> optuna.Study:
    """The study behind a folder `grid` wrote (its study.db), or ``name`` in a shared ``storage`` (its only
    study when ``name`` is None): what `report` and `audit` read. Each wrong pointer is one UsageError."""
    if storage is None:
        if study_dir is None:
            raise UsageError("give a study folder (results/<study>), or --storage URL --study NAME")
        if not study_dir.is_dir():
            raise UsageError(f"{study_dir}: no such folder; point at a folder `scalesearch grid` wrote "
                             "(results/<study>)")
        if not (study_dir / "study.db").is_file():
            raise UsageError(f"{study_dir} is not a study folder (no study.db): point at a folder `scalesearch grid` "
                             "wrote (results/<study>), or give --storage URL --study NAME for a shared study")
        storage = default_url(study_dir)
    rdb = open_storage(storage)
    names = optuna.get_all_study_names(rdb)
    if name is None:
        if len(names) != 1:
            where = study_dir or redact(storage)
            raise UsageError(f"{where}: {'no study' if not names else f'{len(names)} studies'} in the storage; "
                             f"name one with --study ({', '.join(names) or 'none there'})")
        name = names[0]
    elif name not in names:
        raise UsageError(f"--study {name!r}: not in {redact(storage)} (it has: {', '.join(names) or 'none'})")
    return optuna.load_study(study_name=name, storage=rdb)
