"""`scalesearch report`: the pictures of a study, one self-contained HTML page and a Markdown table.

Also what `grid` calls when it finishes (``write_study_report``), so both write the same files.
"""

from __future__ import annotations

import time
from enum import StrEnum
from pathlib import Path
from typing import Annotated

import optuna
import pandas as pd
import typer
from rich.markup import escape

from scalesearch.cli.output import check_writable_dir, console, err_console, out_dir, print_json
from scalesearch.core.errors import SearchError, UsageError
from scalesearch.core.units import parse_phi
from scalesearch.report.render import (
    FORMATS,
    Report,
    find_family,
    read_audit,
    read_best,
    report_files,
    scale_leader,
    write_report,
)
from scalesearch.report.view import view
from scalesearch.search.storage import load_study_at

from .options import OUTPUT, Json

SOURCE = "Study"
ImageFormat = StrEnum("ImageFormat", {f: f for f in FORMATS})  # type: ignore[misc]  # members computed from the library's formats
PNG = ImageFormat(FORMATS[0])


def write_study_report(study: optuna.Study, study_dir: Path, out: Path | None = None, *, fmt: str = "png",
                       phis: list[float] | None = None, interrupted: bool = False) -> Report:
    """The report of ``study`` under ``out`` (default STUDY_DIR/report); family.png when `scale --from` wrote
    a family for the study's leader or ``phis`` are given."""
    best = read_best(study_dir)
    try:
        v = view(study, best)
    except SearchError as exc:  # an older format, another tool's study, nothing finished: say which folder
        raise SearchError(f"{study_dir}: {exc}") from None
    family: pd.DataFrame | None = None
    notes: list[str] = []
    source = ""
    if phis:
        family = scale_leader(v, phis)
        source = "the leader scaled for --phi"
    elif (summary := find_family(study_dir, v)) is not None:
        family, problem = _read_family(summary)
        source = str(summary)
        if problem is not None:
            notes.append(f"family.{fmt} skipped: {summary} {problem}")
    folder = out if out is not None else study_dir / "report"
    try:
        rep = write_report(study, folder, fmt=fmt, best=best, family=family, the_view=v,
                           interrupted=interrupted, audit=read_audit(study_dir))
    except OSError as exc:
        raise UsageError(f"--out {folder}: cannot write the report ({exc.strerror or exc})") from None
    if family is not None and len(family):
        notes.append(f"family.{fmt} drawn from {source} (phi {', '.join(f'{x:g}' for x in family['phi'])})")
    rep.notes.extend(notes)
    return rep


FAMILY_COLUMNS = ("phi", "flops_ratio", "depth", "depth_achieved", "width", "width_achieved",
                  "resolution_multiplier", "resolution_achieved")


def _read_family(summary: Path) -> tuple[pd.DataFrame | None, str | None]:
    """A family's summary.csv (what `scale` writes), or None and why it is not drawn."""
    try:
        frame = pd.read_csv(summary)
    except (OSError, UnicodeDecodeError, ValueError) as exc:
        return None, f"does not read ({exc})"
    missing = [c for c in FAMILY_COLUMNS if c not in frame.columns]
    if missing:
        return None, f"lacks {', '.join(missing)}: not a summary.csv `scalesearch scale` wrote"
    if not all(pd.api.types.is_numeric_dtype(frame[c]) for c in FAMILY_COLUMNS) or not len(frame):
        return None, "holds no numbers to draw"
    return frame, None


def report(
    study_dir: Annotated[Path | None, typer.Argument(
        metavar="STUDY_DIR", show_default=False,
        help="A study folder `scalesearch grid` wrote (results/<study>); the report goes to STUDY_DIR/report/. "
        "Optional with --storage and --out.")] = None,
    storage: Annotated[str | None, typer.Option(
        "--storage", rich_help_panel=SOURCE, help="Optuna RDB URL of a shared study (postgresql://...).")] = None,
    study: Annotated[str | None, typer.Option(
        "--study", rich_help_panel=SOURCE, help="Study name in --storage (default: its only study).")] = None,
    phi: Annotated[str | None, typer.Option(
        "--phi", rich_help_panel=OUTPUT,
        help="Also scale the leader for these phi (0:4) and draw family.png (default: the family `scale --from` "
             "wrote, if any).")] = None,
    out: Annotated[Path | None, typer.Option(
        "--out", rich_help_panel=OUTPUT, help="Report folder (default: STUDY_DIR/report).",
        callback=out_dir("--out"))] = None,
    fmt: Annotated[ImageFormat, typer.Option("--format", rich_help_panel=OUTPUT,
                                             help="Image format of the plots.")] = PNG,
    json_out: Json = False,
) -> None:
    """Draw a study: plots, one self-contained index.html and summary.md (the ranked table in Markdown).

    Works on a finished study, one still running (it says so) and a shared one (--storage URL --study NAME).
    """
    phis = parse_phi(phi) if phi is not None else None
    if study_dir is None and storage is not None:
        if out is None:
            raise UsageError("--storage without a study folder: give --out DIR for the report")
    folder = out if out is not None else (study_dir / "report" if study_dir is not None else None)
    started = time.perf_counter()
    optuna.logging.set_verbosity(optuna.logging.ERROR)  # Optuna's per-call log lines are not the report
    s = load_study_at(study_dir, storage, study)  # a missing or wrong study folder is said first, as such
    if folder is not None:  # before anything is drawn
        check_writable_dir(folder, "--out", files=report_files(fmt.value))
    base = study_dir if study_dir is not None else Path(out or ".")
    rep = write_study_report(s, base, folder, fmt=fmt.value, phis=phis)
    seconds = time.perf_counter() - started
    if json_out:
        print_json({**rep.to_dict(), "seconds": round(seconds, 2)})
        return
    show_written(rep)
    console.print(f"noise: {rep.view.noise.verdict}", highlight=False)
    console.print(f"report written in {seconds:.1f} s; open {rep.folder / 'index.html'}", highlight=False)


def show_written(rep: Report) -> None:
    """The files written (stdout, one line) and the notes (stderr): what grid and report end with."""
    for note in rep.notes:
        err_console.print(f"[yellow]note:[/] {escape(note)}", highlight=False, soft_wrap=True)
    names = ", ".join(p.name for p in rep.files)
    console.print(f"report: {names} in {rep.folder}", highlight=False, soft_wrap=True, markup=False)

