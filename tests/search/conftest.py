"""Fixtures for search tests: a tiny baseline file, fast grid settings and a private cache per test."""

from __future__ import annotations

from pathlib import Path

import pytest
import search_fakes

from scalesearch.core.spec import NetSpec
from scalesearch.core.specio import save_spec
from scalesearch.search import run as search_run
from scalesearch.search.config import SearchConfig
from scalesearch.search.schedule import Rung
from scalesearch.train import ProxyConfig


@pytest.fixture
def tiny_file(tiny_spec: NetSpec, tmp_path: Path) -> Path:
    return save_spec(tiny_spec, tmp_path / "tiny.yaml")


@pytest.fixture
def small_config(tiny_file: Path, tmp_path: Path) -> SearchConfig:
    """7 feasible points on the tiny baseline, 7 distinct networks (8 with the baseline); fake-trained in seconds.
    Two rungs: 2 epochs x 1 seed for all, 4 epochs x 2 seeds for the leading 3 (0.3 of 7, rounded up). No
    reference strategies (their own tests add them)."""
    return SearchConfig(baseline=str(tiny_file), data="synthetic", alpha="1.0:2.0:0.2", beta="1.0:1.4:0.2",
                        gamma="1.0:1.4:0.2", tolerance=0.1, proxy=ProxyConfig(batch_size=32),
                        rungs=(Rung(2, 1), Rung(4, 2)), promote=0.3, references=(), out=tmp_path / "results",
                        workers=1, poll_seconds=0.2,
                        cache_path=tmp_path / "proxy.sqlite",  # per test; the session shares only the cost cache
                        heartbeat_interval=1, grace_period=3)


@pytest.fixture
def fake_grid(monkeypatch: pytest.MonkeyPatch) -> list[bool]:
    """`scalesearch grid` runs its search with the fake trainer in this process; set the list's item to True to
    end it 'interrupted'."""
    interrupt = [False]

    def fake_run(config, **kwargs):
        outcome = search_run.run_search(config, trainer=search_fakes.fake_train, **kwargs)
        outcome.interrupted = outcome.interrupted or interrupt[0]
        return outcome

    monkeypatch.setattr("scalesearch.cli.grid.run_search", fake_run)
    return interrupt
