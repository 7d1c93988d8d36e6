"""The score and the per-trial function.

A trial trains one *proxy group* (a distinct proxy network, ``search.space``) for one or more seeds and
stores every fact in ``trial.user_attrs``: the seeds it planned, each seed's ProxyResult (status, accuracy,
per-epoch history, seconds, images/s, memory, device, threads) and where a reused result came from. The
members of the group (coefficient triples, their full networks' multiply-adds) live in the study's user
attrs, written once when the study is created, so reports need nothing but the study.

Nothing is trained twice. Before training (group, seed) a trial looks for a finished result: in the study
(another trial, any machine), then in the local proxy cache (another study). If a lower-numbered trial is
training the same (group, seed) right now (parallel workers can draw the same grid point), it waits for
that result instead of duplicating the work, and trains only if that trial dies.
"""

from __future__ import annotations

import math
import os
import socket
import statistics
import time
import warnings
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

import optuna
from optuna.trial import TrialState

from scalesearch.errors import UsageError
from scalesearch.search.cache import ProxyCache
from scalesearch.spec import NetSpec, from_dict
from scalesearch.train import Dataset, ProxyConfig, train_proxy

Trainer = Callable[..., Any]  # train_proxy's signature; tests inject fakes
Event = Callable[[dict[str, Any]], None]


def score(accuracy: float, flops: float, target_flops: float, w: float = -0.07) -> float:
    """ACC(m) * (FLOPS(m) / T)^w (MnasNet, EfficientNet). FLOPs and T in multiply-adds; w < 0 rewards
    cheaper networks: at w = -0.07, doubling FLOPs must buy ~5% more accuracy to break even."""
    if not target_flops > 0:
        raise UsageError(f"target FLOPs = {target_flops}: must be > 0")
    if not flops > 0:
        raise UsageError(f"FLOPs = {flops}: must be > 0")
    return accuracy * (flops / target_flops) ** w


@dataclass(frozen=True)
class Unit:
    """A proxy group as a trial sees it: the network to train and the cost of each member triple."""

    index: int
    proxy_key: str
    spec: NetSpec  # a full candidate; train_proxy derives the proxy from it
    flops: tuple[int, ...]


def read_units(study: optuna.Study) -> list[Unit]:
    groups = study.user_attrs.get("groups")
    if not isinstance(groups, list):
        raise UsageError(f"study {study.study_name!r} holds no scalesearch candidates (was it made by another tool?)")
    return [Unit(i, g["proxy_key"], from_dict(g["spec"]), tuple(m["flops"] for m in g["members"]))
            for i, g in enumerate(groups)]


def finished_result(trial: optuna.trial.FrozenTrial, seed: int) -> dict[str, Any] | None:
    """The complete (not pruned) result of ``seed`` stored in ``trial``, if any."""
    for r in trial.user_attrs.get("results", []):
        if r.get("seed") == seed and r.get("status") != "pruned":
            return r
    return None


def mean_accuracy(results: Sequence[dict[str, Any]]) -> float:
    ok = [r["accuracy"] for r in results if r.get("status") == "ok"]
    return statistics.fmean(ok) if ok else 0.0


class Objective:
    """Callable for ``study.optimize``; one per worker process."""

    def __init__(self, study: optuna.Study, data: Dataset, proxy: ProxyConfig, *, seeds: int, grid: bool,
                 prune: bool, target_flops: int, w: float, trainer: Trainer = train_proxy,
                 cache: ProxyCache | None = None, poll_seconds: float = 2.0, on_event: Event | None = None,
                 worker: str = "") -> None:
        self.study, self.data, self.proxy = study, data, proxy
        self.seeds, self.grid, self.prune = seeds, grid, prune
        self.target_flops, self.w = target_flops, w
        self.trainer, self.cache, self.poll = trainer, cache, poll_seconds
        self.on_event = on_event or (lambda event: None)
        self.worker = worker or f"{socket.gethostname()}:{os.getpid()}"
        self.units = read_units(study)

    def __call__(self, trial: optuna.Trial) -> float:
        idx = trial.suggest_categorical("idx", list(range(len(self.units))))
        unit = self.units[idx]
        if "seeds" in trial.user_attrs:  # an enqueued trial (confirm stage, or a re-queued point)
            seeds = [int(s) for s in trial.user_attrs["seeds"]]
        elif self.grid:
            seeds = [trial.suggest_categorical("seed", list(range(self.seeds)))]
        else:
            seeds = list(range(self.seeds))
        trial.set_user_attr("seeds", seeds)
        trial.set_user_attr("stage", trial.user_attrs.get("stage", "sweep"))
        trial.set_user_attr("proxy_key", unit.proxy_key)
        trial.set_user_attr("worker", self.worker)

        results: list[dict[str, Any]] = []
        for i, seed in enumerate(seeds):
            found = self._reuse(trial, idx, seed)
            if found is None:
                report = self.prune and i == 0 and trial.user_attrs.get("stage") != "confirm"
                found = self._train(trial, unit, seed, report)
            results.append(found)
            trial.set_user_attr("results", results)
            if found["status"] == "pruned":
                raise optuna.TrialPruned(found.get("message", "pruned"))
        acc = mean_accuracy(results)
        return max(score(acc, f, self.target_flops, self.w) for f in unit.flops)

    # -- reuse ------------------------------------------------------------------------------------
    def _reuse(self, trial: optuna.Trial, idx: int, seed: int) -> dict[str, Any] | None:
        """A finished result of (idx, seed) from the study or the cache, waiting on an earlier trial that
        is computing it right now. None: nobody has it, train it."""
        unit = self.units[idx]
        while True:
            running = False
            for t in self.study.get_trials(deepcopy=False, states=(TrialState.COMPLETE, TrialState.RUNNING,
                                                                    TrialState.PRUNED)):
                if t.number == trial.number or t.params.get("idx") != idx:
                    continue
                hit = finished_result(t, seed)
                if hit is not None:
                    return {**hit, "reused": f"trial {t.number}"}
                if (t.state == TrialState.RUNNING and t.number < trial.number
                        and seed in t.user_attrs.get("seeds", [])):
                    running = True
            if self.cache is not None:
                hit = self.cache.get(unit.proxy_key, seed)
                if hit is not None:
                    return {**hit, "reused": "cache"}
            if not running:
                return None
            self.on_event({"event": "wait", "group": idx, "seed": seed})
            time.sleep(self.poll)
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")  # ExperimentalWarning
                optuna.storages.fail_stale_trials(self.study)  # a dead duplicate must not block us forever

    # -- training ---------------------------------------------------------------------------------
    def _train(self, trial: optuna.Trial, unit: Unit, seed: int, report: bool) -> dict[str, Any]:
        def on_epoch(epoch: int, accuracy: float) -> bool:
            self.on_event({"event": "epoch", "group": unit.index, "seed": seed, "epoch": epoch,
                           "accuracy": accuracy})
            if not report:
                return False
            trial.report(accuracy, step=epoch)
            return bool(trial.should_prune())  # a numpy bool would fail the trainer's `is True`

        self.on_event({"event": "train", "group": unit.index, "seed": seed})
        result = self.trainer(unit.spec, self.data, self.proxy, seed=seed, on_epoch=on_epoch)
        out = result.to_dict() if hasattr(result, "to_dict") else dict(result)
        out = {k: (None if isinstance(v, float) and not math.isfinite(v) else v) for k, v in out.items()}
        out["seed"] = seed
        out["reused"] = None
        if out.get("proxy_key") and out["proxy_key"] != unit.proxy_key:
            # The trainer derived another proxy than the space did: the dedup key would be wrong.
            raise RuntimeError(f"proxy key mismatch for group {unit.index}: {out['proxy_key']} != {unit.proxy_key}")
        if self.cache is not None:
            self.cache.put(unit.proxy_key, seed, out)
        self.on_event({"event": "done", "group": unit.index, "seed": seed, "status": out["status"],
                       "accuracy": out.get("accuracy")})
        return out
