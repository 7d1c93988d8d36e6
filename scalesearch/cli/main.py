"""The `scalesearch` app. Commands are registered here through `guarded`, the one place where library
errors become a one-line message on stderr and an exit code (no traceback for bad input). A library
FieldError names a setting's field (``batch_size``); `guarded` names the command's flag instead
(``--batch-size``). Values Typer refuses before a command runs (a choice not offered, a number that does
not parse, an output path that is refused as it is parsed) get the same one-line form from the root
group, `_App`, and so does Ctrl-C: one line, exit code 130. The console script starts in
`scalesearch.cli.entry`, which catches a Ctrl-C that comes while this module and the commands load."""

from __future__ import annotations

import contextlib
import functools
import inspect
import os
import re
import traceback
from collections.abc import Callable, Iterator
from typing import Annotated, Any, NoReturn

import typer
import typer.main
from rich.markup import escape
from typer.core import TyperCommand, TyperGroup

from scalesearch import __version__
from scalesearch.cli.interrupt import INTERRUPTED, deliver_lost_interrupts, interrupted
from scalesearch.cli.output import err_console
from scalesearch.core.errors import FieldError, ScaleSearchError
from scalesearch.core.redaction import redact_text

# Library fields set by a flag of another name. Every other field is found by name: a FieldError about
# ``batch_size`` names the command's ``--batch-size`` (dotted fields such as ``proxy.epochs`` by their last part).
FIELD_PARAMETERS = {"heartbeat_interval": "heartbeat", "grace_period": "grace", "batch": "latency_batch",
                    "dtype": "latency_dtype", "mode": "latency_mode", "threads": "latency_threads"}


def _flow(text: str) -> str:
    """A docstring as help: paragraphs (split at blank lines) whose lines are joined, so the help wraps them
    at the terminal's width instead of breaking where the source did."""
    paragraphs = inspect.cleandoc(text).split("\n\n")
    return "\n\n".join(" ".join(line.strip() for line in p.splitlines()) for p in paragraphs)


def _no_flag_metavars(params: list[Any]) -> list[Any]:
    """Typer's rich help shows a flag's type (``--json <bool>``) as if the flag took a value: a flag has
    none to show. An empty metavar hides it (Typer shows a set metavar instead of the type)."""
    for param in params:
        if getattr(param, "is_flag", False) and getattr(param, "metavar", None) is None:
            param.metavar = ""
    return params


class _Command(TyperCommand):
    """Every command: help paragraphs that flow, flags without a value type in the help."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        if self.help:
            self.help = _flow(self.help)

    def get_params(self, ctx: Any) -> list[Any]:
        return _no_flag_metavars(super().get_params(ctx))

    def collect_usage_pieces(self, ctx: Any) -> list[str]:
        """'STUDY_DIR' for a required argument, as usage lines write it (Typer writes '{STUDY_DIR}');
        optional ones stay '[STUDY_DIR]'."""
        return [re.sub(r"^\{(.+)\}(\.\.\.)?$", r"\1\2", piece) for piece in super().collect_usage_pieces(ctx)]


class _App(TyperGroup):
    """The root group. A value Typer refuses before a command runs (a choice that is not offered, a number that
    does not parse, an unknown option, an output path refused as it is parsed) is reported like a library
    error: one line on stderr, exit code 2. Ctrl-C at any point is one line, exit code 130."""

    def parse_args(self, ctx: Any, args: list[str]) -> list[str]:
        with _one_line_usage_errors():
            return super().parse_args(ctx, args)

    def invoke(self, ctx: Any) -> Any:  # parses the subcommand's options, then runs it
        with _one_line_usage_errors():
            return super().invoke(ctx)

    def get_params(self, ctx: Any) -> list[Any]:
        return _no_flag_metavars(super().get_params(ctx))


@contextlib.contextmanager
def _one_line_usage_errors() -> Iterator[None]:
    try:
        yield
    except typer.TyperException as exc:  # Click's usage errors; Exit and Abort are not TyperExceptions
        if type(exc).__name__ == "NoArgsIsHelpError":  # `scalesearch` alone prints the help
            raise
        # Typer validates through pydantic, whose messages start "Value error, ": not the user's concern.
        message = exc.format_message().replace("Value error, ", "")
        ctx = getattr(exc, "ctx", None)
        hint = f" (see '{ctx.command_path} --help')" if ctx is not None else ""
        _fail(message + hint, getattr(exc, "exit_code", 2))
    except ScaleSearchError as exc:  # an option's callback refused its value as it was parsed (an output path)
        _fail(str(exc), exc.exit_code)
    except KeyboardInterrupt:  # a command that says nothing of its own on Ctrl-C
        interrupted(lambda line: err_console.print(line, highlight=False, markup=False, soft_wrap=True),
                    exiting=False)
        raise typer.Exit(INTERRUPTED) from None


app = typer.Typer(
    name="scalesearch",
    cls=_App,
    help="Find compound scaling coefficients (alpha, beta, gamma) for a ConvNet baseline, and scale it. "
    "FLOPs are multiply-adds throughout.",
    no_args_is_help=True,
    pretty_exceptions_enable=False,
    add_completion=False,
)


def _fail(message: str, code: int) -> NoReturn:
    """'error: <message>' as one line on stderr (the message is text, never rich markup; a URL's password in
    it is masked), then exit."""
    err_console.print(f"[bold red]error:[/] {escape(redact_text(message))}", highlight=False, soft_wrap=True,
                      emoji=False)
    raise typer.Exit(code) from None


@functools.cache
def command_flags(command: Callable[..., Any]) -> dict[str, str]:
    """Name -> long flag for every option of ``command``, as Typer builds it. Both the parameter's name and the
    flag's own are keys: ``json_out`` and ``json`` -> ``--json``; ``compile_`` and ``compile`` -> ``--compile``."""
    probe = typer.Typer(add_completion=False)
    probe.command()(command)
    flags = {}
    for param in typer.main.get_command(probe).params:
        long = [opt for opt in param.opts if opt.startswith("--")]
        if param.name and long:
            flags[long[0][2:].replace("-", "_")] = flags[param.name] = long[0]
    return flags


def flag_for(command: Callable[..., Any], field: str) -> str | None:
    """The flag of ``command`` that sets the library field ``field``, or None if no flag does."""
    name = field.rsplit(".", 1)[-1]
    flags = command_flags(command)
    return flags.get(name) or flags.get(FIELD_PARAMETERS.get(name, ""))


DEBUG = "SCALESEARCH_DEBUG"  # =1: an error also prints the traceback behind it (a builder's own, say)


def _show_traceback(exc: BaseException) -> None:
    """With SCALESEARCH_DEBUG=1, the traceback of what caused ``exc`` (the user's code, for a builder) or of
    ``exc`` itself, on stderr before the one-line message."""
    if os.environ.get(DEBUG, "").strip() not in ("", "0"):
        cause = exc.__cause__ or exc
        text = redact_text("".join(traceback.format_exception(cause)).rstrip())
        err_console.print(text, highlight=False, markup=False, soft_wrap=True, emoji=False)


def guarded(command: Callable[..., Any]) -> Callable[..., Any]:
    """Run a command; a ScaleSearchError becomes 'error: <message>' and its exit code. A FieldError names the
    flag that set the field, when the command has one: ``error: --epochs 0: must be an integer >= 1``. With
    SCALESEARCH_DEBUG=1 the traceback behind the error comes first (a builder's own exception)."""

    @functools.wraps(command)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        try:
            return command(*args, **kwargs)
        except ScaleSearchError as exc:
            _show_traceback(exc)
            message = str(exc)
            if isinstance(exc, FieldError) and (flag := flag_for(command, exc.field)) is not None:
                message = exc.render(flag)
            _fail(message, exc.exit_code)

    return wrapper


def _version(value: bool) -> None:
    if value:
        typer.echo(f"scalesearch {__version__}")
        raise typer.Exit()


@app.callback()
def _root(
    version: Annotated[bool, typer.Option(
        "--version", callback=_version, is_eager=True, help="Print the version.")] = False,
) -> None:
    """Find compound scaling coefficients for a ConvNet baseline, and scale it."""


def _register() -> None:
    from scalesearch.cli import audit, baselines, compare, flops, grid, report, scale, train

    for name, command in (("baselines", baselines.baselines), ("flops", flops.flops), ("scale", scale.scale),
                          ("train", train.train), ("grid", grid.grid), ("report", report.report),
                          ("compare", compare.compare), ("audit", audit.audit)):
        app.command(name, cls=_Command)(guarded(command))


_register()


def main() -> None:
    """What `python -m scalesearch.cli.main` runs; the console script starts in scalesearch.cli.entry, which
    also catches a Ctrl-C while this module loads."""
    deliver_lost_interrupts()
    app()


if __name__ == "__main__":
    main()
