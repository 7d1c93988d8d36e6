"""The `scalesearch` app. Commands are registered here through `guarded`, the one place where library
errors become a one-line message on stderr and an exit code (no traceback for bad input)."""

from __future__ import annotations

import functools
from collections.abc import Callable
from typing import Any

import typer

from scalesearch import __version__
from scalesearch.errors import ScaleSearchError
from scalesearch.report.console import err_console

app = typer.Typer(
    name="scalesearch",
    help="Find compound scaling coefficients (alpha, beta, gamma) for a ConvNet baseline, and scale it. "
    "FLOPs are multiply-adds throughout.",
    no_args_is_help=True,
    pretty_exceptions_enable=False,
    add_completion=False,
)


def guarded(command: Callable[..., Any]) -> Callable[..., Any]:
    """Run a command; a ScaleSearchError becomes 'error: <message>' and its exit code."""

    @functools.wraps(command)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        try:
            return command(*args, **kwargs)
        except ScaleSearchError as exc:
            err_console.print(f"[bold red]error:[/] {exc}", highlight=False, soft_wrap=True)
            raise typer.Exit(exc.exit_code) from None

    return wrapper


def _version(value: bool) -> None:
    if value:
        typer.echo(f"scalesearch {__version__}")
        raise typer.Exit()


@app.callback()
def _root(
    version: bool = typer.Option(False, "--version", callback=_version, is_eager=True, help="Print the version."),
) -> None:
    """Find compound scaling coefficients for a ConvNet baseline, and scale it."""


def _register() -> None:
    from scalesearch.cli import baselines, flops, grid, scale, train

    app.command("baselines")(guarded(baselines.baselines))
    app.command("flops")(guarded(flops.flops))
    app.command("scale")(guarded(scale.scale))
    app.command("train")(guarded(train.train))
    app.command("grid")(guarded(grid.grid))


_register()


def main() -> None:
    app()


if __name__ == "__main__":
    main()
