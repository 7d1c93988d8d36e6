"""`scalesearch audit`: re-check a finished study at a higher fidelity (see scalesearch.audit)."""

from __future__ import annotations

import sys
import time
from pathlib import Path
from typing import Annotated, Any

import optuna
import typer
from rich.progress import BarColumn, MofNCompleteColumn, Progress, SpinnerColumn, TextColumn, TimeElapsedColumn

from scalesearch.audit import AUDIT_FILE, AuditConfig, AuditPlan, AuditResult, execute, prepare
from scalesearch.audit.plan import DEFAULT_SAMPLE, DEFAULT_SEEDS, EPOCH_FACTOR, LONG_HOURS, RESAMPLES, WIDTH_FACTOR
from scalesearch.cli.output import check_writable_dir, console, err_console, print_json, table
from scalesearch.core.errors import UsageError
from scalesearch.core.redaction import resume_text

from . import options

SAMPLE, FIDELITY, SOURCE = "Sample", "Fidelity (the audit's proxy training)", "Study"


def duration(seconds: float) -> str:
    """'40 s', '12 min', '2.5 h'."""
    if seconds < 90:
        return f"{seconds:.0f} s"
    if seconds < 90 * 60:
        return f"{seconds / 60:.0f} min"
    return f"{seconds / 3600:.1f} h"


class AuditDisplay:
    """A progress bar on stderr (runs done of needed, elapsed, what trains now); one plain line per finished
    run where stderr is no terminal (a CI log, a file), as `grid` does."""

    def __init__(self, *, disable: bool = False) -> None:
        self.plain = not disable and not err_console.is_terminal
        self.progress = Progress(SpinnerColumn(), TextColumn("[bold]audit runs"), BarColumn(), MofNCompleteColumn(),
                                 TextColumn("elapsed"), TimeElapsedColumn(), TextColumn("{task.fields[doing]}"),
                                 console=err_console, disable=disable or self.plain, transient=True)
        self.task = self.progress.add_task("audit", total=None, doing="")

    def __enter__(self) -> AuditDisplay:
        self.progress.start()
        return self

    def __exit__(self, *exc: Any) -> None:
        self.progress.stop()

    def __call__(self, done: int, total: int, text: str) -> None:
        if self.plain:
            if " done" in text:
                err_console.print(f"[{done}/{total}] {text}", highlight=False, markup=False, soft_wrap=True)
            return
        self.progress.update(self.task, completed=done, total=total, doing=text)


def _images(train: int | None, val: int | None) -> str:
    parts = [f"{n:,} {what} images" for n, what in ((train, "training"), (val, "validation")) if n is not None]
    return ", " + ", ".join(parts) if parts else ""


def plan_line(p: AuditPlan) -> str:
    """What the audit will train and how long that takes, said before it starts."""
    eta = p.estimate_seconds
    when = ("nothing to train: every run is cached" if p.runs_to_train == 0 else
            f"about {duration(eta)} to train {p.runs_to_train} (the final rung's {p.study_seconds_per_run:.1f} s per "
            f"run on {p.study_threads or 1:g} thread(s) x {p.compute_ratio:.1f}, shared over this machine's threads)"
            if eta is not None else
            f"{p.runs_to_train} to train (the study recorded no run time to estimate from)")
    return (f"audit of study {p.study_name}: {len(p.sample)} of {p.ranked_networks} ranked networks x "
            f"{p.config.seeds} seed(s) = {p.runs_needed} runs at {p.proxy.epochs} epoch(s), proxy width "
            f"{p.proxy.proxy_width:g}{_images(p.proxy.train_subset, p.proxy.val_subset)} "
            f"({p.compute_ratio:.1f}x the final rung's training multiply-adds per network); "
            f"{len(p.cached)} cached; {when}")


def audit(
    study_dir: Annotated[Path, typer.Argument(
        metavar="STUDY_DIR", show_default=False,
        help="A finished study folder `scalesearch grid` wrote (results/<study>); audit.json is written there.")],
    sample: Annotated[int, typer.Option(
        "--sample", rich_help_panel=SAMPLE,
        help="Networks to retrain: the leaders set, then evenly spaced ranks over the rest (at least 2 of them).")
    ] = DEFAULT_SAMPLE,
    seeds: Annotated[int, typer.Option("--seeds", rich_help_panel=SAMPLE,
                                       help="Seeds per network (2+ measure the audit's own noise).")] = DEFAULT_SEEDS,
    resamples: Annotated[int, typer.Option("--resamples", rich_help_panel=SAMPLE,
                                           help="Bootstrap resamples of the networks (95% intervals).")] = RESAMPLES,
    epochs: Annotated[int | None, typer.Option(
        "--epochs", rich_help_panel=FIDELITY,
        help=f"Training epochs of the audit (default: {EPOCH_FACTOR}x the study's final rung).")] = None,
    proxy_width: Annotated[float | None, typer.Option(
        "--proxy-width", rich_help_panel=FIDELITY,
        help=f"Proxy width of the audit (default: {WIDTH_FACTOR:g}x the study's, at most 4).")] = None,
    train_subset: Annotated[int | None, typer.Option(
        "--train-subset", rich_help_panel=FIDELITY,
        help="Training images per run (default: the study's); more images are more compute, counted in the ratio.")
    ] = None,
    val_subset: Annotated[int | None, typer.Option(
        "--val-subset", rich_help_panel=FIDELITY,
        help="Validation images, one fixed stratified choice (default: the study's).")] = None,
    device: Annotated[str, typer.Option("--device", rich_help_panel=FIDELITY,
                                        help="Training device: auto, cpu, cuda, cuda:N or mps.")] = "auto",
    storage: Annotated[str | None, typer.Option(
        "--storage", rich_help_panel=SOURCE,
        help="Optuna RDB URL of a shared study (postgresql://...); STUDY_DIR is then where audit.json goes.")
    ] = None,
    study: Annotated[str | None, typer.Option(
        "--study", rich_help_panel=SOURCE, help="Study name in --storage (default: its only study).")] = None,
    allow_long: Annotated[bool, typer.Option(
        "--allow-long", rich_help_panel=SAMPLE,
        help=f"Start an audit estimated to take over {LONG_HOURS} h (refused without it).")] = False,
    json_out: options.Json = False,
) -> None:
    """Retrain a sample of a finished study's networks at a higher fidelity; say how well the study ranked them.

    Spearman and Kendall tau (bootstrap intervals), top-1 and leaders agreement, seed noise, which signal ranked better.

    It says so when the audit cannot rank (saturated, or within its noise). Writes STUDY_DIR/audit.json.

    Finished runs go to the proxy-run cache: after Ctrl-C, the same command resumes. A study made with a builder
    (--baseline file.py:function) imports that builder again, from the path the study recorded.
    """
    config = AuditConfig(sample=sample, seeds=seeds, resamples=resamples, epochs=epochs, proxy_width=proxy_width,
                         train_subset=train_subset, val_subset=val_subset, device=device)
    if storage is not None and study_dir is None:
        raise UsageError("--storage: also give STUDY_DIR, the folder audit.json goes into")
    optuna.logging.set_verbosity(optuna.logging.ERROR)
    p = prepare(study_dir, config, storage=storage, study_name=study)
    check_writable_dir(p.folder, "STUDY_DIR")
    if p.too_long and not allow_long:
        raise UsageError(f"the audit would take about {duration(p.estimate_seconds or 0)} ({p.runs_to_train} runs to "
                         f"train at {p.proxy.epochs} epoch(s)), over the {LONG_HOURS} h bound: lower --sample, --seeds "
                         "or --epochs, or add --allow-long to start it")
    # Said before anything trains, with --json too (on stderr): what will train and for about how long.
    err_console.print(plan_line(p), highlight=False, soft_wrap=True, markup=False)
    started = time.perf_counter()
    display = AuditDisplay(disable=json_out)
    try:
        with display:
            result = execute(p, progress=display)
    except KeyboardInterrupt:
        err_console.print("interrupted: finished runs are kept in the proxy-run cache. Resume with:\n"
                          + resume_text(sys.argv[1:]), highlight=False, soft_wrap=True, markup=False)
        raise typer.Exit(130) from None
    if json_out:
        print_json(result.data)
        return
    show(result)
    console.print(f"{AUDIT_FILE}: {result.path}", highlight=False, soft_wrap=True, markup=False)
    console.print(f"wall time {time.perf_counter() - started:.0f} s ({result.trained} run(s) trained, "
                  f"{result.cached} from the cache)", highlight=False)


def show(result: AuditResult) -> None:
    """The sample as a table (study rank against audit rank), then the verdict lines."""
    d = result.record
    rows = []
    for s in d.sample:
        accs = list(s.audit_accuracies.values())
        spread = f" ± {(max(accs) - min(accs)) / 2:.1%}" if len(accs) > 1 else ""
        rows.append([str(s.study_rank) + ("*" if s.leader else ""), f"{s.alpha:g}", f"{s.beta:g}",
                     f"{s.gamma:g}", s.reference or "-", f"{s.study_accuracy:.1%}",
                     "-" if s.audit_accuracy is None else f"{s.audit_accuracy:.1%}{spread}",
                     "-" if s.audit_score is None else f"{s.audit_score:.4f}",
                     "-" if s.audit_rank is None else str(s.audit_rank)])
    cfg, fid = d.config, d.study_fidelity
    title = (f"Audit: {cfg.epochs} epoch(s), width {cfg.proxy_width:g}{_images(cfg.train_subset, None)} x "
             f"{cfg.seeds} seed(s) against the study's {fid.epochs} epochs, width {fid.proxy_width:g}"
             f"{_images(fid.train_subset, None)}")
    caption = ("study #: the network's place in the study's ranking (* a leader); study acc at the rung it reached; "
               "audit acc: mean ± half the seed range; audit #: its place in the audit")
    console.print(table(title, ["study #", "alpha", "beta", "gamma", "reference", "study acc", "audit acc",
                                "audit score", "audit #"], rows, caption=caption,
                        keep=["study #", "alpha", "beta", "gamma", "audit acc", "audit #"],
                        prefer=["audit score", "study acc", "reference"], merge=["alpha", "beta", "gamma"],
                        more="--json or audit.json"))
    for line in d.lines:
        console.print(line, highlight=False, soft_wrap=True, markup=False)
