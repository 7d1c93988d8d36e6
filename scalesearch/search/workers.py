"""Workers: the loop each one runs (ask the scheduler, run a trial, repeat), the processes that run them,
and which device each one gets.

A worker holds no state the study does not: it reads the study, asks ``schedule.next_action`` what to
do, and runs that as one Optuna trial whose params are fixed to the chosen candidate. Any number of them,
in this process, in spawned processes or on other machines, can share one study.
"""

from __future__ import annotations

import dataclasses
import hashlib
import multiprocessing as mp
import os
import signal
import socket
import sys
import time
import warnings
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import optuna

from scalesearch.core.errors import FieldError, ScaleSearchError
from scalesearch.core.record import PARAMS, SEED_PARAM, StudyRecord
from scalesearch.search import events
from scalesearch.search.objective import Objective, OnEvent, Trainer
from scalesearch.search.plan import Plan
from scalesearch.search.runcache import ProxyRunCache
from scalesearch.search.schedule import Budget, Work, next_action, tally
from scalesearch.search.study import open_study
from scalesearch.train import load_data, set_threads, train_proxy


@dataclass(frozen=True)
class WorkerSpec:
    """What a worker process needs; picklable, so that 'spawn' can send it."""

    plan: Plan
    index: int
    workers: int
    device: str | None
    trainer: Trainer = train_proxy
    optuna_verbosity: int | None = None  # Optuna's logging level in this worker (the CLI quiets it)
    origin: str = ""  # the command that started this worker ("host:pid"): several commands may share a study


def offset(index: int, origin: str) -> int:
    """Where a worker starts in the list of free work: its index within its command, shifted per command,
    so that workers of one command never start on the same network and other commands (other machines,
    or a second terminal) rarely do."""
    return index + int(hashlib.sha256(origin.encode()).hexdigest()[:8], 16)


def fixed_sampler(work: Work, budget: Budget, base: optuna.samplers.BaseSampler,
                  record: StudyRecord) -> optuna.samplers.BaseSampler:
    """The study's sampler with the chosen candidate's params (and seed) fixed."""
    if work.candidate is None:
        return base
    row = record.candidates[work.candidate]
    params: dict[str, Any] = dict(zip(PARAMS, row.triple, strict=True))
    if budget.seeds_are_trials:
        params[SEED_PARAM] = work.seeds[0]
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # PartialFixedSampler is "experimental" in Optuna 5
        return optuna.samplers.PartialFixedSampler(params, base)


def work(ws: WorkerSpec, on_event: OnEvent | None = None, stop: Callable[[], bool] = lambda: False) -> None:
    """Take trials from the study until nothing is left (or ``stop()``)."""
    p, config = ws.plan, ws.plan.config
    if ws.optuna_verbosity is not None:  # the caller's choice for its own process, carried to this one
        optuna.logging.set_verbosity(ws.optuna_verbosity)
        warnings.filterwarnings("ignore", category=optuna.exceptions.ExperimentalWarning)
    data = p.data if p.data is not None else load_data(config.data)
    study = open_study(p, worker=ws.index)
    record = StudyRecord.read(study, p.study_name)
    proxy = config.proxy
    if ws.device is not None or ws.workers != proxy.workers:
        proxy = dataclasses.replace(proxy, device=ws.device or proxy.device, workers=ws.workers)
    # One cache scope per rung: a result is reusable only at the same epochs.
    caches = [ProxyRunCache(config.cache_path, settings=config.run_scope(r))
              for r in range(len(config.rungs))] if config.cache else None
    budget = config.budget
    objective = Objective(study, record, data, proxy, budget=budget, prune=config.pruner != "none",
                          trainer=ws.trainer, caches=caches, poll_seconds=config.poll_seconds, on_event=on_event,
                          worker=f"{socket.gethostname()}:w{ws.index}:{os.getpid()}")
    base = study.sampler
    notify = on_event or (lambda event: None)
    while not stop():
        action = next_action(budget, record, tally(study.get_trials(deepcopy=False)), offset(ws.index, ws.origin))
        if action.kind == "done":
            return
        if action.kind == "wait":
            notify(events.Idle())
            time.sleep(config.poll_seconds)
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")
                optuna.storages.fail_stale_trials(study)  # a dead worker's trial comes back as WAITING
            continue
        objective.work = action.work
        study.sampler = fixed_sampler(action.work, budget, base, record) if action.work else base
        study.optimize(objective, n_trials=1, gc_after_trial=False)
        notify(events.TrialDone())


def _worker_main(ws: WorkerSpec) -> None:
    """Entry point of a spawned worker. SIGINT marks the running trial failed (Optuna does that for a
    KeyboardInterrupt) so the next run redoes it; the parent decides when everything stops."""
    set_threads(None, ws.workers)
    try:
        work(ws)
    except KeyboardInterrupt:
        sys.exit(130)
    except ScaleSearchError as exc:
        print(f"worker {ws.index}: {exc}", file=sys.stderr)
        sys.exit(exc.exit_code)


def default_workers(proxy_device: str, devices: str | None, gpus: int, cores: int) -> int:
    """One worker per GPU when several are visible, else one per listed device, else 2 when there are >= 2
    cores (two single-thread processes beat one two-thread process by ~1.5x on small proxies: docs/search.md)."""
    if gpus > 1 and proxy_device in ("auto", "cuda"):
        return gpus
    if devices:
        return max(1, len([d for d in devices.split(",") if d.strip()]))
    return max(1, min(2, cores))


def worker_devices(devices: str | None, workers: int, gpus: int, proxy_device: str) -> list[str | None]:
    """The device of each worker in turn: the listed ones, else one GPU each when several, else the proxy's."""
    if devices:
        listed: list[str | None] = [d.strip() for d in devices.split(",") if d.strip()]
        if not listed:
            raise FieldError("devices", devices, "list devices, e.g. cuda:0,cuda:1")
    else:
        n = gpus if proxy_device in ("auto", "cuda") else 0
        listed = [f"cuda:{i}" for i in range(n)] if n > 1 else [None]
    return [listed[i % len(listed)] for i in range(workers)]


def run_processes(specs: list[WorkerSpec], tick: Callable[[], None]) -> list[str]:
    """Run each worker in a spawned process; return one message per worker that failed."""
    ctx = mp.get_context("spawn")
    procs = [ctx.Process(target=_worker_main, args=(ws,), name=f"scalesearch-worker-{ws.index}") for ws in specs]
    for proc in procs:
        proc.start()
    try:
        while any(proc.is_alive() for proc in procs):
            tick()
            time.sleep(0.5)  # the display itself reads the study only every few seconds
    except KeyboardInterrupt:
        _stop(procs)
        raise
    tick()
    return [f"worker {i} exited with code {proc.exitcode}" for i, proc in enumerate(procs)
            if proc.exitcode not in (0, None)]


def _stop(procs: list[Any]) -> None:
    """SIGINT each worker (a terminal's Ctrl-C already did; a plain `kill -INT` of this process did not),
    give them time to mark their trials failed, then terminate stragglers."""
    for proc in procs:
        if proc.is_alive() and proc.pid:
            try:
                os.kill(proc.pid, signal.SIGINT)
            except ProcessLookupError:
                pass
    deadline = time.monotonic() + 15
    for proc in procs:
        proc.join(timeout=max(0.1, deadline - time.monotonic()))
        if proc.is_alive():
            proc.terminate()
            proc.join(timeout=5)
