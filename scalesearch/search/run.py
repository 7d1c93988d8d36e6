"""Run a search: plan it, open or join its study, and drive workers until every unit of work is done.

The study is the source of truth (``scalesearch.core.record``); what each worker does next is decided by
``search.schedule`` from the study alone, so a search resumes after a crash, and several processes and
machines can share one study. KeyboardInterrupt stops every worker cleanly: finished trials are kept
and the same call resumes. A worker that dies (killed, out of memory) costs only its trial: the others
take it over, and a search whose every trial got done is complete whatever happened on the way.
"""

from __future__ import annotations

import os
import signal
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
from scalesearch.search.schedule import Snapshot, next_action, snapshot, tally
from scalesearch.search.study import open_study, study_storage
from scalesearch.search.workers import (
    Interrupts,
    WorkerSpec,
    default_workers,
    reclaim,
    run_processes,
    work,
    worker_devices,
    worker_tag,
)
from scalesearch.train import available_cores, cuda_device_count, set_threads, train_proxy


@dataclass
class Outcome:
    plan: Plan
    study: optuna.Study
    seconds: float
    interrupted: bool = False
    errors: list[str] = field(default_factory=list)  # one per worker that ended with an error
    complete: bool = False  # every unit of work is done (the study says so, whatever happened to a worker)

    @property
    def notes(self) -> list[str]:
        """What to tell about a complete search whose workers did not all end well (one line each)."""
        if not self.complete:
            return []
        return [f"{e}; the other workers took its work over: every trial is done" for e in self.errors]


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


def search_done(study: optuna.Study, config: SearchConfig, record: StudyRecord | None = None) -> bool:
    """Every unit of work is done: what a worker would do next is "done" (nothing to run, nothing running)."""
    record = record or StudyRecord.read(study, study.study_name)
    return next_action(config.schedule, record, tally(study.get_trials(deepcopy=False))).kind == "done"


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
    (the caller sets its own process's). Returns an Outcome with ``interrupted`` set on Ctrl-C. A worker that
    ended with an error is a SearchError only when work is left undone (``Outcome.notes`` tells it otherwise)."""
    start = time.perf_counter()
    config = resolve_workers(config)
    p = the_plan or plan(config)
    p.config = config
    storage = study_storage(p)
    study = open_study(p, create=True, storage=storage)
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
            # Ctrl-C stops the trial through Optuna (marked failed), never inside Optuna's bookkeeping.
            with Interrupts().installed((signal.SIGINT,)) as guard:
                work(WorkerSpec(p, 0, 1, devices[0], trainer, origin=origin), on_event=lambda e: shown.update(study, e),
                     interrupts=guard)
        else:
            specs = [WorkerSpec(p, i, n, devices[i], trainer, optuna_verbosity, origin) for i in range(n)]

            def died(index: int, pid: int) -> None:  # its trials go back to the queue now, not after the grace period
                reclaim(study, storage, worker_tag(index, pid))

            outcome.errors = run_processes(specs, lambda: shown.update(study), on_death=died)
    except KeyboardInterrupt:
        outcome.interrupted = True
    outcome.seconds = time.perf_counter() - start
    # Each invocation's wall time stays in the study, so a resumed run's best.json still tells the cost.
    add_invocation(study, Invocation(timestamp(), round(outcome.seconds, 1), n, outcome.interrupted))
    shown.update(study, events.Ended())
    outcome.complete = not outcome.interrupted and search_done(study, config)
    if outcome.errors and not outcome.interrupted and not outcome.complete:
        raise SearchError(f"{outcome.errors[0]}; finished trials are kept: rerun the same command to resume")
    return outcome
