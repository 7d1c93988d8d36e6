"""Shared terminal output: one rich Console for tables (stdout) and one for progress and errors (stderr),
so that `--json` can keep stdout pure JSON."""

from __future__ import annotations

import json
import sys
from typing import Any

from rich.console import Console
from rich.table import Table

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
    t = Table(title=title, caption=caption, header_style="bold", caption_justify="left")
    for i, c in enumerate(columns):
        t.add_column(c, justify="left" if i == 0 else "right", no_wrap=i == 0)
    for r in rows:
        t.add_row(*[str(v) for v in r])
    return t


def print_json(data: Any) -> None:
    """Only JSON on stdout (for --json); NaN becomes null so any JSON parser reads it."""
    sys.stdout.write(json.dumps(_clean(data), indent=2) + "\n")
    sys.stdout.flush()


def _clean(x: Any) -> Any:
    if isinstance(x, float) and x != x:
        return None
    if isinstance(x, dict):
        return {k: _clean(v) for k, v in x.items()}
    if isinstance(x, (list, tuple)):
        return [_clean(v) for v in x]
    return x
