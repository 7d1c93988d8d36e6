"""Presentation shared by the commands: one rich Console for tables (stdout) and one for progress and
errors (stderr), so that `--json` keeps stdout pure JSON; number formats; --save files."""

from __future__ import annotations

import os
import sys
from pathlib import Path
from typing import Any

import pandas as pd
from rich.console import Console
from rich.table import Table

from scalesearch.errors import UsageError
from scalesearch.jsonio import dumps, write_text_atomic
from scalesearch.units import format_size

console = Console()
err_console = Console(stderr=True)

FLOPS_HEADER = "FLOPs (multiply-adds)"


def fmt_int(n: int | float | None) -> str:
    return "-" if n is None else f"{int(n):,}"


def fmt_flops(n: int | float | None) -> str:
    """Exact count: '401,659,392'. Tables with many columns use fmt_short; files always keep exact integers."""
    return "-" if n is None else f"{int(n):,}"


def fmt_short(n: int | float | None, digits: int = 1) -> str:
    """'401.7M'."""
    return "-" if n is None else format_size(n, digits)


def fmt_ratio(x: float | None, digits: int = 2) -> str:
    return "-" if x is None else f"{x:.{digits}f}x"


def table(title: str, columns: list[str], rows: list[list[Any]], caption: str | None = None) -> Table:
    """A rich table whose cells are never cut to '…': a cell too wide for a narrow terminal folds onto a
    second line instead (a number split over two lines is still read; one cut to '1…' is lost). No padding
    at the table's outer edges, which is what lets a 6-column table of 14-digit counts fit 80 columns."""
    t = Table(title=title, caption=caption, header_style="bold", caption_justify="left", pad_edge=False)
    for i, c in enumerate(columns):
        t.add_column(c, justify="left" if i == 0 else "right", no_wrap=i == 0, overflow="fold")
    for r in rows:
        t.add_row(*[str(v) for v in r])
    return t


def print_json(data: Any) -> None:
    """Only JSON on stdout (for --json); NaN and infinities become null so any JSON parser reads it."""
    sys.stdout.write(dumps(data) + "\n")
    sys.stdout.flush()


def _folder_problem(folder: Path) -> str | None:
    """Why ``folder`` cannot hold new files (None when it can). Nothing is created: a refused command leaves no
    empty folder behind; the nearest existing ancestor must be a folder we may write in (mkdir works there)."""
    for ancestor in [folder, *folder.parents]:
        if ancestor.exists() or ancestor.is_symlink():
            if not ancestor.is_dir():
                return "is a file, not a folder" if ancestor == folder else f"{ancestor} is a file, not a folder"
            if not os.access(ancestor, os.W_OK | os.X_OK):
                return "the folder is not writable" if ancestor == folder else f"{ancestor} is not writable"
            return None
    return None


def check_writable_dir(path: Path, flag: str) -> Path:
    """Make sure the output folder ``path`` is (or can be created as) a writable folder, before any work;
    otherwise a UsageError naming ``flag``: "--out results/x: is a file, not a folder; pick another --out"."""
    path = Path(path)
    if (problem := _folder_problem(path)) is not None:
        raise UsageError(f"{flag} {path}: {problem}; pick another {flag}")
    return path


def check_writable_file(path: Path, flag: str) -> Path:
    """Make sure the file ``path`` can be written (its folder may be missing), before any work."""
    path = Path(path)
    problem: str | None = None
    if path.is_dir():
        problem = "is a folder, not a file"
    elif (folder_problem := _folder_problem(path.parent)) is not None:
        problem = f"{path.parent} {folder_problem}" if folder_problem == "is a file, not a folder" else folder_problem
    elif path.exists() and not os.access(path, os.W_OK):
        problem = "the file is not writable"
    if problem is not None:
        raise UsageError(f"{flag} {path}: {problem}; pick another {flag}")
    return path


def save_text(path: Path, text: str, flag: str = "--save") -> Path:
    """write_text_atomic whose OSError (disk full, permissions changed meanwhile) is a one-line UsageError."""
    try:
        return write_text_atomic(path, text)
    except OSError as exc:
        raise UsageError(f"{flag} {path}: cannot write ({exc.strerror or exc})") from None


def write_frame(frame: pd.DataFrame, path: Path, flag: str = "--save") -> Path:
    """Write ``frame`` as CSV (.csv) or a JSON list of records (.json), atomically."""
    suffix = path.suffix.lower()
    if suffix not in {".csv", ".json"}:
        raise UsageError(f"{path}: --save writes .csv or .json files")
    if suffix == ".csv":
        return save_text(path, frame.to_csv(index=False), flag)
    return save_text(path, dumps(frame.astype(object).where(frame.notna(), None).to_dict("records")) + "\n", flag)
