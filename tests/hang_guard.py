"""A hang guard for tests of hostile input: fail instead of hanging the suite. Not a speed target: the bound
sits far above the slowest honest run (speed targets live in bench/)."""

from __future__ import annotations

import contextlib
import signal
from collections.abc import Iterator


@contextlib.contextmanager
def no_hang(what: object, seconds: int) -> Iterator[None]:
    """TimeoutError naming ``what`` if the block runs past ``seconds`` (SIGALRM; the main thread only)."""
    def alarm(_signum: int, _frame: object) -> None:
        raise TimeoutError(f"no answer within {seconds} s: {what!r}")

    previous = signal.signal(signal.SIGALRM, alarm)
    signal.alarm(seconds)
    try:
        yield
    finally:
        signal.alarm(0)
        signal.signal(signal.SIGALRM, previous)
