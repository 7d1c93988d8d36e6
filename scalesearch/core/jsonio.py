"""The one place that turns values into JSON, writes files atomically and stamps times.

JSON has no NaN or Infinity (Python's json module writes them anyway, and other parsers reject the
file), so every non-finite float becomes null; numpy scalars, tuples, enums and paths become their plain
JSON forms. A file is written to a temporary name beside it and renamed, so a reader (another worker, a
user's `cat`, a crash half-way) never sees half a file. Only a regular file or a new path is written: the
rename would replace a symbolic link, a named pipe or a device node (as root, /dev/null itself) with a
regular file, so anything else at the path is refused (``output_problem``).
"""

from __future__ import annotations

import json
import math
import os
import stat
import tempfile
import time
from collections.abc import Mapping
from enum import Enum
from pathlib import Path
from typing import Any

from scalesearch.core.errors import UsageError


def json_safe(value: Any) -> Any:
    """A copy of ``value`` that ``json.dumps(..., allow_nan=False)`` accepts."""
    if isinstance(value, Enum):  # before str: a StrEnum member becomes its plain string
        return json_safe(value.value)
    if isinstance(value, bool) or value is None or isinstance(value, str):
        return value
    if isinstance(value, int):
        return int(value)
    if isinstance(value, float):
        return value if math.isfinite(value) else None
    if isinstance(value, dict):
        return {str(k): json_safe(v) for k, v in value.items()}
    if isinstance(value, (list, tuple, set, frozenset)):
        return [json_safe(v) for v in value]
    if isinstance(value, Path):
        return str(value)
    item = getattr(value, "item", None)  # numpy and torch scalars
    if callable(item):
        try:
            return json_safe(item())
        except (TypeError, ValueError):
            pass
    try:  # pandas' NA and NaT (pandas is imported only when such a value reaches here)
        import pandas as pd

        if pd.isna(value) is True:
            return None
    except (ImportError, TypeError, ValueError):
        pass
    return str(value)


def json_object(value: Mapping[str, Any]) -> dict[str, Any]:
    """``json_safe`` of a mapping (a record's fields), typed as the JSON object it gives."""
    return {str(k): json_safe(v) for k, v in value.items()}


def dumps(value: Any, *, indent: int | None = 2, sort_keys: bool = False) -> str:
    """Strict JSON text of ``value`` (see json_safe)."""
    return json.dumps(json_safe(value), indent=indent, sort_keys=sort_keys, allow_nan=False)


def _umask() -> int:
    """The process umask (reading it means setting it: set it straight back)."""
    mask = os.umask(0o022)
    os.umask(mask)
    return mask


_KINDS = ((stat.S_ISLNK, "a symbolic link"), (stat.S_ISDIR, "a folder"), (stat.S_ISFIFO, "a named pipe (FIFO)"),
          (stat.S_ISCHR, "a device"), (stat.S_ISBLK, "a device"), (stat.S_ISSOCK, "a socket"))


def output_problem(path: Path) -> str | None:
    """Why ``path`` cannot be written as an output file (None when it is a new path or a regular file).
    The path itself is looked at, not what a link points to: a link is refused, never replaced."""
    try:
        mode = os.lstat(path).st_mode
    except FileNotFoundError:
        return None
    except OSError as exc:  # a parent that is a file (ENOTDIR), a folder we may not look into
        return f"cannot be looked at ({exc.strerror or exc})"
    if stat.S_ISREG(mode):
        return None
    kind = next((name for test, name in _KINDS if test(mode)), "not a regular file")
    return f"is {kind}: only a regular file or a new path is written"


def check_output(path: Path, what: str | None = None) -> Path:
    """``path`` when it may be written; otherwise a UsageError "<what or path>: is a named pipe (FIFO), not
    a regular file: ...". Called before any work, and again by every write (the last line of defence)."""
    path = Path(path)
    if (problem := output_problem(path)) is not None:
        raise UsageError(f"{what or path}: {problem}")
    return path


def write_bytes_atomic(path: Path, data: bytes) -> Path:
    """Write ``data`` to ``path`` through a temporary file in the same folder and a rename. Refused
    (UsageError) when something other than a regular file is at ``path``."""
    path = check_output(Path(path))
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    try:
        # mkstemp makes the file private (0600); a result file gets the mode open() would give it, so a
        # report copied to a web server or shared folder is readable there.
        os.chmod(tmp, 0o666 & ~_umask())
        with os.fdopen(fd, "wb") as fh:
            fh.write(data)
        check_output(path)  # something put there while we wrote is left alone
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
    return path


def write_text_atomic(path: Path, text: str) -> Path:
    """Write ``text`` (UTF-8) as write_bytes_atomic does."""
    if not isinstance(text, str):
        raise TypeError(f"write_text_atomic takes a str, not {type(text).__name__}")
    return write_bytes_atomic(path, text.encode("utf-8"))


def write_json(path: Path, value: Any) -> Path:
    """Strict JSON, indented, newline-terminated, written atomically."""
    return write_text_atomic(path, dumps(value) + "\n")


def timestamp(seconds: float | None = None) -> str:
    """Local time with its UTC offset, e.g. 2026-11-23T10:33:36+0000 (ISO 8601, basic offset)."""
    return time.strftime("%Y-%m-%dT%H:%M:%S%z", time.localtime(seconds))
