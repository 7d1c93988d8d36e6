"""Run a search: plan it, open or join its study, and drive workers until every unit of work is done.

The study is the source of truth (``scalesearch.core.record``); what each worker does next is decided by
``search.schedule`` from the study alone, so a search resumes after a crash, and several processes and
machines can share one study. KeyboardInterrupt stops every worker cleanly: finished trials are kept
and the same call resumes.
"""

from __future__ import annotations

import os
import socket
import time
from dataclasses import dataclass, field
from typing import Protocol

import optuna

from scalesearch.core.errors import SearchError
from scalesearch.core.jsonio import timestamp
from scalesearch.core.record import Invocation, StudyRecord, add_invocation
from scalesearch.search import events
from scalesearch.search.config import SearchConfig
from scalesearch.search.objective import Trainer
from scalesearch.search.plan import Plan, plan
from scalesearch.search.schedule import Snapshot, snapshot, tally
from scalesearch.search.study import open_study
from scalesearch.search.workers import WorkerSpec, default_workers, run_processes, work, worker_devices
from scalesearch.train import available_cores, cuda_device_count, set_threads, train_proxy


@dataclass
class Outcome:
    plan: Plan
    study: optuna.Study
    seconds: float
    interrupted: bool = False
    errors: list[str] = field(default_factory=list)


class Display(Protocol):
    """What run_search tells while it works (the CLI draws it with rich)."""

    def update(self, study: optuna.Study, event: events.Event | None = None) -> None: ...


class _Silent:
    def update(self, study: optuna.Study, event: events.Event | None = None) -> None:
        pass


def progress(study: optuna.Study, config: SearchConfig, record: StudyRecord | None = None) -> Snapshot:
    """Done/total proxy runs and the current leader, read from the study (any worker, any machine).
    ``record`` never changes once the study exists: pass it to skip re-reading ~100 KB of attrs."""
    record = record or StudyRecord.read(study, study.study_name)
    return snapshot(config.schedule, record, tally(study.get_trials(deepcopy=False)))


def resolve_workers(config: SearchConfig) -> SearchConfig:
    """Fill in the worker count (see workers.default_workers)."""
    if config.workers is not None:
        return config
    gpus = cuda_device_count() if config.proxy.device in ("auto", "cuda") else 0
    return config.replace(workers=default_workers(config.proxy.device, config.devices, gpus, available_cores()))


def run_search(config: SearchConfig, *, trainer: Trainer = train_proxy, display: Display | None = None,
               the_plan: Plan | None = None, inline: bool | None = None,
               optuna_verbosity: int | None = None) -> Outcome:
    """Run (or resume, or join) the search. One worker runs in this process unless ``inline=False``; more
    workers are 'spawn'ed processes. ``optuna_verbosity`` sets Optuna's logging level in spawned workers
    (the caller sets its own process's). Returns an Outcome with ``interrupted`` set on Ctrl-C."""
    start = time.perf_counter()
    config = resolve_workers(config)
    p = the_plan or plan(config)
    p.config = config
    study = open_study(p, create=True)
    shown = display or _Silent()
    n = config.workers or 1
    gpus = cuda_device_count() if config.proxy.device in ("auto", "cuda") else 0
    devices = worker_devices(config.devices, n, gpus, config.proxy.device)
    inline = n == 1 if inline is None else inline
    outcome = Outcome(p, study, 0.0)
    origin = f"{socket.gethostname()}:{os.getpid()}"
    try:
        if inline:
            set_threads(None, 1)
            work(WorkerSpec(p, 0, 1, devices[0], trainer, origin=origin), on_event=lambda e: shown.update(study, e))
        else:
            specs = [WorkerSpec(p, i, n, devices[i], trainer, optuna_verbosity, origin) for i in range(n)]
            outcome.errors = run_processes(specs, lambda: shown.update(study))
    except KeyboardInterrupt:
        outcome.interrupted = True
    outcome.seconds = time.perf_counter() - start
    # Each invocation's wall time stays in the study, so a resumed run's best.json still tells the cost.
    add_invocation(study, Invocation(timestamp(), round(outcome.seconds, 1), n, outcome.interrupted))
    shown.update(study, events.Ended())
    if outcome.errors and not outcome.interrupted:
        raise SearchError(f"{outcome.errors[0]}; finished trials are kept: rerun the same command to resume")
    return outcome
