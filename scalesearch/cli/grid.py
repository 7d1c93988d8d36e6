"""`scalesearch grid`: the constrained compound-coefficient search (see scalesearch.search and docs/search.md)."""

from __future__ import annotations

import dataclasses
import math
import sys
import warnings
from dataclasses import dataclass
from pathlib import Path
from typing import Annotated, Any

import optuna
import pandas as pd
import typer
from rich.markup import escape

from scalesearch.cli.output import FLOPS_HEADER, FitTable, check_writable_dir, console, err_console, print_json, table
from scalesearch.cli.progress import RichDisplay
from scalesearch.cli.report import show_written, write_study_report
from scalesearch.compare.confirm import Confirmed, check_phi, confirm
from scalesearch.compare.train import Step
from scalesearch.core import strategies
from scalesearch.core.decision import RaceSettings, parse_budget
from scalesearch.core.errors import FieldError, ScaleSearchError, UsageError
from scalesearch.core.grid import DEFAULT_ALPHA, DEFAULT_BETA, DEFAULT_GAMMA, DEFAULT_TOLERANCE, Constraint
from scalesearch.core.redaction import command_line, resume_text
from scalesearch.core.settings import Pruner as StudyPruner, Sampler as StudySampler
from scalesearch.core.tasks import MNIST_FORMAT, task_defaults
from scalesearch.core.units import COST_UNITS, format_size, parse_size, parse_target
from scalesearch.measure import LatencyConfig
from scalesearch.report.best import load_best, write_best
from scalesearch.report.outputs import OUTPUT_FILES, Outputs, write_outputs
from scalesearch.report.render import Report, report_files
from scalesearch.search.config import DEFAULT_BATCH, DEFAULT_W, Pruner, Sampler, SearchConfig
from scalesearch.search.plan import Plan, plan
from scalesearch.search.run import Outcome, run_search
from scalesearch.search.schedule import parse_rungs
from scalesearch.search.space import SearchSpace
from scalesearch.search.storage import redact
from scalesearch.train import DEFAULT_DATA, ProxyConfig

from . import options

_D = options.PROXY_DEFAULTS
_G = SearchConfig()
SPACE, STUDY, RACE, OUTPUT = "Search space", "Study and workers", "Race: a decision among the leaders", options.OUTPUT
_R = RaceSettings()


def _command() -> str:
    """The command line as run, every password masked: what best.json and the report record."""
    return command_line(sys.argv[1:])


def _rungs_text(rungs: tuple[tuple[int, int], ...]) -> str:
    return ",".join(f"{e}x{s}" for e, s in rungs)


def quiet_optuna() -> None:
    """Optuna logs a line per trial (and a traceback when Ctrl-C fails one); the progress display and the
    resume message say what matters. Real errors still propagate as exceptions."""
    optuna.logging.set_verbosity(optuna.logging.ERROR)
    warnings.filterwarnings("ignore", category=optuna.exceptions.ExperimentalWarning)


def grid(
    target_flops: Annotated[str | None, typer.Option(
        "--target-flops", rich_help_panel=SPACE,
        help="Target T of the score, in multiply-adds: 400M, 0.4G or 4e8 (default: 2 x the baseline's; under 1/10 "
        "of the baseline's is refused as a missing unit).")] = None,
    cost: Annotated[options.CostName, typer.Option(
        "--cost", rich_help_panel=SPACE,
        help="What the score charges: flops, activations, params, or latency measured on --latency-device "
        "(machine-dependent: only comparable on one machine).")] = options.DEFAULT_COST,
    target: Annotated[str | None, typer.Option(
        "--target", rich_help_panel=SPACE,
        help="Target T in the cost's unit: 400M (counts) or 5ms (latency); default: 2 x the baseline's.")] = None,
    w: Annotated[float, typer.Option("--w", rich_help_panel=SPACE,
                                     help="Score exponent: score = accuracy x (cost / T)^w.")] = DEFAULT_W,
    baseline: options.Baseline = options.DEFAULT_BASELINE,
    image_size: options.BuilderImageSize = None,
    policy: options.Policy = options.DEFAULT_POLICY,
    alpha: Annotated[str, typer.Option("--alpha", rich_help_panel=SPACE,
                                       help="Depth coefficients START:STOP:STEP (or a,b,c).")] = DEFAULT_ALPHA,
    beta: Annotated[str, typer.Option("--beta", rich_help_panel=SPACE,
                                      help="Width coefficients START:STOP:STEP.")] = DEFAULT_BETA,
    gamma: Annotated[str, typer.Option("--gamma", rich_help_panel=SPACE,
                                       help="Resolution coefficients START:STOP:STEP.")] = DEFAULT_GAMMA,
    tolerance: Annotated[float, typer.Option(
        "--tolerance", rich_help_panel=SPACE,
        help="Keep alpha*beta^2*gamma^2 within this relative distance of 2 (0.05: [1.9, 2.1]).")] = DEFAULT_TOLERANCE,
    constraint: Annotated[Constraint, typer.Option(
        "--constraint", rich_help_panel=SPACE,
        help="formula (alpha*beta^2*gamma^2) or measured (the built network's FLOPs ratio to the baseline).")
    ] = Constraint.FORMULA,
    references: Annotated[str, typer.Option(
        "--references", rich_help_panel=SPACE, metavar="none|all|NAME,...",
        help=f"Named strategies trained beside the grid at phi = 1 ({', '.join(strategies.names())}, dwr:A).")
    ] = "all",
    data: options.Data = DEFAULT_DATA,
    batch_size: options.BatchSize = DEFAULT_BATCH,
    base_resolution: options.BaseResolution = None,
    proxy_width: options.ProxyWidth = _D.proxy_width,
    curve_points: options.CurvePoints = None,
    train_subset: options.TrainSubset = None,
    val_subset: options.ValSubset = None,
    optimizer: options.Optimizer = options.DEFAULT_OPTIMIZER,
    lr: options.LearningRate = None,
    device: options.Device = _D.device,
    rungs: Annotated[str | None, typer.Option(
        "--rungs", rich_help_panel=STUDY, metavar="ExS,...",
        help="Successive halving: epochs x seeds per rung, cheapest first; every network trains at the first "
             f"rung, the leading --promote fraction moves up each time (default: {','.join(map(str, _G.rungs))}; "
             f"fashion-mnist and mnist: {_rungs_text(MNIST_FORMAT.rungs)}).")] = None,
    promote: Annotated[float | None, typer.Option(
        "--promote", rich_help_panel=STUDY,
        help=f"Fraction of a rung's networks trained again at the next rung, at least 3 (default: {_G.promote:g}; "
             f"fashion-mnist and mnist: {MNIST_FORMAT.promote:g}).")
    ] = None,
    seed_base: Annotated[int, typer.Option(
        "--seed-base", rich_help_panel=STUDY,
        help="Train seed index k as seed base + k (data order, augmentation, --train-subset draw, init; the "
             "validation images stay): another study on fresh seeds, to check the answer holds, e.g. 1000.")
    ] = _G.seed_base,
    race: Annotated[bool, typer.Option(
        "--race/--no-race", rich_help_panel=RACE,
        help="After the last rung, race its leaders: each round trains one more paired seed of every survivor "
             "and drops those shown worse, until one wins, all are equivalent (--equivalence) or the budget "
             "ends (docs/search.md, 'The race').")] = True,
    race_budget: Annotated[str, typer.Option(
        "--race-budget", rich_help_panel=RACE, metavar="RUNS|DURATION",
        help="Proxy runs the race may train (e.g. 24), or one worker's training time (90s, 10m, 1h), turned into "
             "runs with the last rung's measured run time.")] = str(_R.budget),
    equivalence: Annotated[float, typer.Option(
        "--equivalence", rich_help_panel=RACE, metavar="POINTS",
        help="Score points within which survivors are called equivalent, tested by two one-sided tests at 95% "
             "over the race (score x 100: 1 point = 0.01 of score).")] = _R.equivalence,
    confirm_phi: Annotated[float | None, typer.Option(
        "--confirm-phi", rich_help_panel=RACE, metavar="PHI",
        help="After the race, scale its survivors to phi = PHI (the baseline's FLOPs x 2^PHI), train them on "
             "paired seeds at the last rung's fidelity and rank them by the race's rules; best.json and "
             "`scale --from` then use the confirmed point. Costs survivors x 3+ seeds runs: 5 min 41 s for 6 "
             "survivors at phi 2 on the default task (docs/search.md).")] = None,
    sampler: Annotated[Sampler, typer.Option("--sampler", rich_help_panel=STUDY,
                                             help="grid (every candidate), tpe or random (--n-trials).")
                       ] = Sampler.GRID,
    n_trials: Annotated[int | None, typer.Option("--n-trials", rich_help_panel=STUDY,
                                                 help="Trial budget for tpe/random.")] = None,
    pruner: Annotated[Pruner, typer.Option("--pruner", rich_help_panel=STUDY, metavar="<name>",
                                           help="none, median or hyperband (per-epoch val accuracy).")
                      ] = Pruner.NONE,
    storage: Annotated[str | None, typer.Option(
        "--storage", rich_help_panel=STUDY,
        help="Optuna RDB URL (postgresql://... to share one study between machines); default: SQLite in the "
             "study folder.")] = None,
    study: Annotated[str | None, typer.Option("--study", rich_help_panel=STUDY,
                                              help="Study name (default: derived from the settings).")] = None,
    workers: Annotated[int | None, typer.Option(
        "--workers", rich_help_panel=STUDY,
        help="Local worker processes (default: 2 on a CPU with >= 2 cores, one per GPU when several).")] = None,
    devices: Annotated[str | None, typer.Option("--devices", rich_help_panel=STUDY,
                                                help="Devices for workers in turn, e.g. cuda:0,cuda:1.")] = None,
    cache: Annotated[bool, typer.Option("--cache/--no-cache", rich_help_panel=STUDY,
                                        help="Reuse proxy results of identical runs from earlier studies.")] = True,
    dedup: Annotated[bool, typer.Option("--dedup/--no-dedup", hidden=True, help="Train identical proxies once.")
                     ] = True,
    heartbeat: Annotated[int, typer.Option("--heartbeat", hidden=True)] = _G.heartbeat_interval,
    grace: Annotated[int, typer.Option("--grace", hidden=True)] = _G.grace_period,
    out: Annotated[Path, typer.Option("--out", rich_help_panel=OUTPUT, help="Output root; files go to OUT/STUDY/.")
                   ] = Path("results"),
    dry_run: Annotated[bool, typer.Option("--dry-run", rich_help_panel=OUTPUT,
                                          help="List the feasible candidates and train nothing.")] = False,
    latency_device: options.LatencyDevice = options.LATENCY_DEFAULTS.device,
    latency_batch: options.LatencyBatch = options.LATENCY_DEFAULTS.batch,
    latency_dtype: options.LatencyDtype = options.DEFAULT_DTYPE,
    latency_mode: options.LatencyMode = options.DEFAULT_MODE,
    latency_threads: options.LatencyThreads = None,
    no_report: Annotated[bool, typer.Option(
        "--no-report", rich_help_panel=OUTPUT,
        help="Skip the report (plots, index.html, summary.md in OUT/STUDY/report; `scalesearch report` writes it "
             "later).")] = False,
    json_out: options.Json = False,
) -> None:
    """Search alpha, beta, gamma: train a proxy of every feasible candidate, score it, rank, write results.

    Resumable (rerun the same command), distributed (--workers; --storage postgresql://... on many machines).
    Outputs OUT/STUDY/trials.csv (a row per triple), best.json (for `scalesearch scale --from`) and the report
    (OUT/STUDY/report/index.html with every plot).
    """
    task = task_defaults(data)
    given = {"--train-subset": train_subset, "--val-subset": val_subset, "--rungs": rungs, "--promote": promote,
             "--curve-points": curve_points}
    if task is not None and not all(v is not None for v in given.values()):
        train_subset = task.train_subset if train_subset is None else train_subset
        val_subset = task.val_subset if val_subset is None else val_subset
        rungs = _rungs_text(task.rungs) if rungs is None else rungs
        promote = task.promote if promote is None else promote
        curve_points = task.curve_points if curve_points is None else curve_points
        if not json_out:
            err_console.print(f"{data}: the measured defaults for this data (docs/training.md, 'On real data'): "
                              f"{task.flags()}; an option given on the command line wins", highlight=False,
                              soft_wrap=True, markup=False)
    config = build_config(
        target_flops=target_flops, cost=cost, target=target, w=w, baseline=baseline, policy=policy, alpha=alpha,
        beta=beta, gamma=gamma, tolerance=tolerance, constraint=constraint, references=references, data=data,
        proxy=ProxyConfig(batch_size=batch_size, base_resolution=base_resolution, proxy_width=proxy_width,
                          train_subset=train_subset, val_subset=val_subset, optimizer=optimizer.value, lr=lr,
                          device=device, curve_points=_D.curve_points if curve_points is None else curve_points),
        rungs=rungs if rungs is not None else ",".join(map(str, _G.rungs)),
        promote=promote if promote is not None else _G.promote, seed_base=seed_base,
        race=RaceSettings(enabled=race, budget=parse_budget(race_budget), equivalence=equivalence), sampler=sampler,
        n_trials=n_trials, pruner=pruner, dedup=dedup, study=study, storage=storage, out=out, workers=workers,
        devices=devices, cache=cache, heartbeat=heartbeat, grace=grace,
        latency=options.latency_config(latency_device, latency_batch, latency_dtype, latency_mode, latency_threads)
        if cost.value == "latency" else None,
        image_size=image_size,
    )
    if confirm_phi is not None:
        check_phi(confirm_phi)
        if not race:
            raise UsageError("--confirm-phi confirms the race's survivors: drop --no-race, or --confirm-phi")
    if not dry_run:  # a dry run writes nothing; a real one must be able to write its results before it starts
        check_writable_dir(out, "--out")
    quiet_optuna()
    p = measure_candidates(config, dry_run=dry_run, json_out=json_out)
    if dry_run:
        show_dry_run(p.space, json_out=json_out)
        return
    searched = search_and_write(config, p, report=not no_report, json_out=json_out)
    if confirm_phi is not None and searched.outcome.complete and "best" in searched.written.paths:
        searched = dataclasses.replace(searched, confirmed=confirm_survivors(searched, confirm_phi, quiet=json_out))
    if json_out:
        print_json(searched.to_json())
    else:
        show_search(searched)
    if searched.outcome.interrupted:
        err_console.print("interrupted: finished runs are kept in the study. Resume with:\n"
                          + resume_text(sys.argv[1:]), highlight=False, soft_wrap=True, markup=False)
        raise typer.Exit(130)


def build_config(*, target_flops: str | None, cost: options.CostName, target: str | None, w: float, baseline: str,
                 policy: options.PolicyName, alpha: str, beta: str, gamma: str, tolerance: float,
                 constraint: Constraint, references: str, data: str, proxy: ProxyConfig, rungs: str, promote: float,
                 seed_base: int, race: RaceSettings, sampler: Sampler, n_trials: int | None, pruner: Pruner,
                 dedup: bool,
                 study: str | None, storage: str | None, out: Path, workers: int | None, devices: str | None,
                 cache: bool, heartbeat: int, grace: int, latency: LatencyConfig | None,
                 image_size: int | None = None) -> SearchConfig:
    """The search's settings from the command's options (sizes and targets parsed, enums as their values)."""
    return SearchConfig(
        target_flops=parse_size(target_flops, "--target-flops") if target_flops is not None else None, w=w,
        cost=cost.value, target=parse_target(target, cost.value, "--target") if target is not None else None,
        latency=latency,
        baseline=baseline, policy=policy.value, alpha=alpha, beta=beta, gamma=gamma, tolerance=tolerance,
        constraint=constraint.value, data=data, proxy=proxy, rungs=parse_rungs(rungs), promote=promote,
        references=_references(references), seed_base=seed_base, race=race, sampler=StudySampler(sampler.value),
        n_trials=n_trials, pruner=StudyPruner(pruner.value), dedup=dedup,
        study=study, storage=storage, out=out, workers=workers, devices=devices, cache=cache,
        heartbeat_interval=heartbeat, grace_period=grace,
        image_size=image_size,  # a builder baseline's input size
    )


def measure_candidates(config: SearchConfig, *, dry_run: bool, json_out: bool) -> Plan:
    """Build and measure every candidate (``plan``), with progress; Ctrl-C here exits 130 with the resume line.
    A dry run does not connect to --storage."""
    try:
        with RichDisplay(config, disable=json_out, transient=True) as display:
            return plan(config, progress=display.measuring, check_storage=not dry_run)
    except KeyboardInterrupt:
        # Nothing is trained yet; every count finished so far is in the cost cache, so a rerun resumes.
        err_console.print("interrupted while measuring candidates: finished counts are cached. Resume with:\n"
                          + resume_text(sys.argv[1:]), highlight=False, soft_wrap=True, markup=False)
        raise typer.Exit(130) from None


def show_dry_run(space: SearchSpace, *, json_out: bool) -> None:
    """The feasible candidates, as JSON or a table; nothing is trained or written."""
    rows = space.rows()
    if json_out:
        print_json([r.to_dict() for r in rows])
        return
    console.print(table(
        f"{len(space.candidates) - (not space.candidates[0].feasible)} feasible of {space.grid_points} grid "
        f"points ({space.constraint} constraint, tolerance {space.tolerance:g}); {space.n_groups} distinct "
        f"networks, {len(space.proxy_groups)} distinct proxies to train",
        ["alpha", "beta", "gamma", "a*b^2*g^2", "px", FLOPS_HEADER, "params", "FLOPs ratio", "group",
         "network"],
        [[f"{r.alpha:g}", f"{r.beta:g}", f"{r.gamma:g}", f"{r.product:.4f}", r.resolution_px,
          f"{r.flops:,}", f"{r.params:,}", f"{r.flops_ratio:.3f}x",
          f"{r.group}{' (base)' if r.baseline else ''}{' ' + r.reference if r.reference else ''}", r.network]
         for r in rows],
        caption="FLOPs: fvcore multiply-adds of the full candidate at its deployment resolution, batch 1. "
                "A name after the group marks a reference strategy (--references).",
        keep=["alpha", "beta", "gamma", FLOPS_HEADER], prefer=["FLOPs ratio", "a*b^2*g^2", "network", "px"],
        merge=["alpha", "beta", "gamma"], more="--dry-run --json",
    ))


@dataclass(frozen=True)
class Searched:
    """A finished (or interrupted) search and what it wrote: the files and, unless --no-report, the report."""

    plan: Plan
    outcome: Outcome
    written: Outputs
    report: Report | None
    confirmed: Confirmed | None = None  # --confirm-phi

    def to_json(self) -> dict[str, Any]:
        """What --json prints."""
        w, rep = self.written, self.report
        return {"study": self.plan.study_name, "interrupted": self.outcome.interrupted,
                "seconds": self.outcome.seconds, "noise": w.noise.to_dict(),
                "files": {k: str(v) for k, v in w.paths.items()},
                "evidence": w.evidence.to_dict() if w.evidence else None,
                "report": [str(f) for f in rep.files] if rep is not None else [],
                "confirmed": self.confirmed.to_dict() if self.confirmed is not None else None,
                "rows": w.frame.to_dict(orient="records")}


def search_and_write(config: SearchConfig, p: Plan, *, report: bool, json_out: bool) -> Searched:
    """Check the study's folder, run the search, write trials.csv and best.json, and the report if asked."""
    # The study's own folder is known now (its name comes from the settings): its files, before any training.
    check_writable_dir(p.study_dir, "--out", files=OUTPUT_FILES)
    if report:
        check_writable_dir(p.study_dir / "report", "--out", files=report_files())
    err_console.print(f"study [bold]{p.study_name}[/] ({redact(p.storage_url)}): {len(p.space.candidates)} "
                      f"candidates, {len(p.space.proxy_groups)} distinct proxy networks", highlight=False)
    with RichDisplay(config, disable=json_out) as display:
        outcome = run_search(config, display=display, the_plan=p, optuna_verbosity=optuna.logging.ERROR)
    for note in outcome.notes:  # a worker died, yet every trial got done: the search is complete
        err_console.print(f"[yellow]note:[/] {escape(note)}", highlight=False, soft_wrap=True)
    try:
        written = write_outputs(outcome.study, p.study_dir, storage=redact(p.storage_url), command=_command(),
                                finished=not outcome.interrupted, seconds=outcome.seconds)
    except OSError as exc:  # the runs are kept in the study: rerunning the command writes the files again
        raise UsageError(f"--out {p.study_dir}: cannot write the results ({exc.strerror or exc}); finished runs "
                         f"are kept in the study, rerun the command to write them") from None
    rep = _report(outcome.study, p.study_dir, quiet=json_out, interrupted=outcome.interrupted) if report else None
    return Searched(p, outcome, written, rep)


def show_search(searched: Searched) -> None:
    """The ranked table, the evidence, the files written and the wall time."""
    p, written = searched.plan, searched.written
    caption = (f"{_score_text(p)}. {written.noise.verdict}. Short proxies under-rate depth: the order is more "
               f"trustworthy than the gaps.")
    measured = p.space.candidates[0].cost.latency  # set whenever the cost is latency
    title = (f"Compound coefficients, ranked by accuracy x ({p.cost} / T)^w, {p.cost} in {COST_UNITS[p.cost]}"
             + (f" on {measured.device_name}" if p.cost == "latency" and measured is not None else ""))
    console.print(ranked_table(written.frame, caption=caption, title=title, more=str(written.paths["trials"])))
    if written.evidence is not None:
        for line in written.evidence.lines():
            console.print(line, highlight=False, soft_wrap=True)
    for name, path in written.paths.items():
        console.print(f"{name}: {path}", highlight=False)
    if searched.report is not None:
        show_written(searched.report)
    console.print(f"wall time {searched.outcome.seconds:.0f} s", highlight=False)


def _report(study: optuna.Study, study_dir: Path, *, quiet: bool, interrupted: bool) -> Report | None:
    """The report of what is done (also after Ctrl-C). A study with nothing finished has nothing to draw:
    that is said, not raised, since the search itself went as asked."""
    try:
        return write_study_report(study, study_dir, interrupted=interrupted)
    except ScaleSearchError as exc:
        if not quiet:
            err_console.print(f"[yellow]note:[/] no report: {escape(str(exc))}", highlight=False, soft_wrap=True)
        return None


def _score_text(p: Plan) -> str:
    """'score = proxy accuracy x (latency / 44 ms)^-0.07; latency in ms per pass of 1, ... on cpu (AMD EPYC)'."""
    target = f"{p.target:.3g} ms" if p.cost == "latency" else format_size(p.target)
    name = "FLOPs" if p.cost == "flops" else p.cost
    return f"score = proxy accuracy x ({name} / {target})^{p.config.w:g}; {name} in {p.cost_note}"


def ranked_table(frame: pd.DataFrame, *, limit: int = 15, title: str = "Compound coefficients, ranked",
                 caption: str | None = None, more: str = "trials.csv") -> FitTable:
    """The top rows as a rich table (FLOPs in multiply-adds; accuracy is the proxy's, mean +- std). The
    baseline always shows, as "base" without a rank when it lies outside the constraint band."""
    shown = frame.head(limit)
    base = frame[frame["baseline"].astype(bool)]
    if len(base) and base.index[0] not in shown.index:
        shown = pd.concat([shown, base])
    rows = []
    for _, r in shown.iterrows():
        acc = "-" if math.isnan(r["accuracy_mean"]) else f"{r['accuracy_mean']:.1%}"
        if not math.isnan(r["accuracy_std"]):
            acc += f" ± {r['accuracy_std']:.1%}"
        name = "" if pd.isna(r["rank"]) else str(int(r["rank"]))
        if r["baseline"]:
            name = f"{name} (base)" if name else "base"
        ref = r.get("reference")
        ref = ref if isinstance(ref, str) and ref else "-"
        kind = r.get("cost", "flops")
        rows.append([
            name, f"{r['alpha']:.4g}", f"{r['beta']:.4g}", f"{r['gamma']:.4g}", ref, f"{r['product']:.3f}",
            str(int(r["resolution_px"])), format_size(r["flops"]), f"{r['flops_ratio']:.2f}x",
            format_size(r["params"]), acc, str(int(r.get("rung", 0))), str(int(r["seeds"])),
            "-" if math.isnan(r["score"]) else f"{r['score']:.4f}", r["status"], str(int(r["group"])),
        ] + ([f"{r['cost_value']:.2f}" if kind == "latency" else format_size(r["cost_value"])]
             if kind not in ("flops", "params") else []))
    kinds = set(shown["cost"]) if "cost" in shown else {"flops"}
    extra = [f"{k} ({COST_UNITS[k]})" for k in kinds if k not in ("flops", "params")]
    columns = ["#", "alpha", "beta", "gamma", "reference", "a*b^2*g^2", "px", FLOPS_HEADER, "ratio", "params",
               "proxy acc",
               "rung", "seeds", "score", "status", "group"] + extra[:1]
    # What a narrow terminal keeps, most important first (the order); the rest is in trials.csv.
    keep = ["#", "alpha", "beta", "gamma", FLOPS_HEADER, *extra[:1], "proxy acc", "score"]
    return table(title, columns, rows, caption=caption, keep=keep,
                 prefer=["rung", "reference", "seeds", "ratio", "status", "params"], merge=["alpha", "beta", "gamma"],
                 more=more)


def _references(value: str) -> tuple[str, ...]:
    try:
        return tuple(s.name for s in strategies.parse(value))
    except FieldError as exc:  # the strategy module names its own field; here the flag is --references
        raise FieldError("references", value, exc.problem) from None


def confirm_survivors(searched: Searched, phi: float, *, quiet: bool) -> Confirmed:
    """--confirm-phi: train the race's survivors at ``phi`` (compare.confirm), record it in best.json (its
    top-level point becomes the confirmed one) and say what it found."""
    path = searched.written.paths["best"]
    best = load_best(path)
    record = best.record

    def show(step: Step) -> None:
        if not quiet and step.result is None:
            err_console.print(f"confirm at phi = {phi:g}: training {step.model} seed {step.seed} "
                              f"[{step.done + 1}/{step.total}]", highlight=False, markup=False)

    done = confirm(record, phi, baseline=best.baseline_spec, policy=best.policy,
                   cache_path=searched.plan.config.cache_path, progress=show)
    record["confirmed"] = done.to_dict()
    record["alpha"], record["beta"], record["gamma"] = done.best
    write_best(record, path)
    if not quiet:
        console.print(done.line(), highlight=False, soft_wrap=True, markup=False)
    return done
