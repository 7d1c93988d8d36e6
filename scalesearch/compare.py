"""The paper's Table 3 on your data: compound scaling against scaling one dimension, at the same FLOPs.

``compare(baseline, coefficients, phi, CompareConfig(...))`` sets a target of the baseline's measured
multiply-adds x 2^phi; solves, for depth-only, width-only, resolution-only, the compound coefficients
("compound") and the other reference strategies (paper, uniform, dwr), the multiplier whose *measured,
rounded* network lands nearest the target (``family.solve_phi``'s bisection, then the nearer of the two
networks around the target); refuses, naming it, a strategy whose nearest network is off by more than the
tolerance; trains every row's proxy on the same seeds (paired), through the proxy-run cache so that an
interrupted comparison resumes; and says whether compound beats each single dimension by more than the
noise (``evidence.paired`` per comparison: mean paired difference over common seeds > 2 standard errors of
that comparison's own differences; not pooled, since a single-dimension network that stalls on one seed
would otherwise widen every comparison).

Why an error rather than an "unreachable" row: a row off the target by more than the tolerance compares
networks of different cost, which is the mistake the table exists to avoid; the message names the
strategy and the nearest costs so the user can move --phi or --tolerance.
"""

from __future__ import annotations

import dataclasses
import math
import statistics
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from scalesearch.errors import FieldError, UsageError
from scalesearch.evidence import Paired, paired
from scalesearch.family import Budget, Member, Recipe, solve_phi
from scalesearch.measure import Cost, measure
from scalesearch.ranking import NOISE_Z
from scalesearch.runs import ProxyResult, RunStatus
from scalesearch.search.config import DEFAULT_BATCH, DEFAULT_RUNGS, RUNTIME_PROXY_FIELDS
from scalesearch.search.runcache import ProxyRunCache
from scalesearch.spec import NetSpec
from scalesearch.train import DEFAULT_DATA, Dataset, ProxyConfig, load_data, proxy_spec, train_proxy

COMPARE_FORMAT = 1
COMPOUND = "compound"
SINGLE = ("depth-only", "width-only", "resolution-only")
REFERENCES = ("paper", "uniform", "dwr")
MODELS = (*SINGLE, COMPOUND, *REFERENCES)  # table order: the paper's Table 3 puts the single dimensions first
DEFAULT_TOLERANCE = 0.05
DEFAULT_SEEDS = 3  # each comparison's own paired test: 2 common seeds give it 1 degree of freedom, 3 give 2
DEFAULT_EPOCHS = DEFAULT_RUNGS[-1].epochs  # the search's final-rung fidelity
RULE = (f"compound beats a single dimension when its mean paired accuracy difference over the common seeds "
        f"exceeds {NOISE_Z:g} standard errors of that comparison's own paired differences (a paired t-style "
        "test per dimension, scalesearch.evidence.paired without pooling: a row that stalls on one seed widens "
        "its own comparison only)")


@dataclass(frozen=True)
class CompareConfig:
    """How the rows are trained and matched. ``proxy.epochs`` is the training length; ``seeds`` runs
    0..seeds-1 for every row; ``tolerance``: each row's measured FLOPs within this fraction of the target."""

    data: str = DEFAULT_DATA
    proxy: ProxyConfig = field(default_factory=lambda: ProxyConfig(epochs=DEFAULT_EPOCHS, batch_size=DEFAULT_BATCH))
    seeds: int = DEFAULT_SEEDS
    tolerance: float = DEFAULT_TOLERANCE
    counter: str = "fvcore"
    cache_size: int | None = None
    cache_path: Path | None = None  # None: the shared proxy-run cache ($SCALESEARCH_CACHE_DIR/proxy.sqlite)
    phi_resolution: float = 0.01

    def __post_init__(self) -> None:
        if isinstance(self.seeds, bool) or not isinstance(self.seeds, int) or self.seeds < 1:
            raise FieldError("seeds", self.seeds, "must be an integer >= 1 (2 or more to measure the noise)")
        if not (isinstance(self.tolerance, (int, float)) and 0 < self.tolerance < 1):
            raise FieldError("tolerance", self.tolerance, "must lie in (0, 1), e.g. 0.05 for 5%")

    def cache_settings(self) -> dict[str, Any]:
        """The proxy-run cache's scope, in the grid's form (workers.work): a comparison reuses a search's runs
        of the same network, data and settings, and a rerun reuses its own."""
        proxy = dataclasses.asdict(self.proxy)
        for k in RUNTIME_PROXY_FIELDS:
            proxy.pop(k, None)
        return {"data": self.data, "proxy": proxy}

    def to_dict(self) -> dict[str, Any]:
        return {"data": self.data, "proxy": dataclasses.asdict(self.proxy), "seeds": self.seeds,
                "tolerance": self.tolerance, "counter": self.counter, "cache_size": self.cache_size,
                "phi_resolution": self.phi_resolution}


# -- matching the target ----------------------------------------------------------------------------

@dataclass(frozen=True)
class Planned:
    """One row's network, solved to the target: ``member.phi`` is the strategy's own phi that reached it."""

    model: str
    recipe: Recipe
    member: Member
    target_flops: int

    @property
    def ratio(self) -> float:
        """Measured multiply-adds / the target."""
        return self.member.cost.flops / self.target_flops


def recipes(coefficients: tuple[float, float, float], policy: str) -> dict[str, Recipe]:
    out = {name: Recipe.from_strategy(name, policy) for name in SINGLE}
    out[COMPOUND] = Recipe(*coefficients, policy=policy)
    out.update({name: Recipe.from_strategy(name, policy) for name in REFERENCES})
    return out


def plan(base: NetSpec, coefficients: tuple[float, float, float], phi: float, config: CompareConfig, *,
         policy: str = "efficientnet", progress: Callable[[str], None] | None = None) -> tuple[Cost, list[Planned]]:
    """The baseline's cost and one Planned row per model, each within ``config.tolerance`` of the target."""
    if isinstance(phi, bool) or not isinstance(phi, (int, float)) or not math.isfinite(phi) or phi <= 0:
        raise FieldError("phi", phi, "must be a number > 0 (the target is the baseline's FLOPs x 2^phi)")
    base_cost = measure(base, config.counter)
    target = round(base_cost.flops * 2.0**phi)
    rows = []
    for model, recipe in recipes(coefficients, policy).items():
        if progress is not None:
            progress(model)
        rows.append(_solve(base, model, recipe, phi, target, config))
    return base_cost, rows


def _solve(base: NetSpec, model: str, recipe: Recipe, phi: float, target: int, config: CompareConfig) -> Planned:
    shown = f"{target:,} multiply-adds"
    try:
        s = solve_phi(base, recipe, Budget("flops", target), counter=config.counter,
                      phi_resolution=config.phi_resolution)
    except FieldError as exc:  # the family never reaches the target (coefficients ~1, a size limit)
        raise FieldError("phi", phi, f"{model} cannot reach the target {shown}: {exc.problem}") from None
    near = [m for m in (s.chosen, s.next_step) if m is not None]
    best = min(near, key=lambda m: abs(math.log(m.cost.flops / target)))
    row = Planned(model, recipe, best, target)
    if abs(row.ratio - 1) > config.tolerance:
        around = " and ".join(f"{m.cost.flops / target:.2f}x (its phi {m.phi:g})" for m in near)
        raise FieldError("phi", phi, f"{model} cannot reach the target {shown} within {config.tolerance:.0%}: "
                         f"its nearest rounded networks cost {around}; try another --phi or a larger --tolerance")
    return row


# -- training ---------------------------------------------------------------------------------------

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


# -- the verdict ------------------------------------------------------------------------------------

@dataclass(frozen=True)
class Versus:
    """Compound against one single-dimension row."""

    model: str
    test: Paired | None  # None: no common seed with an OK run

    @property
    def beats(self) -> bool | None:
        return None if self.test is None else self.test.distinguishable

    def text(self) -> str:
        t = self.test
        if t is None:
            return f"compound vs {self.model}: no common seed with a finished run"
        margin = f"{t.margin * 100:+.2f} points over {t.seeds} seed{'s' * (t.seeds != 1)}"
        if t.standard_error is None:
            return f"compound vs {self.model}: {margin}; noise unknown (one seed): no verdict"
        bound = f"{NOISE_Z:g} SE = {NOISE_Z * t.standard_error * 100:.2f} points"
        if t.distinguishable:
            return f"compound beats {self.model}: {margin} > {bound}"
        return f"compound does not beat {self.model} beyond the noise: {margin} <= {bound}"

    def to_dict(self) -> dict[str, Any]:
        t = self.test
        return {"model": self.model, "beats": self.beats, "seeds": t.seeds if t else 0,
                "margin": t.margin if t else None, "standard_error": t.standard_error if t else None,
                "compound_mean": t.lead_mean if t else None, "other_mean": t.other_mean if t else None,
                "text": self.text()}


@dataclass(frozen=True)
class Verdict:
    rows: tuple[Versus, ...]

    @property
    def beats_all(self) -> bool | None:
        """True: compound beats every single dimension beyond the noise; False: not some; None: unknown."""
        if any(v.beats is False for v in self.rows):
            return False
        return True if self.rows and all(v.beats for v in self.rows) else None

    def summary(self) -> str:
        if self.beats_all:
            return "verdict: compound scaling beats every single dimension by more than the noise"
        if self.beats_all is False:
            lost = ", ".join(v.model for v in self.rows if v.beats is False)
            return f"verdict: compound scaling does not beat every single dimension beyond the noise (not {lost})"
        return "verdict: unknown: give --seeds 2 or more to measure the noise"

    def lines(self) -> list[str]:
        return [v.text() for v in self.rows] + [self.summary()]

    def to_dict(self) -> dict[str, Any]:
        return {"beats_all": self.beats_all, "summary": self.summary(), "rule": RULE,
                "rows": [v.to_dict() for v in self.rows]}


def ok_accuracies(results: Mapping[int, ProxyResult]) -> dict[int, float]:
    return {s: r.accuracy for s, r in results.items() if r.status is RunStatus.OK}


def verdict(compound: Mapping[int, float], singles: Mapping[str, Mapping[int, float]]) -> Verdict:
    """Compound's per-seed accuracies against each single dimension's (seed -> accuracy), paired."""
    tests = paired(compound, singles, pool=False)
    return Verdict(tuple(Versus(m, tests.get(m)) for m in singles))


# -- the result -------------------------------------------------------------------------------------

@dataclass(frozen=True)
class Row:
    """One line of the table: the network as built and its accuracies (OK runs only) by seed."""

    planned: Planned
    results: dict[int, ProxyResult]

    @property
    def accuracies(self) -> dict[int, float]:
        return ok_accuracies(self.results)

    @property
    def mean(self) -> float | None:
        acc = list(self.accuracies.values())
        return statistics.fmean(acc) if acc else None

    @property
    def std(self) -> float | None:
        acc = list(self.accuracies.values())
        return statistics.stdev(acc) if len(acc) >= 2 else None

    def to_dict(self) -> dict[str, Any]:
        p, m = self.planned, self.planned.member
        r = m.spec.scaling
        if r is None:  # every row is made by scale(); a bare spec here is a bug
            raise ValueError(f"{m.spec.name} has no scaling record")
        return {
            "model": p.model, "strategy_phi": m.phi, "alpha": p.recipe.alpha, "beta": p.recipe.beta,
            "gamma": p.recipe.gamma, "d": r.depth_achieved, "w": r.width_achieved, "r": r.resolution_achieved,
            "resolution_px": m.spec.resolution, "layers": m.spec.total_layers, "flops": m.cost.flops,
            "flops_ratio_to_target": round(p.ratio, 4), "flops_ratio_to_baseline": round(m.flops_ratio, 4),
            "params": m.cost.params, "accuracy_mean": self.mean, "accuracy_std": self.std,
            "seeds_ok": len(self.accuracies), "seeds": len(self.results),
            "accuracy_by_seed": {str(s): a for s, a in sorted(self.accuracies.items())},
            "failed": {str(s): f"{x.status}: {x.message}" for s, x in sorted(self.results.items())
                       if x.status is not RunStatus.OK},
            "proxy_resolution_px": next((x.proxy_resolution for x in self.results.values()), None),
        }


@dataclass(frozen=True)
class Comparison:
    baseline: NetSpec
    coefficients: tuple[float, float, float]
    phi: float
    policy: str
    source: str  # the study folder, or "given"
    config: CompareConfig
    base_cost: Cost
    target_flops: int
    rows: tuple[Row, ...]
    verdict: Verdict
    seconds: float
    trained: int  # runs trained by this call (the rest came from the cache)
    device: str = ""

    def row(self, model: str) -> Row:
        return next(r for r in self.rows if r.planned.model == model)

    def to_dict(self) -> dict[str, Any]:
        from scalesearch.report.best import versions

        return {
            "format": COMPARE_FORMAT, "baseline": self.baseline.name, "source": self.source,
            "coefficients": {"alpha": self.coefficients[0], "beta": self.coefficients[1],
                             "gamma": self.coefficients[2]},
            "phi": self.phi, "policy": self.policy, "flops_convention": f"multiply-adds ({self.config.counter})",
            "baseline_flops": self.base_cost.flops, "target_flops": self.target_flops,
            "config": self.config.to_dict(), "rows": [r.to_dict() for r in self.rows],
            "verdict": self.verdict.to_dict(), "wall_seconds": round(self.seconds, 1),
            "runs_trained": self.trained, "runs_reused": len(self.rows) * self.config.seeds - self.trained,
            "device": self.device, "versions": versions(),
        }


def judge(baseline: NetSpec, coefficients: tuple[float, float, float], phi: float, config: CompareConfig,
          base_cost: Cost, planned: Sequence[Planned], results: Mapping[str, Mapping[int, ProxyResult]], *,
          policy: str, source: str, seconds: float, trained: int) -> Comparison:
    """The Comparison of trained rows: the table's rows and the verdict."""
    rows = tuple(Row(p, dict(results[p.model])) for p in planned)
    judged = verdict(ok_accuracies(results[COMPOUND]), {m: ok_accuracies(results[m]) for m in SINGLE})
    return Comparison(baseline, coefficients, phi, policy, source, config, base_cost, planned[0].target_flops, rows,
                      judged, seconds, trained, device_description(config.proxy))


def compare(baseline: NetSpec, coefficients: tuple[float, float, float], phi: float,
            config: CompareConfig | None = None, *, policy: str = "efficientnet", source: str = "given",
            progress: Callable[[Step], None] | None = None, dataset: Dataset | None = None,
            trainer: Callable[..., ProxyResult] = train_proxy) -> Comparison:
    """Solve every row to the target, train it on ``config.seeds`` paired seeds and judge compound against
    the single dimensions. Raises FieldError naming a strategy that cannot reach the target."""
    config = config or CompareConfig()
    start = time.perf_counter()
    base_cost, planned = plan(baseline, coefficients, phi, config, policy=policy)
    data = dataset or load_data(config.data, cache_size=config.cache_size)
    trained = [0]

    def count(step: Step) -> None:
        if step.result is not None and not step.cached:
            trained[0] += 1
        if progress is not None:
            progress(step)

    results = train_rows(planned, data, config, progress=count, trainer=trainer)
    return judge(baseline, coefficients, phi, config, base_cost, planned, results, policy=policy, source=source,
                 seconds=time.perf_counter() - start, trained=trained[0])


def estimate_seconds(rows: Sequence[Planned], dataset: Dataset, config: CompareConfig,
                     todo: Sequence[tuple[str, int]]) -> float:
    """About how long ``todo`` takes to train: a timed forward + backward pass of each proxy at the training
    batch (cached per machine) x the steps of a run, plus 15% for evaluation and BN recalibration. Ignores
    the load other processes put on the machine."""
    from scalesearch.measure import LatencyConfig, measure_latency
    from scalesearch.train import resolve_device

    device = resolve_device(config.proxy.device)
    n = len(dataset.train_y) if config.proxy.train_subset is None else min(config.proxy.train_subset,
                                                                            len(dataset.train_y))
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


def study_inputs(path: Path) -> tuple[NetSpec, tuple[float, float, float], str, dict[str, Any]]:
    """(baseline spec, recommended coefficients, rounding policy, search settings) of a finished study;
    UsageError for a folder that is not one, or a search that did not finish."""
    from scalesearch.report.best import load_best

    best = load_best(path)
    if best.record.get("search_finished") is False:
        raise UsageError(f"{best.path}: the search was interrupted, so its leader is provisional: rerun the grid "
                         "command to finish it, then compare")
    return best.baseline_spec, (best.alpha, best.beta, best.gamma), best.policy, best.settings


def study_proxy(settings: Mapping[str, Any], epochs: int | None = None) -> tuple[ProxyConfig, int]:
    """The study's proxy settings at its final rung's epochs (or ``epochs``), and its final rung's seeds."""
    proxy = settings.get("proxy") if isinstance(settings.get("proxy"), dict) else {}
    names = {f.name for f in dataclasses.fields(ProxyConfig)}
    rungs = settings.get("rungs") or [[DEFAULT_EPOCHS, DEFAULT_SEEDS]]
    last_epochs, last_seeds = rungs[-1]
    values = {k: v for k, v in proxy.items() if k in names}
    return ProxyConfig(**{**values, "epochs": epochs or int(last_epochs)}), int(last_seeds)


# -- files ------------------------------------------------------------------------------------------

CSV_COLUMNS = ("model", "strategy_phi", "d", "w", "r", "resolution_px", "layers", "flops", "flops_ratio_to_target",
               "params", "accuracy_mean", "accuracy_std", "seeds_ok", "alpha", "beta", "gamma")


FILES = {"csv": "compare.csv", "json": "compare.json", "png": "compare.png"}  # what write_files writes in ``out``


def write_files(result: Comparison, out: Path) -> dict[str, Path]:
    """compare.csv (one row per model, FLOPs in multiply-adds), compare.json (everything, format
    COMPARE_FORMAT) and compare.png (accuracy +- seed std per strategy) in ``out``."""
    import pandas as pd

    from scalesearch.jsonio import write_json, write_text_atomic
    from scalesearch.report.compareplot import compare_figure, save_figure

    out.mkdir(parents=True, exist_ok=True)
    data = result.to_dict()
    frame = pd.DataFrame([{k: r[k] for k in CSV_COLUMNS} for r in data["rows"]])
    paths = {"csv": write_text_atomic(out / FILES["csv"], frame.to_csv(index=False)),
             "json": write_json(out / FILES["json"], data)}
    title = (f"{result.baseline.name} at phi {result.phi:g}: {result.target_flops:,} multiply-adds "
             f"({result.config.seeds} seed(s), {result.config.proxy.epochs} epoch(s), {result.config.data})")
    note = ("Label above each bar: its measured FLOPs / the target. " + result.verdict.summary())
    paths["png"] = save_figure(compare_figure(data["rows"], title, note), out / FILES["png"])
    return paths
