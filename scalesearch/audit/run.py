"""Run an audit: retrain the sample at the audit's fidelity (through the proxy-run cache, so Ctrl-C keeps
every finished run and a rerun resumes), then compare the two rankings and write audit.json."""

from __future__ import annotations

import dataclasses
import math
import platform
import statistics
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import torch

from scalesearch.audit.plan import AuditConfig, AuditPlan, Sampled, prepare
from scalesearch.audit.record import (
    COMPUTE_RULE,
    MEASURED_RULE,
    NOMINAL_RULE,
    AuditedNetwork,
    AuditRecord,
    AuditSettings,
    Compute,
    Correlations,
    LeadersAgreement,
    Machine,
    SeedNoise,
    Signals,
    StudyFidelity,
    TopOne,
)
from scalesearch.core import ranking
from scalesearch.core.evidence import SATURATED, leaders, rung_stats
from scalesearch.core.jsonio import timestamp, write_json
from scalesearch.core.record import SeedRun
from scalesearch.core.runs import ProxyResult, RunStatus
from scalesearch.core.stats import bootstrap, kendall, pooled_std, spearman
from scalesearch.measure.latency import device_name
from scalesearch.report.render import AUDIT_FILE, AUDIT_FORMAT  # the report reads what this writes
from scalesearch.train import resolve_device, train_proxy
from scalesearch.train.proxy import training_images

MIN_RATIO = 4.0  # the least compute per run, over the final rung's, that makes the audit a reference
STRONG, MODERATE = 0.8, 0.5  # Spearman thresholds of the plain-words verdict
Progress = Callable[[int, int, str], None]  # (runs done, runs needed, what is happening)
Trainer = Callable[..., ProxyResult]  # train_proxy's shape; tests pass fakes


@dataclass(frozen=True)
class AuditResult:
    """What audit.json holds (``record``), and the counts of this invocation."""

    record: AuditRecord
    path: Path | None
    trained: int  # runs trained by this call
    cached: int  # runs read from the cache

    @property
    def data(self) -> dict[str, Any]:
        """audit.json's content."""
        return self.record.to_dict()

    @property
    def lines(self) -> list[str]:
        return list(self.record.lines)

    @property
    def meaningful(self) -> bool:
        return self.record.meaningful


def audit(study_dir: Path | None, config: AuditConfig | None = None, *, storage: str | None = None,
          study_name: str | None = None, progress: Progress | None = None, trainer: Trainer | None = None,
          write: bool = True) -> AuditResult:
    """Retrain a sample of a finished study's networks at a higher fidelity and say how well the study ranked
    them (see ``prepare`` for the sample and the fidelity). Writes STUDY_DIR/audit.json unless ``write`` is
    False (with ``storage`` and no ``study_dir``: ./audit.json). KeyboardInterrupt propagates; the runs
    finished by then are in the cache."""
    return execute(prepare(study_dir, config, storage=storage, study_name=study_name), progress=progress,
                   trainer=trainer, write=write)


def execute(p: AuditPlan, *, progress: Progress | None = None, trainer: Trainer | None = None,
            write: bool = True) -> AuditResult:
    started = time.perf_counter()
    train = trainer or train_proxy  # looked up at call time, so tests can patch the module's train_proxy
    tell = progress or (lambda done, total, text: None)
    total, done, trained, cached = p.runs_needed, 0, 0, 0
    results: dict[int, list[SeedRun]] = {}
    cache = p.cache()
    try:
        for s in p.sample:
            for seed in p.seeds:
                hit = cache.get(s.proxy_key, seed)
                if hit is None:
                    tell(done, total, f"network {s.network} {s.label} seed {seed}")

                    def on_epoch(epoch: int, acc: float, s: Sampled = s, seed: int = seed, done: int = done) -> None:
                        tell(done, total, f"network {s.network} seed {seed}: epoch {epoch}/{p.proxy.epochs} {acc:.1%}")

                    result = train(p.record.networks[s.network].spec, p.data, p.proxy, seed=seed, on_epoch=on_epoch)
                    result = dataclasses.replace(result, seed=seed)
                    cache.put(s.proxy_key, seed, result)
                    results.setdefault(s.network, []).append(SeedRun(result, None))
                    trained += 1
                else:
                    results.setdefault(s.network, []).append(SeedRun(hit, "cache"))
                    cached += 1
                done += 1
                tell(done, total, f"network {s.network} seed {seed} done" + (" (cached)" if hit is not None else ""))
    finally:
        cache.close()
    record = summarise(p, results, time.perf_counter() - started)
    if write:
        p.folder.mkdir(parents=True, exist_ok=True)
    path = write_json(p.folder / AUDIT_FILE, record.to_dict()) if write else None
    return AuditResult(record, path, trained, cached)


def machine(device: str) -> Machine:
    """The CPU model, and the GPU's where the audit trained on one: what makes two wall times comparable."""
    resolved = resolve_device(device)
    cpu = device_name(torch.device("cpu"))
    return Machine(device=str(resolved), cpu=cpu or platform.processor(),
                   gpu=device_name(resolved) if resolved.type == "cuda" else "")


def summarise(p: AuditPlan, results: dict[int, list[SeedRun]], seconds: float) -> AuditRecord:
    """audit.json's content from the audit's runs (network -> seed runs)."""
    rows = ranking.rank_rungs([s.speaker.candidate for s in p.sample], {0: results}, p.record.target, p.record.w,
                              p.record.cost)
    audit_rank = {n: i + 1 for i, n in enumerate(dict.fromkeys(r.network for r in rows if r.ranks))}
    audit_leaders = [m.network for m in leaders(rows, {0: results}).members]
    entries: list[AuditedNetwork] = []
    accs: dict[int, float] = {}
    scores: dict[int, float] = {}
    groups: list[list[float]] = []
    run_seconds: list[float] = []
    for s in p.sample:
        ok = {r.seed: r.accuracy for r in ranking.per_seed(results.get(s.network, ())).values()
              if r.status is RunStatus.OK}
        run_seconds += [r.result.seconds * max(1, r.result.threads) for r in results.get(s.network, ())
                        if r.result.seconds]
        groups.append(list(ok.values()))
        if ok:
            accs[s.network] = statistics.fmean(ok.values())
            scores[s.network] = accs[s.network] * s.factor
        entries.append(AuditedNetwork(
            network=s.network, alpha=s.speaker.candidate.alpha, beta=s.speaker.candidate.beta,
            gamma=s.speaker.candidate.gamma, reference=s.speaker.candidate.reference or None,
            study_rank=s.study_rank, study_rung=s.speaker.rung, study_score=s.speaker.score,
            study_accuracy=s.speaker.summary.accuracy_mean, rung0_accuracy=s.rung0_accuracy,
            rung0_training_speed=s.rung0_training_speed, leader=s.leader,
            audit_accuracies=dict(sorted(ok.items())), audit_accuracy=accs.get(s.network),
            audit_score=scores.get(s.network), audit_rank=audit_rank.get(s.network),
            audit_status=tuple(r.status.value for r in results.get(s.network, ()))))
    both = [s for s in p.sample if s.network in scores]
    # The study's side is its final ranking (networks that reached a higher rung above the rest), as rank
    # numbers negated so that larger is better on both sides.
    study_side = [-float(s.study_rank) for s in both]
    audit_side = [scores[s.network] for s in both]
    rho = bootstrap(spearman, study_side, audit_side, resamples=p.config.resamples, seed=p.config.bootstrap_seed)
    tau = bootstrap(kendall, study_side, audit_side, resamples=p.config.resamples, seed=p.config.bootstrap_seed)
    # Signals compared at rung 0, where every network trained for the same epochs (summed losses over
    # different epoch counts would not compare); both against the audit's accuracy (neither has a cost).
    acc_side = [accs[s.network] for s in both]
    signals = {"proxy_accuracy": spearman([s.rung0_accuracy for s in both], acc_side),
               "training_speed": _speed_rho(both, acc_side)}
    mean_acc = statistics.fmean(accs.values()) if accs else math.nan
    spread = max(accs.values()) - min(accs.values()) if accs else math.nan
    audit_std = pooled_std(groups)
    final_stats = [r for r in rung_stats(p.rows, p.runs, p.record.rungs) if r.rung == p.final_rung]
    study_std = final_stats[0].seed_std if final_stats else None
    # The median, not the mean: one network that stalls on a seed must not hide that the rest of the sample
    # is a handful of errors apart (it did on the default study: 11 of 12 networks at 97.5-99.3%).
    median_acc = statistics.median(accs.values()) if accs else math.nan
    saturated = bool(accs) and median_acc >= SATURATED
    noisy = audit_std is None or spread <= 2 * audit_std
    study_top = p.sample[0].network if p.sample and p.sample[0].study_rank == 1 else None
    audit_top = next(iter(audit_rank), None)
    # Thread-seconds: the study's runs usually had 1 thread each (2 workers), the audit's all the cores.
    study_thread_seconds = (p.study_seconds_per_run or 0.0) * (p.study_threads or 1.0)
    measured = statistics.fmean(run_seconds) / study_thread_seconds if run_seconds and study_thread_seconds else None
    record = AuditRecord(
        format=AUDIT_FORMAT, study=p.study_name, storage=p.storage, written=timestamp(),
        config=AuditSettings(sample=p.config.sample, seeds=p.config.seeds, epochs=p.proxy.epochs,
                             proxy_width=p.proxy.proxy_width, resamples=p.config.resamples,
                             bootstrap_seed=p.config.bootstrap_seed, data=p.record.settings.get("data"),
                             train_subset=p.proxy.train_subset, val_subset=p.proxy.val_subset),
        study_fidelity=StudyFidelity(rung=p.final_rung, epochs=p.study_epochs, seeds=p.study_seeds,
                                     proxy_width=p.study_width, ranked_networks=p.ranked_networks,
                                     train_subset=p.study_proxy.train_subset, val_subset=p.study_proxy.val_subset),
        compute=Compute(ratio=p.compute_ratio, rule=COMPUTE_RULE, nominal_ratio=p.nominal_ratio,
                        nominal_rule=NOMINAL_RULE, measured_ratio=measured, measured_rule=MEASURED_RULE,
                        study_seconds_per_run=p.study_seconds_per_run, study_threads=p.study_threads,
                        audit_thread_seconds_per_run=statistics.fmean(run_seconds) if run_seconds else None),
        sample=tuple(entries), networks_compared=len(both),
        correlations=Correlations(spearman=rho, kendall=tau),
        top1=TopOne(study=study_top, audit=audit_top, agree=study_top is not None and study_top == audit_top,
                    study_top_in_audit_leaders=study_top in audit_leaders),
        leaders=LeadersAgreement(study=tuple(p.study_leaders), audit=tuple(audit_leaders),
                                 agree=set(p.study_leaders) == set(audit_leaders)),
        seed_noise=SeedNoise(study=study_std, audit=audit_std),
        signals=Signals(proxy_accuracy=signals["proxy_accuracy"], training_speed=signals["training_speed"],
                        better=_better(signals)),
        audit_accuracy_mean=mean_acc, audit_accuracy_median=median_acc, audit_accuracy_spread=spread,
        saturated=saturated, saturated_rule=f"median of the networks' mean accuracies >= {SATURATED:.1%}",
        meaningful=not saturated and not noisy and rho.value is not None,
        wall_seconds=round(seconds, 1), machine=machine(p.proxy.device),
    )
    lines, headline = verdict_lines(record, p)
    return dataclasses.replace(record, lines=tuple(lines), headline=headline)


def _speed_rho(both: list[Sampled], acc_side: list[float]) -> float | None:
    pairs = [(-s.rung0_training_speed, a) for s, a in zip(both, acc_side, strict=True)
             if math.isfinite(s.rung0_training_speed)]
    return spearman([x for x, _ in pairs], [y for _, y in pairs]) if len(pairs) == len(both) else None


def _better(signals: dict[str, float | None]) -> str | None:
    acc, speed = signals["proxy_accuracy"], signals["training_speed"]
    if acc is None or speed is None:
        return None
    return "tie" if acc == speed else "proxy_accuracy" if acc > speed else "training_speed"


def verdict_lines(d: AuditRecord, p: AuditPlan) -> tuple[list[str], str]:
    """The audit in plain lines: fidelity and compute, the correlation or why it means nothing, top-1,
    leaders, noise at both fidelities, which signal ranked better. Also returns the headline: the one line
    the report's evidence list shows (the correlation, or why it means nothing)."""
    label = {s.network: s.label for s in p.sample}
    c, noise = d.compute, d.seed_noise
    measured = f"; {c.measured_ratio:.1f}x in thread-seconds" if c.measured_ratio else ""
    subsets = p.proxy.train_subset is not None or p.study_proxy.train_subset is not None
    images = f", {training_images(p.proxy, p.data):,} training images" if subsets else ""
    out = [f"audit: {d.networks_compared} networks x {p.config.seeds} seed(s) at {p.proxy.epochs} epoch(s), proxy "
           f"width {p.proxy.proxy_width:g}{images}: {c.ratio:.1f}x the final rung's training multiply-adds per "
           f"network (nominal epochs x width^2{' x images' if subsets else ''}: {c.nominal_ratio:.1f}x{measured})"]
    if c.ratio < MIN_RATIO:
        out.append(f"note: under {MIN_RATIO:g}x the study's compute per run, the audit is a second opinion at a "
                   "similar fidelity, not a reference")
    rho, tau = d.correlations.spearman, d.correlations.kendall
    corr = f"Spearman {rho.text()}, Kendall tau {tau.text()} (95% bootstrap over networks)"
    std = noise.audit
    if d.saturated:
        headline = (f"the audit's reference is saturated (median accuracy {d.audit_accuracy_median:.1%} >= "
                    f"{SATURATED:.1%}): a handful of errors separate its networks, so {corr} means nothing; audit at "
                    "a lower --epochs or on harder data")
    elif std is None:
        headline = (f"{corr}; the audit's seed noise is unknown (one seed): cannot tell its ranking from noise "
                    "(--seeds 2 or more)")
    elif not d.meaningful:
        headline = (f"the audit's accuracy spread {d.audit_accuracy_spread:.1%} is within 2x its seed std "
                    f"{std:.1%}: it cannot rank these networks, so {corr} means nothing")
    else:
        v = rho.value or 0.0
        words = "strongly" if v >= STRONG else "moderately" if v >= MODERATE else "weakly" if v > 0 else "not"
        headline = f"{corr}: the study's ranking agrees {words} with the audit's"
    out.append(headline)
    top = d.top1
    if top.agree:
        out.append(f"top-1 agrees: the study's winner {label.get(top.study, '') if top.study is not None else ''} "
                   "is also the audit's best")
    elif top.audit is not None:
        inside = "is" if top.study_top_in_audit_leaders else "is not"
        audit_rank = next(s.study_rank for s in p.sample if s.network == top.audit)
        out.append(f"top-1 differs: the audit's best is {label[top.audit]} (study rank {audit_rank}); the study's "
                   f"winner {inside} in the audit's leaders set")
    lead = d.leaders
    names = ", ".join(label[n] for n in lead.audit)
    out.append("leaders sets agree" if lead.agree else
               f"leaders sets differ: the study's has {len(lead.study)}, the audit's {len(lead.audit)} ({names})")
    fmt = lambda x: "unknown" if x is None else f"{x:.2%}"  # noqa: E731
    out.append(f"seed noise (pooled accuracy std): {fmt(noise.study)} at the study's final rung, "
               f"{fmt(std)} at the audit's fidelity")
    sig = d.signals
    if sig.better is not None:
        out.append(f"against the audit, rung-0 proxy accuracy ranks at Spearman {sig.proxy_accuracy:.2f}, the "
                   f"training-speed estimate at {sig.training_speed:.2f}: "
                   + ("a tie" if sig.better == "tie" else f"{sig.better.replace('_', ' ')} ranked better"))
    return out, headline


__all__ = ["AUDIT_FILE", "AUDIT_FORMAT", "AuditConfig", "AuditPlan", "AuditRecord", "AuditResult", "audit", "execute",
           "prepare"]
