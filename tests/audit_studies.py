"""A tiny finished study for audit tests: the small grid (8 networks on the tiny baseline, rungs 2x1 then
4x2) run to the end with the fake trainer of tests/search (instant, deterministic), plus counting trainers."""

from __future__ import annotations

import dataclasses
from collections.abc import Callable
from pathlib import Path
from typing import Any

import optuna
import search_fakes

from scalesearch.core.runs import ProxyResult  # noqa: E402
from scalesearch.core.spec import BlockKind, HeadSpec, NetSpec, StageSpec, StemSpec  # noqa: E402
from scalesearch.core.specio import save_spec  # noqa: E402
from scalesearch.search.config import SearchConfig  # noqa: E402
from scalesearch.search.run import run_search  # noqa: E402
from scalesearch.search.schedule import Rung  # noqa: E402
from scalesearch.train import ProxyConfig  # noqa: E402


def tiny() -> NetSpec:
    """The ``tiny_spec`` fixture's network (tests/conftest.py), for module-scoped fixtures that cannot use it."""
    return NetSpec(
        name="tiny", stem=StemSpec(channels=16),
        stages=(StageSpec(block=BlockKind.MBCONV, channels=16, layers=1, expansion=1, se_ratio=0.25),
                StageSpec(block=BlockKind.MBCONV, channels=24, layers=2, stride=2, expansion=4, kernel=5,
                          se_ratio=0.25)),
        head=HeadSpec(channels=64), resolution=32, num_classes=10,
    )


def finished_study(root: Path, spec: NetSpec, *, study: str = "tiny-audit", cache_path: Path | None = None,
                   trainer: Callable[..., ProxyResult] = search_fakes.fake_train) -> Path:
    """root/results/STUDY: a finished study (study.db) searched with the fake trainer (or ``trainer``); its
    folder. With ``cache_path`` the grid stores its runs in that proxy-run cache (otherwise it uses none)."""
    optuna.logging.set_verbosity(optuna.logging.ERROR)
    base = save_spec(spec, root / "tiny.yaml")
    config = SearchConfig(baseline=str(base), data="synthetic", alpha="1.0:2.0:0.2", beta="1.0:1.4:0.2",
                          gamma="1.0:1.4:0.2", tolerance=0.1, proxy=ProxyConfig(batch_size=32),
                          rungs=(Rung(2, 1), Rung(4, 2)), promote=0.3, references=(), out=root / "results",
                          workers=1, poll_seconds=0.2, cache=cache_path is not None, cache_path=cache_path, study=study,
                          heartbeat_interval=1, grace_period=3)
    run_search(config, trainer=trainer)
    return root / "results" / study


def ten_hour_runs(*args: Any, **kwargs: Any) -> ProxyResult:
    """The fake trainer, recording 10 h per run: what a study of slow runs leaves for an audit's estimate."""
    return dataclasses.replace(search_fakes.fake_train(*args, **kwargs), seconds=36_000.0)


class Counting:
    """A trainer that counts its calls (fake results, or ``inner``'s) and can raise KeyboardInterrupt after
    ``stop_after`` calls, as Ctrl-C would mid-audit."""

    def __init__(self, inner: Callable[..., ProxyResult] = search_fakes.fake_train, stop_after: int | None = None,
                 ) -> None:
        self.inner, self.stop_after, self.calls = inner, stop_after, 0

    def __call__(self, spec: NetSpec, data: Any, config: ProxyConfig, **kw: Any) -> ProxyResult:
        if self.stop_after is not None and self.calls >= self.stop_after:
            raise KeyboardInterrupt
        self.calls += 1
        return self.inner(spec, data, config, **kw)
