"""Workers: the loop each one runs (ask the scheduler, run a trial, repeat), the processes that run them,
and which device each one gets.

A worker holds no state the study does not: it reads the study, asks ``schedule.next_action`` what to
do, and runs that as one Optuna trial whose params are fixed to the chosen candidate. Any number of them,
in this process, in spawned processes or on other machines, can share one study.

Stopping: the first SIGINT or SIGTERM a worker gets (Ctrl-C, the parent's stop, the parent's death) stops it
(``Interrupts``): a running trial is interrupted and marked failed, so the next run redoes it; later signals
are ignored, so Optuna's own bookkeeping is never cut halfway. A spawned worker stops with its parent, even
one killed by SIGKILL (``follow_parent``); the parent reclaims the trials of a worker that died
(``reclaim``), so the others take its work over at once.
"""

from __future__ import annotations

import contextlib
import ctypes
import dataclasses
import hashlib
import multiprocessing as mp
import os
import signal
import socket
import sys
import threading
import time
import warnings
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Any, TypeVar

import optuna
from optuna.trial import TrialState

from scalesearch.core.errors import FieldError, ScaleSearchError
from scalesearch.core.record import PARAMS, SEED_PARAM, StudyRecord, TrialRecord
from scalesearch.core.settings import Pruner
from scalesearch.search import events
from scalesearch.search.objective import Objective, OnEvent, Trainer
from scalesearch.search.plan import Plan
from scalesearch.search.runcache import ProxyRunCache
from scalesearch.search.schedule import Schedule, Work, next_action, tally
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
    parent: int = 0  # pid of the process that spawned this worker (run_processes sets it): it stops with it


def worker_tag(index: int, pid: int | None = None) -> str:
    """'host:wINDEX:PID': who runs a trial, as its record says (``TrialRecord.worker``)."""
    return f"{socket.gethostname()}:w{index}:{os.getpid() if pid is None else pid}"


T = TypeVar("T")
R = TypeVar("R")
STOP_SIGNALS = (signal.SIGINT, signal.SIGTERM)
INTERRUPTED = 130  # a worker's exit code when a signal stopped it


class Interrupts:
    """How a worker stops on a signal. The first SIGINT or SIGTERM asks it to stop: inside a trial's objective
    it raises KeyboardInterrupt there (Optuna marks the trial failed, so the next run redoes it, and re-raises
    it); anywhere else (asking for a trial, telling the storage its result, waiting for other workers) the
    worker stops before its next trial. Later signals are ignored: a second one that landed in Optuna's own
    bookkeeping used to leave the trial RUNNING and print `UnboundLocalError: ... 'updated_state'`."""

    def __init__(self) -> None:
        self.requested = False
        self._armed = False  # inside an objective: a signal may raise there

    def _handle(self, signum: int, frame: Any) -> None:
        if self.requested:
            return
        self.requested = True
        if self._armed:
            self._armed = False
            raise KeyboardInterrupt

    def install(self, signals: tuple[signal.Signals, ...] = STOP_SIGNALS) -> dict[int, Any]:
        """Handle ``signals`` from now on (main thread only); returns the handlers replaced."""
        return {s: signal.signal(s, self._handle) for s in signals}

    @contextlib.contextmanager
    def installed(self, signals: tuple[signal.Signals, ...] = STOP_SIGNALS) -> Iterator[Interrupts]:
        """Handle ``signals`` inside the block, then put the previous handlers back. Off the main thread, where
        Python takes no handler, nothing changes."""
        if threading.current_thread() is not threading.main_thread():
            yield self
            return
        previous = self.install(signals)
        try:
            yield self
        finally:
            for s, handler in previous.items():
                signal.signal(s, handler if handler is not None else signal.SIG_DFL)

    def interruptible(self, fn: Callable[[T], R]) -> Callable[[T], R]:
        """``fn`` (an objective) with signals raising inside it."""
        def call(arg: T) -> R:
            if self.requested:  # asked to stop while Optuna was starting this trial
                raise KeyboardInterrupt
            self._armed = True
            try:
                return fn(arg)
            finally:
                self._armed = False
        return call


def offset(index: int, origin: str) -> int:
    """Where a worker starts in the list of free work: its index within its command, shifted per command,
    so that workers of one command never start on the same network and other commands (other machines,
    or a second terminal) rarely do."""
    return index + int(hashlib.sha256(origin.encode()).hexdigest()[:8], 16)


def fixed_sampler(work: Work, schedule: Schedule, base: optuna.samplers.BaseSampler,
                  record: StudyRecord) -> optuna.samplers.BaseSampler:
    """The study's sampler with the chosen candidate's params (and seed) fixed."""
    if work.candidate is None:
        return base
    row = record.candidates[work.candidate]
    params: dict[str, Any] = dict(zip(PARAMS, row.triple, strict=True))
    if schedule.seeds_are_trials:
        params[SEED_PARAM] = work.seeds[0]
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # PartialFixedSampler is "experimental" in Optuna 5
        return optuna.samplers.PartialFixedSampler(params, base)


def work(ws: WorkerSpec, on_event: OnEvent | None = None, interrupts: Interrupts | None = None) -> None:
    """Take trials from the study until nothing is left. With ``interrupts`` (installed by the
    caller), a signal stops the work: KeyboardInterrupt, raised here once the running trial is marked failed."""
    guard = interrupts or Interrupts()  # never installed: never requested
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
    schedule = config.schedule
    objective = Objective(study, record, data, proxy, schedule=schedule, prune=config.pruner is not Pruner.NONE,
                          trainer=ws.trainer, caches=caches, poll_seconds=config.poll_seconds, on_event=on_event,
                          worker=worker_tag(ws.index), seed_base=config.seed_base)
    run = guard.interruptible(objective)
    base = study.sampler
    notify = on_event or (lambda event: None)
    while True:
        if guard.requested:
            raise KeyboardInterrupt
        action = next_action(schedule, record, tally(study.get_trials(deepcopy=False)), offset(ws.index, ws.origin))
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
        study.sampler = fixed_sampler(action.work, schedule, base, record) if action.work else base
        study.optimize(run, n_trials=1, gc_after_trial=False)
        notify(events.TrialDone())


def _worker_main(ws: WorkerSpec) -> None:
    """Entry point of a spawned worker. A signal (Ctrl-C, the parent's stop, the parent's death) marks the
    running trial failed, so the next run redoes it, and ends the worker quietly with code 130."""
    guard = Interrupts()
    guard.install()  # for good: a signal during the interpreter's exit must not print a traceback either
    follow_parent(ws.parent or os.getppid())
    set_threads(None, ws.workers)
    try:
        work(ws, interrupts=guard)
    except KeyboardInterrupt:
        sys.exit(INTERRUPTED)
    except ScaleSearchError as exc:
        print(f"worker {ws.index}: {exc}", file=sys.stderr)
        sys.exit(exc.exit_code)


PR_SET_PDEATHSIG = 1  # linux/prctl.h


def follow_parent(parent: int, poll_seconds: float = 1.0) -> None:
    """Send this process SIGTERM when ``parent`` dies, SIGKILL included, so no worker trains on as an orphan.
    Linux tells at once (prctl PR_SET_PDEATHSIG); everywhere a thread also checks the parent every
    ``poll_seconds`` (a dead parent's children are handed to another process)."""
    if sys.platform.startswith("linux"):
        try:
            ctypes.CDLL(None, use_errno=True).prctl(PR_SET_PDEATHSIG, int(signal.SIGTERM), 0, 0, 0)
        except (OSError, AttributeError):
            pass  # no libc to call: the thread below still notices
    if os.getppid() != parent:  # it died before we could ask
        os.kill(os.getpid(), signal.SIGTERM)
        return

    def watch() -> None:
        while os.getppid() == parent:
            time.sleep(poll_seconds)
        os.kill(os.getpid(), signal.SIGTERM)

    threading.Thread(target=watch, name="scalesearch-parent-watch", daemon=True).start()


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


def exit_text(code: int) -> str:
    """How a process ended, from its exit code: 'exited with code 5', 'was killed by SIGKILL'."""
    if code >= 0:
        return f"exited with code {code}"
    try:
        return f"was killed by {signal.Signals(-code).name}"
    except ValueError:
        return f"was killed by signal {-code}"


def run_processes(specs: list[WorkerSpec], tick: Callable[[], None],
                  on_death: Callable[[int, int], None] = lambda index, pid: None) -> list[str]:
    """Run each worker in a spawned process until all have ended; return one message per worker that failed.
    ``on_death(index, pid)`` is called as soon as a worker is found ended with an error (the others go on)."""
    ctx = mp.get_context("spawn")
    parent = os.getpid()
    # daemon: stopped at this process's normal exit too (follow_parent covers the abnormal ones)
    procs = [ctx.Process(target=_worker_main, args=(dataclasses.replace(ws, parent=parent),),
                         name=f"scalesearch-worker-{ws.index}", daemon=True) for ws in specs]
    errors: list[str] = []
    ended: set[int] = set()
    try:
        with _sigint_ignored():
            for proc in procs:
                proc.start()
        while len(ended) < len(procs):
            for i, proc in enumerate(procs):
                if i not in ended and proc.exitcode is not None:
                    ended.add(i)
                    if proc.exitcode == INTERRUPTED:  # someone stopped it (a Ctrl-C this process missed)
                        raise KeyboardInterrupt
                    if proc.exitcode != 0:
                        errors.append(f"worker {i} {exit_text(proc.exitcode)}")
                        if proc.pid is not None:  # always, once started
                            on_death(i, proc.pid)
            tick()
            if len(ended) < len(procs):
                time.sleep(0.5)  # the display itself reads the study only every few seconds
    except KeyboardInterrupt:
        for i in _stop(procs):  # killed before it could mark its trial failed: the trial is reclaimed here
            pid = procs[i].pid
            if pid is not None:
                with contextlib.suppress(Exception):  # the study may be unreachable now; the grace period remains
                    on_death(i, pid)
        raise
    return errors


@contextlib.contextmanager
def _sigint_ignored() -> Iterator[None]:
    """SIGINT ignored while workers start. A child keeps an ignored signal across exec, and Python then installs
    no KeyboardInterrupt handler of its own, so a Ctrl-C during a worker's seconds of start-up (imports, before
    ``Interrupts`` is in place) cannot end it with a traceback. A Ctrl-C in these milliseconds still reaches
    the workers already running, and a worker stopped by it stops the search."""
    if threading.current_thread() is not threading.main_thread():
        yield
        return
    previous = signal.signal(signal.SIGINT, signal.SIG_IGN)
    try:
        yield
    finally:
        signal.signal(signal.SIGINT, previous if previous is not None else signal.SIG_DFL)


def _stop(procs: list[Any]) -> list[int]:
    """Ask each worker to stop (SIGTERM: it marks its running trial failed and ends; a terminal's Ctrl-C may
    already have asked, and later signals change nothing), give them 15 s, then kill stragglers. A second
    Ctrl-C here kills them at once. Returns the indices of the workers that had to be killed."""
    started = [proc for proc in procs if proc.pid is not None]
    for proc in started:
        if proc.is_alive():
            with contextlib.suppress(ProcessLookupError):
                os.kill(proc.pid, signal.SIGTERM)
    try:
        deadline = time.monotonic() + 15
        for proc in started:
            proc.join(timeout=max(0.1, deadline - time.monotonic()))
    except KeyboardInterrupt:
        pass
    killed = []
    for i, proc in enumerate(procs):
        if proc.pid is not None and proc.is_alive():
            proc.kill()
            proc.join(timeout=5)
            killed.append(i)
    return killed


def reclaim(study: optuna.Study, storage: optuna.storages.BaseStorage, tag: str) -> int:
    """Fail the RUNNING trials of a worker known to be dead (``tag``: its ``worker_tag``) and queue each again,
    as the heartbeat check does after its grace period (same callback, same retry limit), so that the other
    workers take the work over now. Returns how many trials were reclaimed."""
    callback = storage.get_heartbeat_stale_trial_callback() if isinstance(
        storage, optuna.storages.RDBStorage) else None
    n = 0
    for t in study.get_trials(deepcopy=False, states=(TrialState.RUNNING,)):
        rec = TrialRecord.read(t)
        if rec is None or rec.worker != tag:
            continue
        try:
            # _trial_id: the storage's key of the trial (Optuna's fail_stale_trials uses it the same way)
            if not storage.set_trial_state_values(t._trial_id, state=TrialState.FAIL):
                continue
        except optuna.exceptions.UpdateFinishedTrialError:
            continue  # it finished (or was failed by a heartbeat check) meanwhile
        n += 1
        if callback is not None:
            callback(study, storage.get_trial(t._trial_id))
    return n
