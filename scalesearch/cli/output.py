"""Presentation shared by the commands: one rich Console for tables (stdout) and one for progress and
errors (stderr), so that `--json` keeps stdout pure JSON; number formats; --save files."""

from __future__ import annotations

import os
import re
import sys
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

import pandas as pd
from rich.cells import cell_len
from rich.console import Console, ConsoleDimensions, ConsoleOptions, RenderResult
from rich.progress import BarColumn, MofNCompleteColumn, Progress, SpinnerColumn, TextColumn, TimeElapsedColumn
from rich.table import Table
from rich.text import Text

from scalesearch.core.errors import UsageError
from scalesearch.core.jsonio import dumps, output_problem, write_text_atomic
from scalesearch.core.units import format_size

PIPE_WIDTH = 1000  # stdout that is no terminal (a pipe, a file, a CI log): wide enough for every column


class PipeWideConsole(Console):
    """A Console that is as wide as its terminal, or PIPE_WIDTH where its output is no terminal: a table piped
    to a file keeps every column (FitTable only drops columns a real terminal cannot show). An explicit
    width wins, as in rich: ``width=`` or the COLUMNS environment variable."""

    @property
    def size(self) -> ConsoleDimensions:
        size = super().size
        if self._width is None and not self.is_terminal:
            return ConsoleDimensions(PIPE_WIDTH, size.height)
        return size

    @size.setter
    def size(self, new_size: tuple[int, int]) -> None:
        self._width, self._height = new_size


console = PipeWideConsole()
err_console = Console(stderr=True)

class Steps:
    """Progress of a command's slow steps on stderr. On a terminal, a bar (transient: gone when done). Where
    stderr is no terminal (a pipe, a file, a CI log), a bar would print nothing or control codes: there one
    plain line per finished step ('[3/12] efficientnet-b2: 1.03G multiply-adds'), as grid's display does,
    the description above the first (so an input refused before any step is still one line alone).
    ``quiet`` (--json) shows nothing. Use as a context manager."""

    def __init__(self, description: str, total: int | None = None, *, quiet: bool = False,
                 console: Console | None = None) -> None:
        self.console = console or err_console
        self.plain = not quiet and not self.console.is_terminal
        self.description, self.total, self.count = description, total, 0
        self.bar = Progress(SpinnerColumn(), TextColumn("{task.description}"), BarColumn(), MofNCompleteColumn(),
                            TimeElapsedColumn(), console=self.console, transient=True, disable=quiet or self.plain)
        self.task = self.bar.add_task(description, total=total)

    def __enter__(self) -> Steps:
        self.bar.start()
        return self

    def __exit__(self, *exc: Any) -> None:
        self.bar.stop()

    def doing(self, text: str) -> None:
        """What runs now (the bar's description; nothing in plain lines, which say what is done)."""
        self.bar.update(self.task, description=text)

    def done(self, text: str) -> None:
        """One step finished: the bar advances; plain: '[done/total] text'."""
        self.count += 1
        self.bar.update(self.task, completed=self.count)
        if self.plain:
            if self.count == 1:
                self._line(self.description)
            self._line(f"[{self.count}/{self.total}] {text}" if self.total else f"[{self.count}] {text}")

    def _line(self, text: str) -> None:
        self.console.print(text, highlight=False, markup=False, soft_wrap=True)


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


def table(title: str, columns: list[str], rows: list[list[Any]], caption: str | None = None, *,
          keep: Sequence[str] = (), prefer: Sequence[str] = (), merge: Sequence[str] = (),
          wrap: Sequence[str] = (), more: str = "--json") -> FitTable:
    """A table that fits the console it is printed on (see FitTable). Columns in neither ``keep`` nor ``prefer``
    go first (rightmost first), then ``prefer``'s (last first); ``merge``'s columns become one "a,b,c" column
    before any of ``keep`` (most important first) goes. ``wrap``: free-text columns whose cells may wrap at
    spaces (every other cell stays on one line). ``more``: where every column is (a file, or --json)."""
    fit = FitTable(title, columns, [[str(v) for v in r] for r in rows], caption, keep, prefer, merge, more)
    fit.wrap = set(wrap)
    return fit


class FitTable:
    """A rich table whose numbers are never cut to '1…'. Columns that do not fit the console's width are
    dropped by priority (or merged) and one line says which and where they are; the rest wrap only at spaces
    (headers, free text), never inside a number. Printed through ``console`` (a PipeWideConsole) to a pipe,
    a file or a CI log, the width is PIPE_WIDTH and every column shows at the table's natural width."""

    def __init__(self, title: str, columns: list[str], rows: list[list[str]], caption: str | None,
                 keep: Sequence[str], prefer: Sequence[str], merge: Sequence[str], more: str) -> None:
        self.title, self.columns, self.rows, self.caption = title, list(columns), rows, caption
        self.keep, self.prefer, self.merge, self.more = list(keep), list(prefer), list(merge), more
        self.wrap: set[str] = set()

    def __rich_console__(self, console: Console, options: ConsoleOptions) -> RenderResult:
        columns, rows, dropped, merged = self.fit(options.max_width)
        yield self.render(columns, rows, options.max_width)
        if dropped or merged:
            said = [f"not shown at {options.max_width} columns: {', '.join(dropped)}"] if dropped else []
            said += [f"{' + '.join(self.merge)} merged into one column"] if merged else []
            yield Text(f"{'; '.join(said)} (every column: {self.more})", style="dim")

    def fit(self, width: int) -> tuple[list[str], list[list[str]], list[str], bool]:
        """(columns, rows, dropped columns, merged?) for ``width``: drop the columns in neither ``keep`` nor
        ``prefer`` (rightmost first), shorten headers ('FLOPs (multiply-adds)' -> 'FLOPs'), drop ``prefer``'s,
        merge, then drop kept columns, least important first."""
        columns, rows, keep, merge = self.columns, self.rows, list(self.keep), list(self.merge)
        optional = [c for c in reversed(columns) if c not in keep and c not in self.prefer]
        preferred = [c for c in reversed(self.prefer) if c in columns]
        dropped: list[str] = []
        short = merged = False

        def shown() -> list[str]:
            return [c for c in columns if c not in dropped]

        while len(shown()) > 1 and self._needed(shown(), columns, rows) > width:
            if optional:
                dropped.append(optional.pop(0))
            elif not short:
                short = True
                rename = {c: _short(c) for c in columns}
                columns = [rename[c] for c in columns]
                keep = [rename.get(c, c) for c in keep]
                preferred = [rename[c] for c in preferred]
                dropped = [rename[c] for c in dropped]
            elif preferred:
                dropped.append(preferred.pop(0))
            elif merge and not merged and all(m in shown() for m in merge):
                merged = True
                columns, rows = _merge(columns, rows, merge)
                keep = [", ".join(merge) if c == merge[0] else c for c in keep if c not in merge[1:]]
            else:
                dropped.append(next(c for c in reversed(keep) if c in shown()))
        index = [i for i, c in enumerate(columns) if c not in dropped]
        return [columns[i] for i in index], [[r[i] for i in index] for r in rows], dropped, merged

    def render(self, columns: list[str], rows: list[list[str]], width: int) -> Table:
        t = Table(title=self.title, caption=self.caption, header_style="bold", caption_justify="left",
                  pad_edge=False)
        for i, (c, w) in enumerate(zip(columns, self._widths(columns, rows, width), strict=True)):
            t.add_column(c, justify="left" if i == 0 else "right", overflow="fold", width=w)
        for r in rows:
            t.add_row(*r)
        return t

    def _widths(self, columns: list[str], rows: list[list[str]], width: int) -> list[int]:
        """Each column's width, set here rather than left to rich (whose shrinking can fold a number while a
        long header keeps its width): the natural width, less what the table is too wide, taken from the
        columns whose header or free text can wrap, down to their minimum (the longest number or word)."""
        cells = [[r[i] for r in rows] for i in range(len(columns))]
        out = [max(cell_len(x) for x in [c, *col, ""]) for c, col in zip(columns, cells, strict=True)]
        least = [self._min_width(c, col) for c, col in zip(columns, cells, strict=True)]
        excess = sum(out) + 3 * len(out) - 1 - width
        while excess > 0:
            slack = [w - m for w, m in zip(out, least, strict=True)]
            i = max(range(len(out)), key=slack.__getitem__)
            if slack[i] <= 0:
                break  # only possible when not even the minimum fits: fit() has already dropped what it can
            out[i] -= 1
            excess -= 1
        return out

    def _min_width(self, header: str, cells: list[str]) -> int:
        """Headers wrap at spaces; cells only in ``wrap`` columns (a number or '96.4% ± 1.0%' stays whole)."""
        words = [w for text in cells for w in text.split()] if header in self.wrap else cells
        return max(cell_len(w) for w in [*header.split(), *words, ""])

    def _needed(self, shown: list[str], columns: list[str], rows: list[list[str]]) -> int:
        """Width of the ``shown`` columns at their minimum: borders (pad_edge=False) and padding, 3 per column."""
        index = [columns.index(c) for c in shown]
        return sum(self._min_width(columns[i], [r[i] for r in rows]) for i in index) + 3 * len(index) - 1


def _short(header: str) -> str:
    return re.sub(r"\s*\(.*\)$", "", header) or header


def _merge(columns: list[str], rows: list[list[str]], names: Sequence[str]) -> tuple[list[str], list[list[str]]]:
    """The ``names`` columns as one: header 'alpha, beta, gamma', cells '1,1.2,1.15' (no space: never wrapped)."""
    index = [columns.index(n) for n in names]
    first = index[0]
    head = [c for i, c in enumerate(columns) if i not in index[1:]]
    head[first] = ", ".join(names)
    out = []
    for r in rows:
        cells = [c for i, c in enumerate(r) if i not in index[1:]]
        cells[first] = ",".join(r[i] for i in index)
        out.append(cells)
    return head, out


def print_json(data: Any) -> None:
    """Only JSON on stdout (for --json); NaN and infinities become null so any JSON parser reads it."""
    sys.stdout.write(dumps(data) + "\n")
    sys.stdout.flush()


# -- output paths: every command checks each of its outputs before any work ------------------------------
#
# One rule for every output (--save, --out, STUDY_DIR and the files written into them): a file is written
# only where nothing is, or over a regular file; its folder must exist or be creatable, and writable; a
# --save file must carry a suffix the command writes. The file options check at parse time (``save_file``,
# ``out_dir`` as Typer callbacks); outputs that depend on other options (a study's folder, --format) are
# checked at the start of the command with the same functions. jsonio refuses again at write time.


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


def check_writable_dir(path: Path, flag: str, files: Sequence[str] = ()) -> Path:
    """Make sure the output folder ``path`` is (or can be created as) a writable folder, and that none of the
    ``files`` the command writes into it is anything but a regular file, before any work; otherwise a
    UsageError naming ``flag``: "--out results/x: is a file, not a folder; pick another --out"."""
    path = Path(path)
    if (problem := _folder_problem(path)) is not None:
        raise UsageError(f"{flag} {path}: {problem}; pick another {flag}")
    for name in files:
        if (problem := output_problem(path / name)) is not None:
            raise UsageError(f"{flag} {path}: {name} {problem}; move it away or pick another {flag}")
    return path


def check_writable_file(path: Path, flag: str, suffixes: Sequence[str] = ()) -> Path:
    """Make sure the file ``path`` can be written (its folder may be missing) and, with ``suffixes``, that its
    name ends in one of them, before any work."""
    path = Path(path)
    problem: str | None = None
    if path.is_dir() and not path.is_symlink():
        problem = "is a folder, not a file"
    elif (folder_problem := _folder_problem(path.parent)) is not None:
        problem = f"{path.parent} {folder_problem}" if folder_problem == "is a file, not a folder" else folder_problem
    elif (kind := output_problem(path)) is not None:
        problem = kind
    elif suffixes and path.suffix.lower() not in suffixes:
        problem = f"not a {_either(suffixes)} file name"
    elif path.exists() and not os.access(path, os.W_OK):
        problem = "the file is not writable"
    if problem is not None:
        raise UsageError(f"{flag} {path}: {problem}; pick another {flag}")
    return path


def _either(names: Sequence[str]) -> str:
    """['.csv', '.json'] -> '.csv or .json'."""
    names = list(names)
    return names[0] if len(names) == 1 else f"{', '.join(names[:-1])} or {names[-1]}"


def save_file(flag: str, *suffixes: str) -> Callable[[Path | None], Path | None]:
    """A Typer callback that checks a file option (``--save``) as it is parsed: check_writable_file."""

    def check(value: Path | None) -> Path | None:
        return None if value is None else check_writable_file(value, flag, suffixes)

    return check


def out_dir(flag: str) -> Callable[[Path | None], Path | None]:
    """A Typer callback that checks a folder option (``--out``) as it is parsed: check_writable_dir."""

    def check(value: Path | None) -> Path | None:
        return None if value is None else check_writable_dir(value, flag)

    return check


def save_text(path: Path, text: str, flag: str = "--save") -> Path:
    """write_text_atomic whose OSError (disk full, permissions changed meanwhile) is a one-line UsageError."""
    try:
        return write_text_atomic(path, text)
    except OSError as exc:
        raise UsageError(f"{flag} {path}: cannot write ({exc.strerror or exc})") from None


FRAME_SUFFIXES = (".csv", ".json")


def write_frame(frame: pd.DataFrame, path: Path, flag: str = "--save") -> Path:
    """Write ``frame`` as CSV (.csv) or a JSON list of records (.json), atomically."""
    suffix = path.suffix.lower()
    if suffix not in FRAME_SUFFIXES:  # save_file(flag, *FRAME_SUFFIXES) refused it at parse time already
        raise UsageError(f"{flag} {path}: not a .csv or .json file name; pick another {flag}")
    if suffix == ".csv":
        return save_text(path, frame.to_csv(index=False), flag)
    return save_text(path, dumps(frame.astype(object).where(frame.notna(), None).to_dict("records")) + "\n", flag)
