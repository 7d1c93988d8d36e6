"""Everything decided before training: the candidates, the settings and where the study lives.

``plan`` parses, loads and measures; it trains nothing (this is what ``grid --dry-run`` shows).
"""

from __future__ import annotations

import functools
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from scalesearch.core import strategies
from scalesearch.core.builderspec import AnySpec
from scalesearch.core.errors import FieldError, UsageError
from scalesearch.core.grid import Ranges
from scalesearch.core.jsonio import timestamp
from scalesearch.core.record import StudyRecord
from scalesearch.core.units import COST_UNITS, check_target
from scalesearch.measure import Cost, measure
from scalesearch.measure.latency import where
from scalesearch.nn import resolve_baseline
from scalesearch.search.config import SearchConfig
from scalesearch.search.space import SearchSpace, build_space
from scalesearch.search.storage import default_url, open_storage
from scalesearch.train import Dataset, available_cores, cuda_device_count, load_data, resolve_device


@dataclass
class Plan:
    config: SearchConfig
    base: AnySpec
    data: Dataset | None
    space: SearchSpace
    settings: dict[str, Any]
    study_name: str
    study_dir: Path
    storage_url: str
    target_flops: int
    baseline_flops: int
    cost: str = "flops"  # what the score charges (SearchConfig.cost)
    target: float = 0.0  # T in the cost's unit
    cost_note: str = ""  # how the cost was measured, for headers: "multiply-adds", "ms on cpu (AMD EPYC), ..."

    def __getstate__(self) -> dict[str, Any]:
        # Workers reload the data themselves (cached per process) instead of receiving a pickled copy.
        return {**self.__dict__, "data": None}

    def record(self) -> StudyRecord:
        """The study record a new study starts with."""
        ranges = Ranges.parse(self.config.alpha, self.config.beta, self.config.gamma)
        # The choices of each param: the axis, 1.0 (the baseline (1, 1, 1)) and the reference points' values,
        # so that every candidate is a valid point of the trial params.
        rows = self.space.rows()
        extra = [{r.alpha for r in rows}, {r.beta for r in rows}, {r.gamma for r in rows}]
        a, b, g = (tuple(sorted({*axis, 1.0, *more})) for axis, more in
                   zip((ranges.alpha, ranges.beta, ranges.gamma), extra, strict=True))
        return StudyRecord(settings=self.settings, axes=(a, b, g), candidates=tuple(rows),
                           networks=tuple(self.space.networks()), baseline_spec=self.base,
                           baseline_flops=self.baseline_flops, created=timestamp())


def check_devices(config: SearchConfig) -> None:
    """Refuse, before minutes of counting, a device that is not here and more workers than the machine
    can run: every worker trains on its own cores (or shares a GPU)."""
    resolve_device(config.proxy.device)
    if config.latency_config is not None:
        try:
            where(config.latency_config)
        except FieldError:  # a bad --latency-* value: already names its flag
            raise
        except UsageError as exc:  # a device that is not here
            raise UsageError(f"--latency-device: {exc}") from None
    listed = [d.strip() for d in (config.devices or "").split(",") if d.strip()]
    for device in listed:
        resolve_device(device)
    if config.workers is not None:
        cores, gpus = available_cores(), cuda_device_count() if config.proxy.device in ("auto", "cuda") else 0
        # Two workers per core still overlap data handling with compute; more only thrash.
        limit = max(2 * cores, 8 * max(gpus, len([d for d in listed if d.startswith("cuda")])))
        if config.workers > limit:
            raise FieldError("workers", config.workers, f"at most {limit} here ({cores} cores, {gpus} CUDA devices): "
                             "more worker processes than that only compete for the same cores")


def plan(config: SearchConfig, progress: Callable[[int, int], None] | None = None,
         check_storage: bool = True) -> Plan:
    """Parse, load and measure everything a search needs. An explicit storage URL is connected to first,
    so an unreachable one fails before minutes of counting."""
    ranges = Ranges.parse(config.alpha, config.beta, config.gamma)
    check_devices(config)
    base = resolve_baseline(config.baseline, config.image_size)  # a builder named here is imported (its code runs)
    # The candidates keep the baseline's own class count (the deployed model's cost); only the proxy
    # takes the data's classes (train.proxy_spec).
    data = load_data(config.data)
    timing = config.latency_config
    measure_fn = functools.partial(measure, latency=timing) if timing is not None else measure
    base_cost = measure_fn(base)
    base_flops = base_cost.flops
    target = config.target_flops or (int(config.target) if config.cost == "flops" and config.target else 0) or (
        2 * base_flops)
    goal, note, extra = _cost_settings(config, base_cost, target)
    # The rule scale's budgets follow too: a T far below the baseline's own cost is refused before the counting.
    base_value = base_cost.latency.median_ms if config.cost == "latency" and base_cost.latency else (
        float(getattr(base_cost, config.cost)))
    check_target(goal, base_value, field="target_flops" if config.target_flops else "target", cost=config.cost,
                 baseline=base.name)
    settings = config.settings(base.architecture_key(), target, extra)
    name = config.study_name(settings)
    study_dir = config.study_dir(name)
    url = config.storage or default_url(study_dir)
    if check_storage and config.storage:
        open_storage(url, heartbeat_interval=config.heartbeat_interval, grace_period=config.grace_period)
    space = build_space(base, ranges, tolerance=config.tolerance, constraint=config.constraint,
                        policy=config.policy, proxy=config.proxy, data=data, dedup=config.dedup,
                        references=[strategies.get(r) for r in config.references], progress=progress,
                        measure_fn=measure_fn, cost=config.cost)
    return Plan(config, base, data, space, settings, name, study_dir, url, target, base_flops, config.cost, goal, note)


def _cost_settings(config: SearchConfig, base_cost: Cost, target_flops: int) -> tuple[float, str, dict[str, Any]]:
    """(T in the cost's unit, how the cost is measured, the settings a non-FLOPs cost adds to the fingerprint).
    The default T is twice the baseline's cost, as for FLOPs: T scales every score alike, never the order."""
    if config.cost == "flops":
        return float(target_flops), "multiply-adds", {}
    if config.cost == "latency":
        assert base_cost.latency is not None  # measured with config.latency_config
        lat = base_cost.latency
        base_value = lat.median_ms
        note = (f"ms per pass of {lat.batch}, {lat.dtype} {lat.mode}, {lat.threads} thread(s) on {lat.device} "
                f"({lat.device_name}); only comparable on this machine")
        machine = {"device": lat.device, "device_name": lat.device_name, "batch": lat.batch, "dtype": lat.dtype,
                   "mode": lat.mode, "channels_last": lat.channels_last, "threads": lat.threads,
                   "torch": lat.torch_version}
    else:
        base_value = float(base_cost.activations if config.cost == "activations" else base_cost.params)
        note, machine = COST_UNITS[config.cost], None
    goal = config.target or 2 * base_value
    extra: dict[str, Any] = {"cost": config.cost, "target": goal, "cost_unit": COST_UNITS[config.cost]}
    if machine is not None:
        extra["latency"] = machine
    return goal, note, extra
