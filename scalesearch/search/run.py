"""Run a search: plan the candidates, open or join the study, drive workers until every unit is done.

The study is the source of truth. Each worker (a process, or the caller's own process with one worker)
repeats one decision until it says "done" (``next_action``):

1. a WAITING trial exists (a re-queued dead worker's trial, a confirm run): run it;
2. the sweep has a point nobody has finished or is running: run a trial (the grid sampler, or TPE/random
   within ``--n-trials``), or re-queue a point whose only trials failed;
3. the sweep is finished but a leading network lacks its confirm seeds: queue them;
4. only other workers' trials remain: wait for them (and fail the stale ones, which re-queues them);
5. otherwise: done. An exhausted grid never starts a trial, so a finished study reruns in seconds.

Two-stage budget: the sweep trains every distinct proxy network with ``seeds`` seeds; then the leading
``confirm`` networks get ``confirm_seeds`` in all, so the top of the ranking rests on means, not on one
draw (platform-notes: 3-seed means agree across runs far better than single seeds).
"""

from __future__ import annotations

import multiprocessing as mp
import os
import signal
import statistics
import sys
import time
import warnings
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import optuna
from optuna.trial import TrialState

from scalesearch.baselines import baseline as load_baseline
from scalesearch.errors import ScaleSearchError, SearchError, UsageError
from scalesearch.measure import measure
from scalesearch.search.cache import ProxyCache
from scalesearch.search.config import GridConfig, fingerprint, settings_diff
from scalesearch.search.objective import Objective, Trainer, mean_accuracy, score
from scalesearch.search.space import Ranges, SearchSpace, build_space
from scalesearch.search.storage import default_url, open_storage, quiet_optuna
from scalesearch.spec import NetSpec, to_dict
from scalesearch.train import Dataset, load_data, set_threads, train_proxy

Pair = tuple[int, int]  # (proxy group, seed)


@dataclass
class Plan:
    """Everything decided before training: the candidates, the settings and where the study lives."""

    config: GridConfig
    base: NetSpec
    data: Dataset | None
    space: SearchSpace
    settings: dict[str, Any]
    study_name: str
    study_dir: Path
    storage_url: str
    target_flops: int
    baseline_flops: int

    def __getstate__(self) -> dict[str, Any]:
        # Workers reload the data themselves (cached per process) instead of receiving a pickled copy.
        return {**self.__dict__, "data": None}


def plan(config: GridConfig, progress: Callable[[int, int], None] | None = None,
         check_storage: bool = True) -> Plan:
    """Parse, load and measure everything a search needs; trains nothing (this is what --dry-run shows).
    An explicit storage URL is connected to first, so an unreachable one fails before minutes of counting."""
    ranges = Ranges.parse(config.alpha, config.beta, config.gamma)
    base = load_baseline(config.baseline)
    # The candidates keep the baseline's own class count (the deployed model's cost); only the proxy
    # takes the data's classes (train.proxy_spec).
    data = load_data(config.data)
    base_flops = measure(base).flops
    target = config.target_flops or 2 * base_flops
    settings = config.settings(base.architecture_key(), target)
    name = config.study_name(settings)
    study_dir = config.study_dir(name)
    url = config.storage or default_url(study_dir)
    if check_storage and config.storage:
        open_storage(url, heartbeat_interval=config.heartbeat_interval, grace_period=config.grace_period)
    space = build_space(base, ranges, tolerance=config.tolerance, constraint=config.constraint,
                        policy=config.policy, proxy=config.proxy, data=data, dedup=config.dedup, progress=progress)
    return Plan(config, base, data, space, settings, name, study_dir, url, target, base_flops)


# -- the study ---------------------------------------------------------------------------------------

def group_records(space: SearchSpace) -> list[dict[str, Any]]:
    """Per proxy group: its key, the full spec to train and every member triple's facts."""
    return [{"proxy_key": members[0].proxy_key, "spec": to_dict(members[0].spec),
             "members": [c.row() for c in members]} for members in space.proxy_groups]


def make_sampler(config: GridConfig, n_units: int, worker: int = 0) -> optuna.samplers.BaseSampler:
    if config.sampler == "grid":
        # One seed for every worker on every machine: GridSampler shuffles its grid with it and maps the
        # first trials to grid ids by trial number, so workers with different seeds would disagree on
        # which point a grid id is and re-run finished points.
        return optuna.samplers.GridSampler({"idx": list(range(n_units)), "seed": list(range(config.seeds))},
                                           seed=0)
    if config.sampler == "tpe":
        return optuna.samplers.TPESampler(seed=worker, n_startup_trials=min(10, config.n_trials or 10))
    return optuna.samplers.RandomSampler(seed=worker)


def make_pruner(config: GridConfig) -> optuna.pruners.BasePruner:
    if config.pruner == "median":
        return optuna.pruners.MedianPruner(n_startup_trials=5, n_warmup_steps=1)
    if config.pruner == "hyperband":
        return optuna.pruners.HyperbandPruner(min_resource=1, max_resource=config.proxy.epochs)
    return optuna.pruners.NopPruner()


def open_study(p: Plan, worker: int = 0, create: bool = False) -> optuna.Study:
    """Create the study (first run) or load it; a study made with other settings is refused by name."""
    quiet_optuna()
    storage = open_storage(p.storage_url, heartbeat_interval=p.config.heartbeat_interval,
                           grace_period=p.config.grace_period)
    n_units = len(p.space.proxy_groups)
    kwargs = {"study_name": p.study_name, "storage": storage, "sampler": make_sampler(p.config, n_units, worker),
              "pruner": make_pruner(p.config)}
    if not create:
        return optuna.load_study(**kwargs)
    study = optuna.create_study(direction="maximize", load_if_exists=True, **kwargs)
    stored = study.user_attrs.get("settings")
    if stored is None:
        # Two machines starting together both write the same values: last writer wins, nothing differs.
        study.set_user_attr("groups", group_records(p.space))
        study.set_user_attr("baseline_spec", to_dict(p.base))
        study.set_user_attr("baseline_flops", p.baseline_flops)
        study.set_user_attr("fingerprint", fingerprint(p.settings))
        study.set_user_attr("created", time.strftime("%Y-%m-%dT%H:%M:%S%z"))
        study.set_user_attr("settings", p.settings)
    elif stored != p.settings:
        diff = "; ".join(settings_diff(stored, p.settings)[:3])
        raise UsageError(f"study {p.study_name!r} was made with other settings ({diff}): rerun with the "
                         f"study's settings, or pick another --study name")
    return study


# -- deciding what to do next ------------------------------------------------------------------------

def _pairs(t: optuna.trial.FrozenTrial) -> set[Pair]:
    idx = t.params.get("idx")
    if idx is None:
        return set()
    seeds = t.user_attrs.get("seeds")
    if seeds is None:
        seeds = [t.params["seed"]] if "seed" in t.params else [0]
    return {(int(idx), int(s)) for s in seeds}


@dataclass
class Tally:
    done: set[Pair] = field(default_factory=set)  # COMPLETE or PRUNED
    active: set[Pair] = field(default_factory=set)  # RUNNING or WAITING
    failed: set[Pair] = field(default_factory=set)
    waiting: int = 0
    sweep_finished: int = 0  # sweep-stage trials COMPLETE or PRUNED (the tpe/random budget)
    sweep_active: int = 0
    confirm_finished: int = 0
    values: dict[int, list[dict[str, Any]]] = field(default_factory=dict)  # group -> finished results
    grid_taken: set[int] = field(default_factory=set)  # GridSampler grid ids finished or running


def tally(study: optuna.Study) -> Tally:
    out = Tally()
    for t in study.get_trials(deepcopy=False):
        pairs = _pairs(t)
        if "grid_id" in t.system_attrs and (t.state.is_finished() or t.state == TrialState.RUNNING):
            out.grid_taken.add(int(t.system_attrs["grid_id"]))
        sweep = t.user_attrs.get("stage", "sweep") == "sweep"
        if t.state in (TrialState.COMPLETE, TrialState.PRUNED):
            out.done |= pairs
            out.sweep_finished += sweep
            out.confirm_finished += not sweep
            for r in t.user_attrs.get("results", []):
                out.values.setdefault(int(t.params["idx"]), []).append(r)
        elif t.state in (TrialState.RUNNING, TrialState.WAITING):
            out.active |= pairs
            out.sweep_active += sweep
            out.waiting += t.state == TrialState.WAITING
        elif t.state == TrialState.FAIL:
            out.failed |= pairs
    return out


def leaders(values: dict[int, list[dict[str, Any]]], flops: list[tuple[int, ...]], k: int, target: int,
            w: float) -> list[int]:
    """The k groups with the best score, among groups with at least one finished ok result."""
    scored = []
    for g, results in values.items():
        by_seed = {r["seed"]: r for r in results if r.get("status") != "pruned"}
        if any(r.get("status") == "ok" for r in by_seed.values()):
            acc = mean_accuracy(list(by_seed.values()))
            scored.append((max(score(acc, f, target, w) for f in flops[g]), -g))
    return [-g for _, g in sorted(scored, reverse=True)[:k]]


@dataclass(frozen=True)
class Action:
    kind: str  # "run" | "enqueue" | "wait" | "done"
    enqueue: tuple[tuple[Pair, str], ...] = ()  # (pair, stage)


def next_action(config: GridConfig, tl: Tally, flops: list[tuple[int, ...]], target: int) -> Action:
    if tl.waiting:
        return Action("run")
    n = len(flops)
    if config.sampler == "grid":
        missing = {(g, s) for g in range(n) for s in range(config.seeds)} - tl.done
        free = sorted(missing - tl.active)
        if free:
            if len(tl.grid_taken) < n * config.seeds and any(p not in tl.failed for p in free):
                return Action("run")  # the grid sampler still has a point no trial has touched
            # GridSampler counts failed points as visited, and would re-run a finished one: name the point.
            return Action("enqueue", ((free[0], "sweep"),))
        if missing:
            return Action("wait")
    else:
        budget = config.n_trials or 0
        if tl.sweep_finished + tl.sweep_active < budget:
            return Action("run")
        if tl.sweep_finished < budget:
            return Action("wait")
    if config.confirm and config.confirm_seeds > config.seeds:
        # Adaptive: confirm runs can reorder the top, which pulls the next network in, until the top
        # `confirm` all have their seeds. At most 2 x confirm networks get extra seeds, bounding the time.
        top = leaders(tl.values, flops, config.confirm, target, config.w)
        started = {g for g, s in tl.done | tl.active if s >= config.seeds}
        room = max(0, 2 * config.confirm - len(started))
        top = [g for g in top if g in started] + [g for g in top if g not in started][:room]
        need = {(g, s) for g in top for s in range(config.confirm_seeds)} - tl.done
        free = sorted(need - tl.active)
        if free:
            return Action("enqueue", tuple((p, "confirm") for p in free))
        if need:
            return Action("wait")
    return Action("done")


# -- a worker -------------------------------------------------------------------------------------

@dataclass(frozen=True)
class WorkerSpec:
    """What a worker process needs; picklable, so that 'spawn' can send it."""

    plan: Plan
    index: int
    workers: int
    device: str | None
    trainer: Trainer = train_proxy


def work(ws: WorkerSpec, on_event: Callable[[dict[str, Any]], None] | None = None,
         stop: Callable[[], bool] = lambda: False) -> None:
    """Take trials from the study until nothing is left (or ``stop()``)."""
    p, config = ws.plan, ws.plan.config
    data = p.data if p.data is not None else load_data(config.data)
    study = open_study(p, worker=ws.index)
    proxy = config.proxy
    if ws.device is not None or ws.workers != proxy.workers:
        import dataclasses

        proxy = dataclasses.replace(proxy, device=ws.device or proxy.device, workers=ws.workers)
    cache = ProxyCache(config.cache_path, settings={"data": config.data, "proxy": config.proxy_settings()}) \
        if config.cache else None
    objective = Objective(study, data, proxy, seeds=config.seeds, grid=config.sampler == "grid",
                          prune=config.pruner != "none", target_flops=p.target_flops, w=config.w,
                          trainer=ws.trainer, cache=cache, poll_seconds=config.poll_seconds, on_event=on_event,
                          worker=f"w{ws.index}:{os.getpid()}")
    flops = [u.flops for u in objective.units]
    while not stop():
        action = next_action(config, tally(study), flops, p.target_flops)
        if action.kind == "done":
            return
        if action.kind == "wait":
            if on_event:
                on_event({"event": "idle"})
            time.sleep(config.poll_seconds)
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")
                optuna.storages.fail_stale_trials(study)  # a dead worker's trial comes back as WAITING
            continue
        for (g, s), stage in action.enqueue:
            study.enqueue_trial({"idx": g}, user_attrs={"seeds": [s], "stage": stage}, skip_if_exists=False)
        study.optimize(objective, n_trials=1, gc_after_trial=False)
        if on_event:
            on_event({"event": "trial"})


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


def resolve_workers(config: GridConfig) -> GridConfig:
    """Fill in the worker count: one per GPU when several are visible, else 2 when there are >= 2 cores
    (two single-thread processes beat one two-thread process by ~1.5x on small proxies: platform-notes)."""
    if config.workers is not None:
        return config
    import dataclasses

    import torch

    from scalesearch.train.runtime import available_cores

    gpus = torch.cuda.device_count() if config.proxy.device in ("auto", "cuda") else 0
    n = gpus if gpus > 1 else (len(config.devices.split(",")) if config.devices else min(2, available_cores()))
    return dataclasses.replace(config, workers=max(1, n))


def worker_devices(config: GridConfig) -> list[str | None]:
    if config.devices:
        devices: list[str | None] = [d.strip() for d in config.devices.split(",") if d.strip()]
        if not devices:
            raise UsageError(f"--devices {config.devices!r}: list devices, e.g. cuda:0,cuda:1")
    else:
        import torch

        n = torch.cuda.device_count() if config.proxy.device in ("auto", "cuda") else 0
        devices = [f"cuda:{i}" for i in range(n)] if n > 1 else [None]
    return [devices[i % len(devices)] for i in range(config.workers or 1)]


# -- the whole run --------------------------------------------------------------------------------

@dataclass
class Outcome:
    plan: Plan
    study: optuna.Study
    seconds: float
    interrupted: bool = False
    errors: list[str] = field(default_factory=list)


class Display:
    """What run_grid tells while it works (search.progress implements it with rich)."""

    def update(self, study: optuna.Study, event: dict[str, Any] | None = None) -> None: ...


def run_grid(config: GridConfig, *, trainer: Trainer = train_proxy, display: Display | None = None,
             the_plan: Plan | None = None, inline: bool | None = None) -> Outcome:
    """Run (or resume, or join) the search. One worker runs in this process unless ``inline=False``;
    more workers are 'spawn'ed processes. KeyboardInterrupt stops every worker cleanly and returns an
    Outcome with ``interrupted`` set: finished trials are kept and the same call resumes."""
    start = time.perf_counter()
    config = resolve_workers(config)
    p = the_plan or plan(config)
    p.config = config
    study = open_study(p, create=True)
    display = display or Display()
    devices = worker_devices(config)
    inline = config.workers == 1 if inline is None else inline
    outcome = Outcome(p, study, 0.0)
    try:
        if inline:
            set_threads(None, 1)
            work(WorkerSpec(p, 0, 1, devices[0], trainer), on_event=lambda e: display.update(study, e))
        else:
            outcome.errors = _run_processes(p, config, devices, trainer, lambda: display.update(study))
    except KeyboardInterrupt:
        outcome.interrupted = True
    outcome.seconds = time.perf_counter() - start
    # Each invocation's wall time stays in the study, so a resumed run's best.json still tells the cost.
    runs = list(study.user_attrs.get("invocations", []))
    runs.append({"finished_at": time.strftime("%Y-%m-%dT%H:%M:%S%z"), "seconds": round(outcome.seconds, 1),
                 "workers": config.workers, "interrupted": outcome.interrupted})
    study.set_user_attr("invocations", runs)
    display.update(study, {"event": "end"})
    if outcome.errors and not outcome.interrupted:
        raise SearchError(f"{outcome.errors[0]}; finished trials are kept: rerun the same command to resume")
    return outcome


def _run_processes(p: Plan, config: GridConfig, devices: list[str | None], trainer: Trainer,
                   tick: Callable[[], None]) -> list[str]:
    ctx = mp.get_context("spawn")
    procs = [ctx.Process(target=_worker_main, args=(WorkerSpec(p, i, config.workers or 1, devices[i], trainer),),
                         name=f"scalesearch-worker-{i}") for i in range(config.workers or 1)]
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


def study_progress(study: optuna.Study, config: GridConfig, attrs: dict[str, Any] | None = None) -> dict[str, Any]:
    """Done/total units and the current leader, read from the study (any worker, any machine). ``attrs``:
    the study's user attrs, which never change after creation; pass them to skip re-reading ~100 KB."""
    tl = tally(study)
    attrs = attrs if attrs is not None else study.user_attrs
    groups = attrs.get("groups", [])
    n = len(groups)
    sweep_total = n * config.seeds if config.sampler == "grid" else (config.n_trials or 0)
    extra = max(0, config.confirm_seeds - config.seeds) * min(config.confirm, n) if config.confirm else 0
    done_pairs = len(tl.done)
    best = None
    settings = attrs.get("settings", {})
    target, w = settings.get("target_flops", 1), settings.get("w", config.w)
    for g, results in tl.values.items():
        ok = [r["accuracy"] for r in results if r.get("status") == "ok"]
        if not ok:
            continue
        acc = statistics.fmean(ok)
        for m in groups[g]["members"]:
            if not m.get("feasible", True):
                continue
            s = score(acc, m["flops"], target, w)
            if best is None or s > best["score"]:
                best = {"score": s, "alpha": m["alpha"], "beta": m["beta"], "gamma": m["gamma"], "accuracy": acc}
    if config.sampler != "grid":  # a budgeted trial covers all its seeds; confirm trials one seed each
        done_pairs = min(tl.sweep_finished, config.n_trials or 0) * config.seeds + tl.confirm_finished
        sweep_total *= config.seeds
    return {"done": min(done_pairs, sweep_total + extra), "total": sweep_total + extra,
            "running": len(tl.active), "best": best}
