"""Stand-ins for proxy training in search tests: instant, deterministic, importable by spawned workers.

Accuracy depends on the network (its layers, width and resolution) and a little on the seed, so rankings
are real but known. ``SCALESEARCH_FAKE_SLEEP`` (seconds per epoch) makes a run slow enough to be killed;
``SCALESEARCH_FAKE_LOG`` appends one line per *trained* run, so tests can count trainings across processes;
``SCALESEARCH_FAKE_STARTED`` one line (the pid) per run as it starts, so tests can signal workers mid-run.
"""

from __future__ import annotations

import math
import os
import time
from collections.abc import Callable
from typing import Any

from scalesearch.core.runs import ProxyResult, RunStatus
from scalesearch.core.spec import NetSpec
from scalesearch.train import Dataset, ProxyConfig


def fake_accuracy(spec: NetSpec, seed: int, epochs: int = 2) -> float:
    """Longer training helps deeper networks a little more (as short proxies under-rate depth)."""
    layers = spec.total_layers
    width = sum(s.channels for s in spec.stages)
    base = 0.60 + (0.02 + 0.001 * epochs) * layers + 0.0004 * width + 0.001 * spec.resolution
    return min(0.99, base + 0.003 * ((seed * 7919 + layers * 31 + width) % 5 - 2))


def fake_train(spec: NetSpec, data: Dataset, config: ProxyConfig, *, seed: int = 0,
               on_epoch: Callable[[int, float], bool | None] | None = None, **_: Any) -> ProxyResult:
    sleep = float(os.environ.get("SCALESEARCH_FAKE_SLEEP", "0"))
    started = os.environ.get("SCALESEARCH_FAKE_STARTED")
    if started:
        with open(started, "a") as f:
            f.write(f"{os.getpid()}\n")
    final = fake_accuracy(spec, seed, config.epochs)
    history: list[float] = []
    status = RunStatus.OK
    for epoch in range(1, config.epochs + 1):
        time.sleep(sleep)
        acc = final * epoch / config.epochs
        history.append(acc)
        if on_epoch is not None and on_epoch(epoch, acc) is True:
            status = RunStatus.PRUNED
            break
    log = os.environ.get("SCALESEARCH_FAKE_LOG")
    if log:
        with open(log, "a") as f:
            f.write(f"{spec.architecture_key()} {spec.resolution} {seed}@{config.epochs} {os.getpid()}\n")
    return ProxyResult(status, history[-1], loss=1.0, history=tuple(history), epochs_run=len(history),
                       seconds=sleep * len(history), seed=seed, loss_history=tuple(2.0 - a for a in history))


def diverging_train(spec: NetSpec, data: Dataset, config: ProxyConfig, *, seed: int = 0, **kw: Any) -> ProxyResult:
    """Diverges for every network deeper than the baseline's 3 layers; trains the rest like fake_train."""
    if spec.total_layers > 3:
        return ProxyResult(RunStatus.DIVERGED, 0.0, seed=seed, message="loss became nan")
    return fake_train(spec, data, config, seed=seed, **kw)


def building_train(spec: Any, data: Dataset, config: ProxyConfig, *, seed: int = 0, **_: Any) -> ProxyResult:
    """Builds the proxy for real where it trains (a spawned worker imports a builder's file from the path the
    study recorded), then answers at once from its size: parameters and resolution. Logs as fake_train does."""
    from scalesearch.nn import build
    from scalesearch.train import proxy_spec

    proxy = proxy_spec(spec, config, data)
    params = sum(p.numel() for p in build(proxy).parameters())
    final = min(0.99, 0.5 + 0.02 * math.log(params) + 0.001 * proxy.resolution + 0.003 * (seed % 3))
    history = tuple(final * epoch / config.epochs for epoch in range(1, config.epochs + 1))
    log = os.environ.get("SCALESEARCH_FAKE_LOG")
    if log:
        with open(log, "a") as f:
            f.write(f"{proxy.architecture_key()} {proxy.resolution} {seed}@{config.epochs} {os.getpid()}\n")
    return ProxyResult(RunStatus.OK, final, loss=1.0, history=history, epochs_run=config.epochs, seed=seed,
                       loss_history=tuple(2.0 - a for a in history))
