"""Study storage: any Optuna RDB URL, SQLite under the study folder by default, with heartbeats.

Heartbeats are what make a killed worker's trial come back: a RUNNING trial whose heartbeat is older than
the grace period is failed by the next worker that looks (``fail_stale_trials``), and
``RetryHeartbeatStaleTrialCallback`` queues a copy with the same parameters. Only RDB storages (SQLite,
PostgreSQL, MySQL) have heartbeats; journal storages do not, so they are not offered.
"""

from __future__ import annotations

import importlib.util
import re
import warnings
from pathlib import Path

import optuna
from optuna.storages import RDBStorage, RetryHeartbeatStaleTrialCallback

from scalesearch.errors import StorageError

MAX_RETRY = 3  # re-queue a trial whose worker died at most this often; then the next run retries it


def default_url(study_dir: Path) -> str:
    return f"sqlite:///{(study_dir / 'study.db').resolve()}"


def redact(url: str) -> str:
    """The URL without its password, for messages and files."""
    return re.sub(r"(://[^:/@]+):[^@]*@", r"\1:***@", url)


def normalise_url(url: str) -> str:
    """``postgresql://`` means psycopg2 to SQLAlchemy; use psycopg 3 when that is what is installed."""
    if url.startswith(("postgresql://", "postgres://")) and importlib.util.find_spec("psycopg2") is None \
            and importlib.util.find_spec("psycopg") is not None:
        return "postgresql+psycopg://" + url.split("://", 1)[1]
    return url


def open_storage(url: str, *, heartbeat_interval: int = 10, grace_period: int = 60) -> RDBStorage:
    """Connect (creating Optuna's tables if needed) before any work, so a bad URL fails in one line."""
    if "://" not in url:
        raise StorageError(f"storage {url!r} is not a URL: use e.g. sqlite:///path/study.db or "
                           "postgresql://user:password@host:5432/dbname")
    if url.startswith("sqlite:///"):
        Path(url[len("sqlite:///"):]).parent.mkdir(parents=True, exist_ok=True)
    engine_kwargs = {"connect_args": {"timeout": 60}} if url.startswith("sqlite") else {"pool_pre_ping": True}
    if url.startswith("postgresql"):
        engine_kwargs["connect_args"] = {"connect_timeout": 10}
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")  # heartbeat_interval is "experimental" in Optuna 5
            return RDBStorage(
                normalise_url(url), engine_kwargs=engine_kwargs, heartbeat_interval=heartbeat_interval,
                grace_period=grace_period,
                heartbeat_stale_trial_callback=RetryHeartbeatStaleTrialCallback(max_retry=MAX_RETRY),
            )
    except Exception as exc:  # SQLAlchemy raises a dozen kinds (driver missing, refused, auth, bad URL)
        first = next((line for line in str(exc).strip().splitlines() if line.strip()), type(exc).__name__)
        raise StorageError(f"cannot open study storage {redact(url)}: {first.strip()[:200]}") from None


def quiet_optuna() -> None:
    """Optuna logs a line per trial (and a traceback when Ctrl-C fails one); the rich progress display
    and the resume message say what matters. Real errors still propagate as exceptions."""
    optuna.logging.set_verbosity(optuna.logging.ERROR)
    warnings.filterwarnings("ignore", category=optuna.exceptions.ExperimentalWarning)
