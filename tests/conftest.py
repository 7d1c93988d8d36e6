"""Shared fixtures: every test session gets its own cost cache, so no test reads a user's cache."""

from __future__ import annotations

import signal

import pytest

from scalesearch.core.spec import BlockKind, HeadSpec, NetSpec, StageSpec, StemSpec

# The Ctrl-C tests press Ctrl-C as a terminal would. A shell starts a background job (`cmd &`, a CI runner's
# script) with SIGINT ignored, and Python then keeps it ignored, as would every process the tests start: give
# the test session, and so its children, Python's usual Ctrl-C again.
if signal.getsignal(signal.SIGINT) is signal.SIG_IGN:
    signal.signal(signal.SIGINT, signal.default_int_handler)


@pytest.fixture(autouse=True)
def _ctrl_c_as_it_was():
    """Every test leaves SIGINT's handling as it found it: a test that stops a command with Ctrl-C in-process
    must not change what Ctrl-C does in the tests after it."""
    before = signal.getsignal(signal.SIGINT)
    yield
    assert signal.getsignal(signal.SIGINT) is before, "this test changed SIGINT's handler and left it so"


@pytest.fixture(autouse=True, scope="session")
def _private_cost_cache(tmp_path_factory: pytest.TempPathFactory) -> None:
    mp = pytest.MonkeyPatch()
    mp.setenv("SCALESEARCH_CACHE_DIR", str(tmp_path_factory.mktemp("cost-cache")))
    yield
    mp.undo()


@pytest.fixture
def tiny_spec() -> NetSpec:
    """Two MBConv stages and a head: builds and counts in milliseconds."""
    return NetSpec(
        name="tiny",
        stem=StemSpec(channels=16),
        stages=(
            StageSpec(block=BlockKind.MBCONV, channels=16, layers=1, expansion=1, se_ratio=0.25),
            StageSpec(block=BlockKind.MBCONV, channels=24, layers=2, stride=2, expansion=4, kernel=5, se_ratio=0.25),
        ),
        head=HeadSpec(channels=64),
        resolution=32,
        num_classes=10,
    )
