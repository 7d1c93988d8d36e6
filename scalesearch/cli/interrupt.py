"""Ctrl-C, said the same way by every command however early it comes: one line on stderr, exit code 130."""

from __future__ import annotations

import _thread
import signal
import sys
import threading
from collections.abc import Callable
from typing import Any

INTERRUPTED = 130  # 128 + SIGINT: what a shell reports for a command stopped by Ctrl-C
LINE = "interrupted (Ctrl-C): stopped before the command finished"


def deliver_lost_interrupts() -> None:
    """A Ctrl-C that lands while Python runs a callback it cannot raise from (a weakref's during garbage
    collection, a ``__del__``) is printed as "Exception ignored in ... KeyboardInterrupt" with a traceback, and
    is lost: the command goes on. From now on it is handed to the main thread instead (``interrupt_main``), where
    the command's own Ctrl-C handling ends it with one line. Other unraisable errors reach the previous hook."""
    previous = sys.unraisablehook
    if getattr(previous, "_scalesearch", False):
        return

    def hook(unraisable: Any) -> None:
        if unraisable.exc_type is KeyboardInterrupt:
            # Not from here: the interrupt would trip inside this hook and be lost again. A moment later,
            # once the callback has returned, from another thread.
            threading.Timer(0.05, _thread.interrupt_main).start()
            return
        previous(unraisable)

    hook._scalesearch = True  # type: ignore[attr-defined]  # a mark: installed once however often it is called
    sys.unraisablehook = hook


def _write(line: str) -> None:
    try:
        sys.stderr.write(line + "\n")
        sys.stderr.flush()
    except (OSError, ValueError):  # stderr closed or a broken pipe: the exit code still says it
        pass


def interrupted(say: Callable[[str], None] = _write, *, exiting: bool = True) -> None:
    """Say once that Ctrl-C stopped the command. ``exiting``: the process ends next (the console script), so a
    second Ctrl-C meanwhile is ignored; the app called in-process (tests, a notebook) leaves Ctrl-C as it was."""
    if exiting:
        signal.signal(signal.SIGINT, signal.SIG_IGN)
    say(LINE)
