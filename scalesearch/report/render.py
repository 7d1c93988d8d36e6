"""`write_report`: every picture of a study, index.html and summary.md, in one folder.

The study is read once (view.view: the same ranking as trials.csv and best.json); each plot is a
function of that view. A study still running is reported as far as it is done, and says so.
"""

from __future__ import annotations

import dataclasses
import json
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pandas as pd

from scalesearch.core.errors import UsageError
from scalesearch.core.jsonio import write_text_atomic
from scalesearch.report import curves, html, plots
from scalesearch.report.compareplot import save_figure
from scalesearch.report.view import AuditSummary, StudyView, view

FORMATS = ("png", "svg")
# file stem -> (title, what a reader learns from it). docs/search.md, "Reading the results", says the same.
CAPTIONS = {
    "budget-shares": ("Where the FLOPs go", "Each candidate placed by the share of its FLOPs factor spent on "
                      "depth, width and resolution, coloured by score: which direction of scaling pays off, and "
                      "where the paper's point and the named strategies sit."),
    "accuracy-vs-flops": ("Accuracy against FLOPs", "Proxy accuracy (seed error bars) against measured cost, "
                          "with the constraint band and the Pareto front: what extra accuracy each extra "
                          "multiply-add buys, and which candidates are dominated."),
    "leaders": ("The leaders and the noise", "The top candidates' scores with their seed spread and the "
                "seed-noise threshold: whether the leader really wins or is tied within noise."),
    "race": ("The race among the leaders", "Each survivor's mean score and 95% interval after every round of one "
             "more paired seed, ending where the race dropped it: how the tie among the leaders was decided "
             "(or why it was not)."),
    "learning-curves": ("Learning curves", "Per-epoch validation accuracy of every trained proxy, leaders in "
                        "colour: whether the proxies had converged or the ranking rests on still-rising curves."),
    "family": ("The scaled family", "FLOPs of the scaled models against phi next to 2^phi, and the requested vs "
               "achieved depth, width and resolution: how far rounding moves each model off the compound rule."),
}


def report_files(fmt: str = "png") -> list[str]:
    """The names write_report may write in its folder (checked by the commands before any work)."""
    return [f"{stem}.{fmt}" for stem in CAPTIONS] + ["index.html", "summary.md"]


@dataclass(frozen=True)
class Report:
    folder: Path
    files: list[Path]
    view: StudyView
    notes: list[str] = field(default_factory=list)

    def to_dict(self) -> dict[str, Any]:
        return {"folder": str(self.folder), "files": [str(p) for p in self.files], "finished": self.view.finished,
                "running_trials": self.view.running, "noise": self.view.noise.to_dict(), "notes": self.notes}


def read_best(folder: Path | None) -> dict[str, Any]:
    """best.json of a study folder as a plain dict ({} when there is none or it does not read: the report
    only takes the command and the leaders from it; the ranking comes from the study)."""
    if folder is None or not (folder / "best.json").is_file():
        return {}
    try:
        data = json.loads((folder / "best.json").read_text())
    except (OSError, UnicodeDecodeError, json.JSONDecodeError):
        return {}
    return data if isinstance(data, dict) else {}


AUDIT_FILE, AUDIT_FORMAT = "audit.json", 1  # what `scalesearch audit` writes (scalesearch.audit, a layer above)


def read_audit(folder: Path | None) -> AuditSummary | None:
    """The verdict of a study folder's audit.json (None when there is none, it does not read, or its format
    is another one: the report then shows no audit rather than a wrong one)."""
    if folder is None or not (folder / AUDIT_FILE).is_file():
        return None
    try:
        data = json.loads((folder / AUDIT_FILE).read_text())
    except (OSError, UnicodeDecodeError, json.JSONDecodeError):
        return None
    return AuditSummary.from_dict(data) if isinstance(data, dict) and data.get("format") == AUDIT_FORMAT else None


def find_family(study_dir: Path, v: StudyView) -> Path | None:
    """summary.csv of the family of the study's recommended point (``StudyView.recommended_point``) in the
    study's own folder (where `scale --from STUDY_DIR` writes it), if there is one. Never a folder above the
    study: `scale --alpha ...` writes the same folder name under results/ for any run with those
    coefficients, which is not this study's."""
    from scalesearch.family import family_dir  # scalesearch.family pulls in torch: only when looked for

    point = v.recommended_point
    if point is None:
        return None
    path = family_dir(study_dir, v.record.baseline_spec, *point, v.record.study_settings.policy) / "summary.csv"
    return path if path.is_file() else None


def scale_leader(v: StudyView, phis: Sequence[float]) -> pd.DataFrame:
    """The recommended point's family for ``phis``, built and measured (what `scale --from` would write, in a frame)."""
    from scalesearch.family import scale_family

    point = v.recommended_point
    if point is None:
        raise UsageError("--phi: the study has no ranked leader to scale yet")
    _, members = scale_family(v.record.baseline_spec, *point, list(phis), policy=v.record.study_settings.policy)
    return pd.DataFrame([m.row() for m in members])


def write_report(study: Any, folder: Path, *, fmt: str = "png", best: dict[str, Any] | None = None,
                 family: pd.DataFrame | None = None, the_view: StudyView | None = None,
                 interrupted: bool = False, audit: AuditSummary | None = None) -> Report:
    """Write the plots, index.html and summary.md of ``study`` (an Optuna Study) into ``folder``.

    ``best``: best.json's content, for the command and the leaders; ``family``: a scaled family's summary
    (summary.csv of `scale`) to draw family.png; ``interrupted``: the search was stopped (the page says it
    is not finished); ``audit``: audit.json's verdict (``read_audit``), shown in a section of its own.
    Returns what was written."""
    if fmt not in FORMATS:
        raise UsageError(f"--format {fmt!r}: pick png or svg")
    v = the_view or view(study, best)
    if interrupted:
        v = dataclasses.replace(v, interrupted=True)
    if audit is not None:
        v = dataclasses.replace(v, audit=audit)
    folder.mkdir(parents=True, exist_ok=True)
    figures = {"budget-shares": plots.budget_shares, "accuracy-vs-flops": plots.accuracy_vs_flops,
               "leaders": plots.leaders, "race": plots.race, "learning-curves": curves.learning_curves}
    notes = []
    if v.evidence is None or v.evidence.race is None or not v.evidence.race.race.rounds:
        del figures["race"]  # no race (switched off, one rung, one leader) or none of its rounds is complete
    if not v.curves:
        del figures["learning-curves"]
        notes.append("no per-epoch history stored: learning-curves skipped")
    written: list[tuple[Path, str, str]] = []
    for stem, draw in figures.items():
        written.append((_save(draw(v), folder / f"{stem}.{fmt}"), *CAPTIONS[stem]))
    if family is not None and len(family):
        top = v.table[v.table["rank"] == 1].iloc[0]
        title = (f"{v.record.baseline_spec.name} scaled by alpha={top['alpha']:g}, beta={top['beta']:g}, "
                 f"gamma={top['gamma']:g}")
        written.append((_save(curves.family(family, title), folder / f"family.{fmt}"), *CAPTIONS["family"]))
    if not v.finished:
        notes.append(v.unfinished)
    table = html.display_table(v.table)
    index = write_text_atomic(folder / "index.html", html.page(v, table, written))
    summary = write_text_atomic(folder / "summary.md", html.summary_md(v, table))
    return Report(folder, [p for p, _, _ in written] + [index, summary], v, notes)


def _save(fig: Any, path: Path) -> Path:
    # No metadata: the default names matplotlib's web site, and the page must not mention any URL.
    return save_figure(fig, path, metadata={"Software": None} if path.suffix == ".png" else {"Creator": None})
