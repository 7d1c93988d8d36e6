"""Tables fit the terminal: at 60, 80 and 200 columns no cell is cut to '…', the priority columns stay (or
merge), what is dropped is named in one line with the file that has it; a pipe gets every column."""

from __future__ import annotations

import io
import re
from collections.abc import Callable
from pathlib import Path

import pandas as pd
import pytest
from rich.console import Console
from typer.testing import CliRunner

from scalesearch.cli import flops as flops_cmd, grid as grid_cmd, scale as scale_cmd
from scalesearch.cli.grid import ranked_table
from scalesearch.cli.main import app
from scalesearch.cli.output import PipeWideConsole, table
from scalesearch.core.spec import NetSpec
from scalesearch.core.specio import save_spec

EXAMPLE = Path(__file__).parents[2] / "results" / "example" / "trials.csv"
PRIORITY = ["#", "alpha", "beta", "gamma", "FLOPs", "proxy acc", "score"]


def render(renderable: object, width: int | None, terminal: bool) -> str:
    c = (Console(width=width, file=io.StringIO(), force_terminal=terminal, color_system=None) if width
         else PipeWideConsole(file=io.StringIO(), force_terminal=terminal, color_system=None))
    c.print(renderable)
    return c.file.getvalue()  # type: ignore[attr-defined]  # the console writes to a StringIO


def assert_not_cropped(text: str) -> None:
    """Every line of the table ends in its right border: nothing ran past the width and was cut off."""
    rows = [line.rstrip() for line in text.splitlines() if line.startswith(("┏", "┃", "┡", "│", "└"))]
    assert rows and all(line.endswith(("┓", "┃", "┩", "│", "┘")) for line in rows), text


def header_cells(text: str) -> str:
    """The header rows of a rich table (between the top rule and the heavy rule under the header)."""
    lines = text.splitlines()
    top = next(i for i, line in enumerate(lines) if line.startswith("┏"))
    end = next(i for i, line in enumerate(lines) if line.startswith("┡"))
    return " ".join(lines[top + 1:end])


@pytest.fixture(scope="module")
def example() -> pd.DataFrame:
    frame = pd.read_csv(EXAMPLE)
    frame["rank"] = frame["rank"].astype("Int64")
    return frame


@pytest.mark.parametrize("width", [60, 80, 200])
@pytest.mark.parametrize("terminal", [True, False])
def test_ranked_table_fits(example: pd.DataFrame, width: int, terminal: bool) -> None:
    text = render(ranked_table(example, caption="a caption", more="results/x/trials.csv"), width, terminal)
    assert "…" not in text
    assert max(len(line) for line in text.splitlines()) <= width
    assert_not_cropped(text)
    heads = header_cells(text)
    for name in PRIORITY:
        assert name in heads or (name in ("alpha", "beta", "gamma") and "alpha, beta" in heads), (name, text)
    for value in ("890.4M", "0.9324", "98.6%", "401.7M", "0.8479"):  # numbers whole, on one line
        assert value in text
    dropped = [line for line in text.splitlines() if line.startswith("not shown")]
    if width < 162:  # the natural width of the example's table
        assert "results/x/trials.csv" in text and ("not shown at" in text or "merged" in text)
    else:
        assert dropped == [] and "group" in heads


def test_at_80_columns_the_triple_is_not_merged(example: pd.DataFrame) -> None:
    heads = header_cells(render(ranked_table(example), 80, True))
    assert re.search(r"alpha .*beta .*gamma", heads) and "alpha, beta" not in heads


def test_a_pipe_gets_every_column(example: pd.DataFrame) -> None:
    text = render(ranked_table(example), None, False)
    heads = header_cells(text)
    for name in ("a*b^2*g^2", "px", "FLOPs (multiply-adds)", "params", "seeds", "status", "group"):
        assert name in heads
    assert "not shown" not in text and "…" not in text


def test_free_text_wraps_but_is_never_dropped() -> None:
    t = table("t", ["", "value"], [["data", "a long description " * 8]], wrap=["value"])
    text = render(t, 60, True)
    assert "value" in header_cells(text) and "not shown" not in text and "…" not in text


@pytest.fixture
def terminal_console(monkeypatch: pytest.MonkeyPatch) -> Callable[[int], Console]:
    """install(width): the commands print to a fresh terminal console of that width, returned for reading."""

    def install(width: int) -> Console:
        c = Console(width=width, file=io.StringIO(), force_terminal=True, color_system=None)
        for module in (flops_cmd, scale_cmd, grid_cmd):
            monkeypatch.setattr(module, "console", c)
        return c

    return install


@pytest.mark.parametrize("width", [60, 80, 200])
def test_command_tables_fit(terminal_console, tiny_spec: NetSpec, tmp_path: Path, width: int) -> None:
    spec = save_spec(tiny_spec, tmp_path / "tiny.yaml")
    commands = [
        ["flops", "--baseline", str(spec), "--alpha", "1.2", "--beta", "1.1", "--gamma", "1.15"],
        ["scale", "--baseline", str(spec), "--alpha", "1.2", "--beta", "1.1", "--gamma", "1.15", "--phi", "0:3",
         "--out", str(tmp_path / "s")],
        ["grid", "--baseline", str(spec), "--data", "synthetic", "--alpha", "1.0:2.0:0.2", "--beta", "1.0:1.4:0.2",
         "--gamma", "1.0:1.4:0.2", "--tolerance", "0.1", "--out", str(tmp_path / "g"), "--dry-run"],
    ]
    for args in commands:
        c = terminal_console(width)
        result = CliRunner().invoke(app, args)
        assert result.exit_code == 0, result.output
        text = c.file.getvalue()
        assert "…" not in text, text
        assert max(len(line) for line in text.splitlines()) <= width, text
        assert_not_cropped(text)
        heads = header_cells(text)
        first = {"flops": ["part", "FLOPs", "share"], "scale": ["phi", "multiply-adds", "2^phi"],
                 "grid": ["FLOPs"]}[args[0]]
        assert all(h in heads for h in first), (args[0], text)
