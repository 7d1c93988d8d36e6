"""Ctrl-C ends every command with one line on stderr and exit code 130, however early it comes: while the
command runs, while Typer parses, and while the modules still load (a KeyboardInterrupt traceback from
inside an import, before issue 22)."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import tomllib
from collections.abc import Iterator
from pathlib import Path

import pytest
from typer.testing import CliRunner

from scalesearch.cli.interrupt import INTERRUPTED, LINE
from scalesearch.cli.main import app

ROOT = Path(__file__).resolve().parents[2]
runner = CliRunner()


@pytest.fixture(autouse=True)
def _keep_the_sigint_handler() -> Iterator[None]:
    """The CLI ignores a second Ctrl-C once it reports the first; this process must keep its own."""
    handler = signal.getsignal(signal.SIGINT)
    yield
    signal.signal(signal.SIGINT, handler)


def stopped(*_args, **_kwargs):
    raise KeyboardInterrupt


@pytest.mark.parametrize(("command", "where"), [
    (["baselines"], "scalesearch.cli.baselines.measure"),
    (["flops", "--counter", "meta"], "scalesearch.cli.flops.measure"),
    (["scale", "--strategy", "paper", "--phi", "1"], "scalesearch.cli.scale.scale_family"),
    (["report", "results/example"], "scalesearch.cli.report.load_study_at"),
    (["baselines", "--save", "x.csv"], "scalesearch.cli.output.check_writable_file"),  # while Typer parses
])
def test_ctrl_c_in_a_command_is_one_line_and_130(command: list[str], where: str,
                                                  monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(where, stopped)
    result = runner.invoke(app, command)
    assert result.exit_code == INTERRUPTED, result.output
    assert result.stderr == LINE + "\n" and result.stdout == ""


# The child stops itself with a real SIGINT the moment it starts importing ``target``: Ctrl-C at that point of
# the start-up, without depending on timing. It runs the console script's own entry point.
TRIP = """
import os, signal, sys
from importlib.abc import MetaPathFinder

target = sys.argv.pop(1)

class Trip(MetaPathFinder):
    def find_spec(self, name, path=None, module=None):
        if name == target:
            sys.meta_path.remove(self)
            os.kill(os.getpid(), signal.SIGINT)
        return None

sys.meta_path.insert(0, Trip())
sys.argv[0] = "scalesearch"
from scalesearch.cli.entry import main
main()
"""


@pytest.mark.parametrize("target", ["typer", "torch", "scalesearch.cli.report"])
def test_ctrl_c_while_the_modules_load_is_one_line_and_130(target: str) -> None:
    env = {**os.environ, "PYTHONPATH": os.pathsep.join([str(ROOT), os.environ.get("PYTHONPATH", "")])}
    done = subprocess.run([sys.executable, "-c", TRIP, target, "report", "results/example"], cwd=ROOT, env=env,
                          capture_output=True, text=True, timeout=300)
    assert (done.returncode, done.stderr, done.stdout) == (INTERRUPTED, LINE + "\n", "")


def test_the_console_script_starts_where_nothing_heavy_is_loaded_yet() -> None:
    scripts = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]["scripts"]
    assert scripts["scalesearch"] == "scalesearch.cli.entry:main"
    code = ("import sys, scalesearch.cli.entry\n"
            "print(sorted({m.split('.')[0] for m in sys.modules} & {'typer', 'rich', 'torch', 'pandas', 'optuna'}))")
    done = subprocess.run([sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True, timeout=120)
    assert done.stdout.strip() == "[]", done.stderr


def test_a_ctrl_c_lost_in_a_gc_callback_reaches_the_main_thread(monkeypatch: pytest.MonkeyPatch) -> None:
    # A weakref callback cannot raise: Python prints "Exception ignored in ..." with a traceback and goes on.
    # With the hook, the KeyboardInterrupt is raised in the main flow instead, and nothing is printed.
    import sys
    import time
    import weakref

    from scalesearch.cli.interrupt import deliver_lost_interrupts

    monkeypatch.setattr(sys, "unraisablehook", sys.unraisablehook)
    printed: list[object] = []
    monkeypatch.setattr(sys, "unraisablehook", lambda u: printed.append(u))
    deliver_lost_interrupts()
    deliver_lost_interrupts()  # once is enough: a second call does not wrap the hook again

    class Thing:
        pass

    def stop(_: object) -> None:
        raise KeyboardInterrupt

    thing = Thing()
    ref = weakref.ref(thing, stop)
    with pytest.raises(KeyboardInterrupt):
        del thing  # the callback runs here and cannot raise
        deadline = time.monotonic() + 5  # it arrives a moment later (a hang guard, not a timing assert)
        while time.monotonic() < deadline:
            pass
    assert ref() is None and printed == []

    def other(_: object) -> None:
        raise ValueError("not an interrupt")

    thing = Thing()
    keep = weakref.ref(thing, other)
    del thing
    assert keep() is None and len(printed) == 1 and printed[0].exc_type is ValueError  # type: ignore[attr-defined]
