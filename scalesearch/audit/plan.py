"""What an audit will do, decided before anything trains: the finished study it reads, the networks it
retrains (the sample), the higher-fidelity proxy setting, what the cache already holds and how long the
rest will take. ``prepare`` trains nothing, so the CLI can say how long the audit takes before it starts.
"""

from __future__ import annotations

import math
import statistics
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import optuna
from optuna.trial import TrialState

from scalesearch.core import ranking
from scalesearch.core.builderspec import AnySpec
from scalesearch.core.errors import FieldError, SearchError
from scalesearch.core.evidence import Runs, best_rows, leaders
from scalesearch.core.record import StudyRecord
from scalesearch.core.settings import Sampler
from scalesearch.measure import measure
from scalesearch.report.table import ranked_study
from scalesearch.search.config import stored_proxy
from scalesearch.search.runcache import ProxyRunCache, run_scope
from scalesearch.search.schedule import MAX_EPOCHS, MAX_SEEDS, Rung, Schedule, snapshot, tally
from scalesearch.search.storage import default_url, load_study_at, redact
from scalesearch.train import Dataset, ProxyConfig, available_cores, load_data, proxy_spec
from scalesearch.train.proxy import training_images

DEFAULT_SAMPLE = 12  # networks retrained: enough for a Spearman interval narrower than +-0.3 at rho ~0.8
DEFAULT_SEEDS = 2  # the fewest that measure the audit's own seed noise
# The default fidelity: twice the study's final-rung epochs at twice its proxy width: nominally 8x the final
# rung's training compute per network (epochs x width^2), 6.2x in counted multiply-adds on the default study
# (depthwise convolutions and the stem grow only linearly with width): above 4x either way.
EPOCH_FACTOR = 2
WIDTH_FACTOR = 2.0
MAX_WIDTH = 4.0  # ProxyConfig's own bound on proxy_width
RESAMPLES = 2000
LONG_HOURS = 12  # an audit estimated longer than this needs --allow-long (a typo should not start days of work)


@dataclass(frozen=True)
class AuditConfig:
    """How to audit. ``sample``: networks retrained (the leaders set always, then a stratified sample over the
    rest of the ranking up to this many; at least 2 of the rest, so a large leaders set can exceed it);
    ``epochs`` / ``proxy_width``: the audit's fidelity (None: 2x the study's final-rung epochs, 2x its proxy
    width, capped at 4); ``train_subset`` / ``val_subset``: images per run (None: the study's; more training
    images are more compute, counted in the ratio); ``seeds``: seeds per network; ``resamples`` /
    ``bootstrap_seed``: the bootstrap intervals; ``cache_path``: the proxy-run cache (None: the default one,
    which `grid` also uses)."""

    sample: int = DEFAULT_SAMPLE
    epochs: int | None = None
    proxy_width: float | None = None
    train_subset: int | None = None  # training images per run (None: the study's)
    val_subset: int | None = None  # validation images (None: the study's)
    seeds: int = DEFAULT_SEEDS
    resamples: int = RESAMPLES
    bootstrap_seed: int = 0
    device: str = "auto"
    cache_path: Path | None = None

    def __post_init__(self) -> None:
        def need(ok: bool, name: str, problem: str) -> None:
            if not ok:
                raise FieldError(name, getattr(self, name), problem)

        def is_int(v: Any) -> bool:
            return isinstance(v, int) and not isinstance(v, bool)

        need(is_int(self.sample) and self.sample >= 3, "sample", "must be an integer >= 3 (a rank correlation "
             "needs three networks)")
        need(is_int(self.seeds) and 1 <= self.seeds <= MAX_SEEDS, "seeds",
             f"must be an integer from 1 to {MAX_SEEDS} (a grid rung's bound)")
        need(self.epochs is None or (is_int(self.epochs) and 1 <= self.epochs <= MAX_EPOCHS), "epochs",
             f"must be an integer from 1 to {MAX_EPOCHS} (a grid rung's bound)")
        need(self.proxy_width is None or (isinstance(self.proxy_width, (int, float)) and not isinstance(
            self.proxy_width, bool) and 0 < self.proxy_width <= MAX_WIDTH), "proxy_width",
             f"must lie in (0, {MAX_WIDTH:g}]")
        need(is_int(self.resamples) and self.resamples >= 100, "resamples", "must be an integer >= 100")
        for name in ("train_subset", "val_subset"):
            value = getattr(self, name)
            need(value is None or (is_int(value) and value >= 1), name, "must be a whole number of images >= 1")


@dataclass(frozen=True)
class Sampled:
    """One network of the sample, as the study ranked it. ``speaker``: its best-ranked candidate (whose cost
    factor turns the audit's accuracy into a score); ``study_rank``: 1-based position among the study's
    ranked networks; ``rung0_*``: the signals every network has (rung 0, the same epochs for all)."""

    network: int
    speaker: ranking.Row
    study_rank: int
    leader: bool
    rung0_accuracy: float
    rung0_training_speed: float
    proxy_key: str  # of the proxy at the audit's width: the cache key

    @property
    def factor(self) -> float:
        """The cost factor (cost / T)^w of the study's score (score = accuracy x factor)."""
        s = self.speaker
        return s.score / s.summary.accuracy_mean if s.summary.accuracy_mean else 0.0

    @property
    def label(self) -> str:
        c = self.speaker.candidate
        return f"({c.alpha:g}, {c.beta:g}, {c.gamma:g})" + (f" {c.reference}" if c.reference else "")


@dataclass
class AuditPlan:
    study_name: str
    storage: str  # redacted URL
    folder: Path  # where audit.json goes
    record: StudyRecord
    rows: list[ranking.Row]
    runs: Runs
    config: AuditConfig
    proxy: ProxyConfig  # the audit's proxy setting
    data: Dataset
    final_rung: int
    study_epochs: int
    study_seeds: int
    study_width: float
    sample: list[Sampled]
    ranked_networks: int
    study_leaders: list[int]
    study_seconds_per_run: float | None  # mean measured seconds of the final rung's runs
    study_threads: float | None  # mean torch threads of those runs (2 workers x 1 thread: 1)
    compute_ratio: float  # training multiply-adds per network, audit / final rung (mean over the sample)
    cached: set[tuple[int, int]] = field(default_factory=set)  # (network, seed) already in the cache

    @property
    def seeds(self) -> tuple[int, ...]:
        return tuple(range(self.config.seeds))

    @property
    def runs_needed(self) -> int:
        return len(self.sample) * self.config.seeds

    @property
    def runs_to_train(self) -> int:
        return self.runs_needed - len(self.cached)

    @property
    def nominal_ratio(self) -> float:
        """Training compute per network, audit over the study's final rung: epochs x width^2 x images."""
        images = training_images(self.proxy, self.data) / training_images(self.study_proxy, self.data)
        return (self.proxy.epochs / self.study_epochs) * (self.proxy.proxy_width / self.study_width) ** 2 * images

    @property
    def study_proxy(self) -> ProxyConfig:
        """The proxy setting of the study's final rung."""
        return stored_proxy(self.record.study_settings, epochs=self.study_epochs)

    @property
    def estimate_seconds(self) -> float | None:
        """The runs still to train x the final rung's measured seconds per run x the compute ratio, scaled by
        the threads (the study's runs usually shared the cores between workers; the audit's get them all).
        None: the study recorded no run time. On the default study: 23 min said, 27 taken with another
        training beside it (the nominal epochs x width^2 without threads had said 58)."""
        if not self.study_seconds_per_run:
            return None
        threads = (self.study_threads or 1.0) / (self.proxy.threads or available_cores())
        return self.runs_to_train * self.study_seconds_per_run * self.compute_ratio * min(1.0, threads)

    @property
    def too_long(self) -> bool:
        """The estimate exceeds LONG_HOURS: the CLI starts it only when asked to (--allow-long)."""
        eta = self.estimate_seconds
        return eta is not None and eta > LONG_HOURS * 3600

    def scope(self) -> dict[str, Any]:
        """The proxy-run cache's scope of the audit's runs, built exactly as `grid` builds a rung's
        (search.runcache.run_scope: data and every proxy setting that changes a result, epochs included): an
        audit run is keyed by its own epochs and width, and one that equals a study rung's setting is the same
        run and is shared."""
        return run_scope(self.record.study_settings.data, self.proxy)

    def cache(self) -> ProxyRunCache:
        """The persistent proxy-run cache, at ``scope()``."""
        return ProxyRunCache(self.config.cache_path, settings=self.scope())


def check_finished(study: optuna.Study, record: StudyRecord) -> None:
    """Refuse a study whose search is not done: its ranking would still change under the audit."""
    label = f"study {study.study_name!r}"
    trials = study.get_trials(deepcopy=False)
    running = sum(1 for t in trials if t.state == TrialState.RUNNING)
    advice = "finish it (rerun the same `scalesearch grid` command), then audit"
    if running:
        raise SearchError(f"{label} is not finished ({running} trial(s) still running, or left by a killed worker): "
                          f"{advice}")
    if not record.invocations or record.invocations[-1].interrupted:
        raise SearchError(f"{label} is not finished (its last search run was interrupted): {advice}")
    settings = record.study_settings
    if settings.sampler is Sampler.GRID:
        schedule = Schedule(sampler=Sampler.GRID, rungs=tuple(Rung(e, s) for e, s in record.rungs),
                        promote=settings.promote)
        snap = snapshot(schedule, record, tally(trials))
        if snap.done < snap.total:
            raise SearchError(f"{label} is not finished ({snap.done} of {snap.total} proxy runs done): {advice}")


def choose_sample(speakers: list[ranking.Row], leader_networks: list[int], size: int) -> list[int]:
    """The networks to retrain, deterministic: every network of the leaders set, then ``size`` minus that many
    (at least 2) from the rest of the study's ranking at evenly spaced ranks, from the best non-leader to the
    last-ranked, so the sample spans the whole ranking. Returned in the study's order."""
    order = [r.network for r in speakers]
    chosen = [n for n in order if n in set(leader_networks)]
    rest = [n for n in order if n not in set(chosen)]
    k = min(len(rest), max(size - len(chosen), 2))
    if k == 1:
        picks = [0]
    else:
        picks = sorted({round(j * (len(rest) - 1) / (k - 1)) for j in range(k)})
    chosen += [rest[i] for i in picks] if k else []
    return [n for n in order if n in set(chosen)]


def prepare(study_dir: Path | None, config: AuditConfig | None = None, *, storage: str | None = None,
            study_name: str | None = None) -> AuditPlan:
    """Open and check the study, pick the sample, resolve the fidelity, look in the cache. Trains nothing."""
    config = config or AuditConfig()
    study = load_study_at(study_dir, storage, study_name)
    record, rows, runs = ranked_study(study)
    check_finished(study, record)
    if not record.rungs or "proxy" not in record.settings or "data" not in record.settings:
        raise SearchError(f"study {study.study_name!r} stores no proxy setting or rungs: not a `scalesearch grid` "
                          "study")
    speakers = list(best_rows(rows).values())
    if len(speakers) < 3:
        raise SearchError(f"study {study.study_name!r} ranks {len(speakers)} network(s): an audit needs 3 or more")
    final = max(r for r in runs if runs[r])
    study_epochs, study_seeds = record.rungs[final] if final < len(record.rungs) else record.rungs[-1]
    settings = record.study_settings
    study_width = float(stored_proxy(settings, epochs=study_epochs).proxy_width)
    images = {k: getattr(config, k) for k in ("train_subset", "val_subset") if getattr(config, k) is not None}
    proxy = stored_proxy(settings, epochs=config.epochs or EPOCH_FACTOR * study_epochs,
                         proxy_width=config.proxy_width or min(MAX_WIDTH, WIDTH_FACTOR * study_width),
                         device=config.device, **images)
    data = load_data(settings.data)
    data.check_subsets(proxy.train_subset, proxy.val_subset)
    lead = leaders(rows, runs)
    leader_networks = [m.network for m in lead.members]
    chosen = choose_sample(speakers, leader_networks, config.sample)
    position = {r.network: i + 1 for i, r in enumerate(speakers)}
    by_net = {r.network: r for r in speakers}
    sample = []
    for n in chosen:
        first = ranking.summarise(runs.get(0, {}).get(n, ()))
        key = proxy_spec(record.networks[n].spec, proxy, data).architecture_key()
        sample.append(Sampled(n, by_net[n], position[n], n in leader_networks, first.accuracy_mean,
                              first.training_speed, key))
    final_runs = [r.result for rs in runs.get(final, {}).values() for r in ranking.per_seed(rs).values()]
    seconds = [r.seconds for r in final_runs if r.seconds and math.isfinite(r.seconds)]
    threads = [r.threads for r in final_runs if r.threads]
    study_proxy = stored_proxy(settings, epochs=study_epochs, device=config.device)
    ratios = [_training_madds(record.networks[n].spec, proxy, data) / _training_madds(record.networks[n].spec,
                                                                                       study_proxy, data)
              for n in chosen]
    folder = study_dir if study_dir is not None else Path(".")
    p = AuditPlan(study.study_name, redact(storage or default_url(folder)), folder, record, rows, runs, config, proxy,
                  data, final, study_epochs, study_seeds, study_width, sample, len(speakers), leader_networks,
                  statistics.fmean(seconds) if seconds else None, statistics.fmean(threads) if threads else None,
                  statistics.fmean(ratios))
    cache = p.cache()
    try:
        p.cached = {(s.network, seed) for s in sample for seed in p.seeds if cache.get(s.proxy_key, seed) is not None}
    finally:
        cache.close()
    return p


def _training_madds(spec: AnySpec, proxy: ProxyConfig, data: Dataset) -> float:
    """Multiply-adds one run spends on training: the proxy's forward count (fvcore, cached) x epochs x training
    images. Backward costs about twice the forward for every proxy alike, so it cancels in a ratio."""
    return measure(proxy_spec(spec, proxy, data)).flops * proxy.epochs * training_images(proxy, data)
