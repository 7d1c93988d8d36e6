"""The `scalesearch` console script (pyproject's ``[project.scripts]``): Ctrl-C handling first, then the app.

Loading the app takes seconds on a cold start (typer, rich, pandas, torch and every command's module); a
Ctrl-C in that time would print a KeyboardInterrupt traceback from inside some import. Here nothing is
imported before the handler is in place, so Ctrl-C at any moment from then on ends with one line on
stderr and exit code 130 (scalesearch.cli.interrupt), as the shell reports a command that Ctrl-C stopped.
(Before that, in the interpreter's own start-up, Python itself is stopped by the signal: the shell
reports 130 too, with no traceback.)
"""

from __future__ import annotations


def main() -> None:
    try:
        from scalesearch.cli.interrupt import deliver_lost_interrupts
        from scalesearch.cli.main import app

        deliver_lost_interrupts()
        app()  # standalone: exits through SystemExit with the command's code
    except KeyboardInterrupt:
        import sys

        from scalesearch.cli.interrupt import INTERRUPTED, interrupted

        interrupted()
        sys.exit(INTERRUPTED)
