"""The proxy-run cache reuses only results that could be real: an impossible entry (an accuracy of 7.5, a
seed or epoch count that is not the one asked for, a field missing or mistyped) is a miss, retrained and
replaced, never ranked."""

from __future__ import annotations

import dataclasses
import json
import math
import sqlite3
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
import search_fakes

from scalesearch.core import kvstore
from scalesearch.core.ranking import rank_rungs
from scalesearch.core.record import StudyRecord, network_runs
from scalesearch.core.runs import BadResult, ProxyResult, RunStatus, checked_result
from scalesearch.search.config import SearchConfig
from scalesearch.search.run import run_search
from scalesearch.search.runcache import ProxyRunCache
from scalesearch.search.schedule import Rung

EPOCHS = 2
GOOD = ProxyResult(RunStatus.OK, 0.75, loss=0.5, val_loss=0.6, history=(0.5, 0.75), loss_history=(1.2, 0.9),
                   epochs_run=EPOCHS, seconds=3.0, seed=1, proxy_key="k")


@pytest.fixture
def cache(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> ProxyRunCache:
    monkeypatch.setattr(kvstore, "_WARNED", set())  # the warning is once per process and file
    return ProxyRunCache(tmp_path / "proxy.sqlite", settings={"data": "synthetic", "proxy": {"epochs": EPOCHS}})


def store_raw(cache: ProxyRunCache, proxy_key: str, seed: int, value: Any) -> None:
    """Write an entry as a damaged file, another version or a hand could have left it."""
    with sqlite3.connect(cache.path) as db:
        db.execute("INSERT OR REPLACE INTO runs (key, value) VALUES (?, ?)",
                   (cache._key(proxy_key, seed), json.dumps(value)))


def test_a_sound_entry_comes_back_as_stored(cache: ProxyRunCache) -> None:
    cache.put("k", 1, GOOD)
    back = cache.get("k", 1)
    assert back == dataclasses.replace(GOOD)
    diverged = ProxyResult(RunStatus.DIVERGED, 0.0, epochs_run=1, history=(0.4,), seed=2, message="nan")
    cache.put("k", 2, diverged)
    assert cache.get("k", 2) == diverged  # a diverged run ran fewer epochs: still a run of this scope


def changed(**fields: Any) -> Callable[[dict[str, Any]], dict[str, Any]]:
    return lambda d: {**d, **fields}


def without(name: str) -> Callable[[dict[str, Any]], dict[str, Any]]:
    return lambda d: {k: v for k, v in d.items() if k != name}


@pytest.mark.parametrize("damage", [
    changed(accuracy=7.5), changed(accuracy=-0.1), changed(accuracy=math.nan), changed(accuracy=math.inf),
    changed(accuracy="0.9"), changed(accuracy=True), changed(accuracy=None), without("accuracy"),
    changed(history=[0.5, 1.5]), changed(history="0.5"), changed(history=[0.5, None]),
    changed(seed=3),  # stored under seed 1, trained with seed 3
    changed(epochs_run=1), changed(epochs_run=3), changed(epochs_run="2"), without("epochs_run"),
    changed(history=[0.1, 0.2, 0.75]),  # more epochs than the scope's
    changed(status="pruned"), changed(status="great"), without("status"), without("seed"),
    changed(seconds=-1.0), changed(loss="low"), changed(device=3), changed(loss_history=[1.0, "x"]),
], ids=lambda f: "damage")
def test_an_impossible_entry_is_a_miss_with_one_warning(cache: ProxyRunCache, damage: Callable,
                                                         capsys: pytest.CaptureFixture[str]) -> None:
    store_raw(cache, "k", 1, damage(GOOD.to_dict()))
    assert cache.get("k", 1) is None
    assert cache.get("k", 1) is None
    warned = capsys.readouterr().err.strip().splitlines()
    assert len(warned) == 1 and "ignoring damaged cache entries (they are recomputed and replaced)" in warned[0]


def test_the_checks_name_the_field() -> None:
    with pytest.raises(BadResult, match=r"'accuracy' is 7.5, not a fraction in \[0, 1\]"):
        checked_result({**GOOD.to_dict(), "accuracy": 7.5})
    with pytest.raises(BadResult, match=r"'history\[1\]' is 1.5"):
        checked_result({**GOOD.to_dict(), "history": [0.5, 1.5]})
    with pytest.raises(BadResult, match="'epochs_run' is missing"):
        checked_result(without("epochs_run")(GOOD.to_dict()))
    assert checked_result(GOOD.to_dict()) == GOOD


def test_a_search_never_ranks_an_impossible_cached_accuracy(small_config: SearchConfig, tmp_path: Path,
                                                            monkeypatch: pytest.MonkeyPatch) -> None:
    """Every entry a first search cached is rewritten with an accuracy of 7.5 (750%, valid JSON): a second
    search over the same networks retrains each one and ranks the true accuracies."""
    log = tmp_path / "trained.log"
    monkeypatch.setenv("SCALESEARCH_FAKE_LOG", str(log))
    monkeypatch.setattr(kvstore, "_WARNED", set())
    config = dataclasses.replace(small_config, rungs=(Rung(2, 1),))  # one rung: one cache scope
    first = run_search(config, trainer=search_fakes.fake_train)
    trainings = len(log.read_text().splitlines())
    with sqlite3.connect(config.cache_path) as db:
        rows = db.execute("SELECT key, value FROM runs").fetchall()
        assert len(rows) == trainings
        for key, value in rows:
            db.execute("UPDATE runs SET value = ? WHERE key = ?", (json.dumps({**json.loads(value), "accuracy": 7.5}),
                                                                     key))
    second = run_search(dataclasses.replace(config, target_flops=10**9), trainer=search_fakes.fake_train)
    assert len(log.read_text().splitlines()) == 2 * trainings  # each poisoned entry trained again
    for outcome in (first, second):
        record = StudyRecord.read(outcome.study)
        rows = rank_rungs(record.candidates, network_runs(outcome.study.trials), record.target, record.w)
        accuracies = [r.summary.accuracy_mean for r in rows if r.summary.ok]
        assert accuracies and all(0 <= a <= 1 for a in accuracies)
    cache = ProxyRunCache(config.cache_path, settings={"data": config.data, "proxy": config.proxy_settings(0)})
    keys = {(n.proxy_key, 0) for n in first.plan.space.networks()}
    assert all((hit := cache.get(*k)) is not None and hit.accuracy <= 1 for k in keys)  # replaced by the retrains
