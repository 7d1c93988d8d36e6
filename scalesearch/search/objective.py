"""The per-trial function: one candidate (a coefficient triple) for one or more seeds.

A trial's params are the candidate's ``alpha``, ``beta``, ``gamma`` (and ``seed`` where each seed is its
own trial); its value is the candidate's score (``ranking.score``); its intermediate values are the
first seed's per-epoch validation accuracy. What it stores is a ``record.TrialRecord``.

Nothing is trained twice. Candidates that round to the same proxy network share one training per seed:
before training (network, seed) a trial looks for a finished result in the study (another trial, any
machine), then in the local proxy-run cache (another study). If a lower-numbered trial is training the
same (network, seed) right now, it waits for that result instead of duplicating the work, and trains
only if that trial dies.
"""

from __future__ import annotations

import dataclasses
import os
import socket
import time
import warnings
from collections.abc import Callable, Sequence
from typing import Protocol

import optuna
from optuna.trial import TrialState

from scalesearch.core import ranking
from scalesearch.core.builderspec import AnySpec
from scalesearch.core.racing import MAX_ROUNDS
from scalesearch.core.record import PARAMS, SEED_PARAM, Network, SeedRun, StudyRecord, TrialRecord, mark_infeasible
from scalesearch.core.runs import ProxyResult, RunStatus
from scalesearch.search import events
from scalesearch.search.runcache import ProxyRunCache
from scalesearch.search.schedule import Schedule, Work
from scalesearch.train import Dataset, ProxyConfig, train_proxy


class Trainer(Protocol):
    """What trains a proxy: ``scalesearch.train.train_proxy``; tests pass fakes with the same shape."""

    def __call__(self, spec: AnySpec, data: Dataset, config: ProxyConfig, *, seed: int = 0,
                 on_epoch: Callable[[int, float], bool | None] | None = None) -> ProxyResult: ...


OnEvent = Callable[[events.Event], None]


class Objective:
    """Callable for ``study.optimize``; one per worker process. Set ``work`` before each call: it says what
    to run when the trial is a new one (a re-queued trial carries its own record). ``proxy`` is the
    training setting; each rung trains it for that rung's epochs. ``caches``: one per rung (their keys hold
    the epochs and the seed base), or None. ``seed_base``: the trainer is called with seed = seed_base + the
    seed index; everything the study stores and compares (trial records, rungs, pairing, SeedRun.seed) keeps
    the index."""

    def __init__(self, study: optuna.Study, record: StudyRecord, data: Dataset, proxy: ProxyConfig, *,
                 schedule: Schedule, prune: bool, trainer: Trainer = train_proxy,
                 caches: Sequence[ProxyRunCache] | None = None, poll_seconds: float = 2.0,
                 on_event: OnEvent | None = None, worker: str = "", seed_base: int = 0) -> None:
        self.study, self.record, self.data = study, record, data
        self.proxies = [dataclasses.replace(proxy, epochs=r.epochs) for r in schedule.rungs]
        self.schedule, self.prune = schedule, prune
        self.trainer, self.caches, self.poll = trainer, caches, poll_seconds
        self.seed_base = seed_base
        self.on_event = on_event or (lambda event: None)
        self.worker = worker or f"{socket.gethostname()}:{os.getpid()}"
        self.work: Work | None = None

    def __call__(self, trial: optuna.Trial) -> float:
        prior = TrialRecord.read(trial)  # a re-queued trial's copy of what its dead predecessor stored
        a, b, g = (trial.suggest_categorical(name, axis) for name, axis in zip(PARAMS, self.record.axes, strict=True))
        triple = (a, b, g)
        row = self.record.candidate_at(triple)
        if row is None:  # tpe/random drew a point outside the constraint: nothing to train
            mark_infeasible(trial)
            raise optuna.TrialPruned(f"alpha, beta, gamma = {triple} is not a feasible candidate")
        rung = prior.rung if prior is not None else (self.work.rung if self.work else 0)
        if self.schedule.seeds_are_trials:
            # rung 0's seeds are grid points; above it the seed is fixed by the schedule, the race's included
            top = self.schedule.total_seeds - 1 + (MAX_ROUNDS if rung > 0 else 0)
            seeds: tuple[int, ...] = (trial.suggest_int(SEED_PARAM, 0, top),)
        elif prior is not None:
            seeds = prior.seeds
        else:
            seeds = self.work.seeds if self.work else tuple(range(self.schedule.seeds))
        network = self.record.networks[row.network]
        rec = TrialRecord(row.index, network.index, seeds, rung, self.worker)
        rec.write(trial, row)

        for i, seed in enumerate(seeds):
            run = self._reuse(trial, network, rung, seed)
            if run is None:
                run = self._train(trial, network, rung, seed, curve=i == 0, prune=self.prune and i == 0 and rung == 0)
            elif i == 0:
                for epoch, acc in run.result.curve:
                    trial.report(acc, step=epoch)  # the curve shows in the dashboard for every candidate
            rec = rec.with_result(run)
            rec.write(trial, row)
            if run.status is RunStatus.PRUNED:
                raise optuna.TrialPruned(run.result.message or "pruned")
        summary = ranking.summarise(rec.results)
        accuracy = summary.accuracy_mean if summary.ok else 0.0
        return ranking.score(accuracy, row.cost(self.record.cost), self.record.target, self.record.w)

    # -- reuse ------------------------------------------------------------------------------------
    def _reuse(self, trial: optuna.Trial, network: Network, rung: int, seed: int) -> SeedRun | None:
        """A finished result of (network, rung, seed) from the study or the cache, waiting on an earlier trial
        that is computing it right now. None: nobody has it, train it."""
        while True:
            running = False
            for t in self.study.get_trials(deepcopy=False):
                if t.number == trial.number or t.state == TrialState.WAITING:
                    continue
                other = TrialRecord.read(t)
                if other is None or other.network != network.index or other.rung != rung:
                    continue
                hit = next((r for r in other.results if r.seed == seed and r.status is not RunStatus.PRUNED), None)
                if hit is not None:
                    return SeedRun(hit.result, f"trial {t.number}")
                if t.state == TrialState.RUNNING and t.number < trial.number and seed in other.seeds:
                    running = True
            if self.caches is not None:
                cached = self.caches[rung].get(network.proxy_key, seed)
                if cached is not None:
                    return SeedRun(cached, "cache")
            if not running:
                return None
            self.on_event(events.Waiting(network.index, seed))
            time.sleep(self.poll)
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")  # ExperimentalWarning
                optuna.storages.fail_stale_trials(self.study)  # a dead duplicate must not block us forever

    # -- training ---------------------------------------------------------------------------------
    def _train(self, trial: optuna.Trial, network: Network, rung: int, seed: int, *, curve: bool,
               prune: bool) -> SeedRun:
        def on_epoch(epoch: int, accuracy: float) -> bool:
            self.on_event(events.Epoch(network.index, seed, epoch, accuracy))
            if curve:
                trial.report(accuracy, step=epoch)
            return prune and bool(trial.should_prune())  # a numpy bool would fail the trainer's `is True`

        self.on_event(events.Training(network.index, seed))
        result = self.trainer(network.spec, self.data, self.proxies[rung], seed=self.seed_base + seed,
                              on_epoch=on_epoch)
        if not isinstance(result, ProxyResult):
            raise TypeError(f"the trainer returned {type(result).__name__}, not a ProxyResult")
        if result.seed != seed:  # stored by its index (the trainer reports the seed it trained, base + index)
            result = dataclasses.replace(result, seed=seed)
        if result.proxy_key and result.proxy_key != network.proxy_key:
            # The trainer derived another proxy than the space did: the dedup key would be wrong.
            raise RuntimeError(f"proxy key mismatch for network {network.index}: {result.proxy_key} != "
                               f"{network.proxy_key}")
        if self.caches is not None:
            self.caches[rung].put(network.proxy_key, seed, result)
        self.on_event(events.Trained(network.index, seed, result.status.value, result.accuracy))
        return SeedRun(result, None)
