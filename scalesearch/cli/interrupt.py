"""Ctrl-C, said the same way by every command however early it comes: one line on stderr, exit code 130."""

from __future__ import annotations

import signal
import sys
from collections.abc import Callable

INTERRUPTED = 130  # 128 + SIGINT: what a shell reports for a command stopped by Ctrl-C
LINE = "interrupted (Ctrl-C): stopped before the command finished"


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
