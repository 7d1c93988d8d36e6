"""Training the rows on paired seeds through the proxy-run cache (an interrupted comparison resumes), and
how long that will take."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass

from scalesearch.compare.config import CompareConfig
from scalesearch.compare.match import Planned
from scalesearch.core.runs import ProxyResult
from scalesearch.search.runcache import ProxyRunCache
from scalesearch.train import Dataset, ProxyConfig, proxy_spec, train_proxy
from scalesearch.train.proxy import training_images


@dataclass(frozen=True)
class Step:
    """Progress of the training: ``done`` of ``total`` runs finished; ``result`` None while one starts."""

    model: str
    seed: int
    done: int
    total: int
    result: ProxyResult | None = None
    cached: bool = False


def proxy_keys(rows: Sequence[Planned], dataset: Dataset, config: CompareConfig) -> dict[str, str]:
    """model -> architecture key of its trained proxy (what the cache is keyed by)."""
    return {r.model: proxy_spec(r.member.spec, config.proxy, dataset).architecture_key() for r in rows}


def pending(rows: Sequence[Planned], dataset: Dataset, config: CompareConfig) -> list[tuple[str, int]]:
    """(model, seed) runs the cache does not hold yet: what a run of ``train_rows`` would train (a network
    two rows share is trained once)."""
    cache = ProxyRunCache(config.cache_path, config.cache_settings())
    try:
        keys, seen, out = proxy_keys(rows, dataset, config), set(), []
        for r in rows:
            for seed in range(config.seeds):
                if (keys[r.model], seed) not in seen and cache.get(keys[r.model], seed) is None:
                    out.append((r.model, seed))
                seen.add((keys[r.model], seed))
        return out
    finally:
        cache.close()


def train_rows(rows: Sequence[Planned], dataset: Dataset, config: CompareConfig, *,
               progress: Callable[[Step], None] | None = None,
               trainer: Callable[..., ProxyResult] = train_proxy) -> dict[str, dict[int, ProxyResult]]:
    """model -> seed -> result. Each finished run is stored in the cache at once: Ctrl-C loses only the run
    in progress, and the same call resumes. Rows that build the same proxy share its runs."""
    emit = progress or (lambda step: None)
    cache = ProxyRunCache(config.cache_path, config.cache_settings())
    keys = proxy_keys(rows, dataset, config)
    total = len(rows) * config.seeds
    out: dict[str, dict[int, ProxyResult]] = {r.model: {} for r in rows}
    done = 0
    try:
        for seed in range(config.seeds):  # seed-major: after an interrupt every row has its first seeds
            for r in rows:
                key = keys[r.model]
                result = cache.get(key, seed)
                cached = result is not None
                if result is None:
                    emit(Step(r.model, seed, done, total))
                    result = trainer(r.member.spec, dataset, config.proxy, seed=seed)
                    cache.put(key, seed, result)
                out[r.model][seed] = result
                done += 1
                emit(Step(r.model, seed, done, total, result, cached))
    finally:
        cache.close()
    return out


def estimate_seconds(rows: Sequence[Planned], dataset: Dataset, config: CompareConfig,
                     todo: Sequence[tuple[str, int]]) -> float:
    """About how long ``todo`` takes to train: a timed forward + backward pass of each proxy at the training
    batch (cached per machine) x the steps of a run, plus 15% for evaluation and BN recalibration. Ignores
    the load other processes put on the machine."""
    from scalesearch.measure import LatencyConfig, measure_latency
    from scalesearch.train import resolve_device

    device = resolve_device(config.proxy.device)
    n = training_images(config.proxy, dataset)
    batch = min(config.proxy.batch_size, n)
    steps = max(1, n // batch) * config.proxy.epochs
    timing = LatencyConfig(device=str(device), batch=batch, mode="train", threads=config.proxy.threads, warmup=1,
                           repeats=3, min_repeats=2, budget_seconds=1.0)
    by_model = {r.model: r for r in rows}
    per_step: dict[str, float] = {}
    total = 0.0
    for model, _seed in todo:
        proxy = proxy_spec(by_model[model].member.spec, config.proxy, dataset)
        key = proxy.architecture_key()
        if key not in per_step:
            per_step[key] = measure_latency(proxy, timing).median_ms / 1000
        total += per_step[key] * steps * 1.15
    return total


def device_description(proxy: ProxyConfig) -> str:
    """'cpu (AMD EPYC 7B13)' or 'cuda:0 (NVIDIA H100)': where the rows were trained."""
    from scalesearch.measure.latency import device_name
    from scalesearch.train import resolve_device

    device = resolve_device(proxy.device)
    return f"{device} ({device_name(device)})"
