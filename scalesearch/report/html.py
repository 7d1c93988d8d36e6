"""index.html (one self-contained page: plots as data URIs, inline CSS, no script, no external URL) and
summary.md (the same ranked table in Markdown, for an issue or a paper)."""

from __future__ import annotations

import base64
import html
import math
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pandas as pd

from scalesearch.core.units import format_size
from scalesearch.report.view import StudyView

if TYPE_CHECKING:
    from pandas.api.typing import NAType

MIME = {".png": "image/png", ".svg": "image/svg+xml"}
STYLE = """body{font-family:system-ui,sans-serif;max-width:1100px;margin:2em auto;padding:0 1em;color:#222}
table{border-collapse:collapse;font-size:13px}td,th{border:1px solid #ccc;padding:2px 6px;text-align:right}
th{background:#f3f3f3}code,pre{background:#f6f6f6;padding:2px 4px}pre{white-space:pre-wrap;padding:8px}
figure{margin:1.5em 0}img{max-width:100%;border:1px solid #eee}.note{color:#a35200;font-weight:bold}"""


def display_table(t: pd.DataFrame, limit: int | None = None) -> pd.DataFrame:
    """The ranked table for people: the columns that decide (trials.csv keeps every column, exact)."""
    rows = t if limit is None else t.head(limit)
    out = pd.DataFrame({
        "rank": [_rank(r, b) for r, b in zip(rows["rank"], rows["baseline"], strict=True)],
        "alpha": rows["alpha"].map("{:g}".format), "beta": rows["beta"].map("{:g}".format),
        "gamma": rows["gamma"].map("{:g}".format),
        "FLOPs (multiply-adds)": rows["flops"].map(format_size),
        "FLOPs / baseline": rows["flops_ratio"].map("{:.2f}x".format),
        "proxy accuracy": [_pm(m, s, "{:.1%}") for m, s in zip(rows["accuracy_mean"], rows["accuracy_std"],
                                                                 strict=True)],
        "seeds": rows["seeds"].astype(int).astype(str),
        "score": [_pm(m, s, "{:.4f}") for m, s in zip(rows["score"], rows["score_std"], strict=True)],
    })
    for extra in ("rung", "reference"):  # added by newer searches; older studies have neither
        if extra in rows:
            out[extra] = ["" if pd.isna(x) else str(x) for x in rows[extra]]
    out["status"] = rows["status"].astype(str).to_numpy()
    return out.reset_index(drop=True)


def _rank(rank: float | NAType, baseline: bool) -> str:
    """'3', 'base' (the reference outside the band: no rank) or '5 (base)', as grid's table says."""
    name = "" if pd.isna(rank) else str(int(rank))
    return (f"{name} (base)" if name else "base") if baseline else name


def _pm(mean: float, std: float, fmt: str) -> str:
    if mean is None or math.isnan(mean):
        return "-"
    return fmt.format(mean) + ("" if std is None or math.isnan(std) else " ± " + fmt.format(std))


def markdown(table: pd.DataFrame) -> str:
    """A GitHub Markdown table (written here: pandas' to_markdown needs the optional tabulate)."""
    numeric = {c for c in table.columns if c not in ("status", "reference")}
    head = "| " + " | ".join(table.columns) + " |"
    rule = "| " + " | ".join("---:" if c in numeric else ":---" for c in table.columns) + " |"
    body = ["| " + " | ".join(str(v).replace("|", "\\|") for v in row) + " |" for row in table.itertuples(index=False)]
    return "\n".join([head, rule, *body]) + "\n"


def summary_md(v: StudyView, table: pd.DataFrame) -> str:
    state = "" if v.finished else f"\n**{v.unfinished.capitalize()}.**\n"
    return (f"# Study {v.name}\n{state}\n{markdown(table)}\n"
            f"score = proxy accuracy x (FLOPs / {format_size(v.record.target_flops)})^{v.record.w:g}; FLOPs are "
            f"fvcore multiply-adds.\n\n{v.data_line}\n\nNoise: {v.noise.verdict}.\n\n{_evidence_md(v)}{_audit_md(v)}"
            f"Reproduce: `{v.command}`\n")


def _audit_md(v: StudyView) -> str:
    lines = v.audit_lines
    return ("## Audit at a higher fidelity\n\n" + "".join(f"- {line}\n" for line in lines) + "\n") if lines else ""


def _evidence_md(v: StudyView) -> str:
    lines = v.evidence.lines() if v.evidence is not None else []
    return "".join(f"- {line}\n" for line in lines) + ("\n" if lines else "")


def data_uri(path: Path) -> str:
    return f"data:{MIME[path.suffix]};base64,{base64.b64encode(path.read_bytes()).decode('ascii')}"


def _settings_rows(settings: dict[str, Any], prefix: str = "") -> list[tuple[str, str]]:
    out = []
    for k, value in settings.items():
        if isinstance(value, dict):
            out += _settings_rows(value, f"{prefix}{k}.")
        else:
            out.append((prefix + k, "default" if value is None else str(value)))
    return out


def page(v: StudyView, table: pd.DataFrame, plots: list[tuple[Path, str, str]]) -> str:
    """The page. ``plots``: (file, title, what a reader learns from it)."""
    e = html.escape
    state = "" if v.finished else f'<p class="note">{e(v.unfinished.capitalize())}.</p>'
    settings = "".join(f"<tr><th>{e(k)}</th><td style='text-align:left'>{e(x)}</td></tr>"
                       for k, x in _settings_rows(v.record.settings))
    figures = "".join(f'<figure><h3>{e(title)}</h3><img src="{data_uri(p)}" alt="{e(title)}">'
                      f"<figcaption>{e(caption)}</figcaption></figure>" for p, title, caption in plots)
    ranked = table.to_html(index=False, border=0, escape=True)
    lines = v.evidence.lines() if v.evidence is not None else []
    if v.audit is not None and v.audit.lines:  # its headline beside the rungs' evidence; the section below has the rest
        lines = [*lines, f"audit (audit.json): {v.audit.headline}"]
    audit = ("<h2>Audit at a higher fidelity</h2><ul>" + "".join(f"<li>{e(line)}</li>" for line in v.audit_lines)
             + "</ul>") if v.audit_lines else ""
    evidence = ("<h2>Evidence: rungs, leaders, reference strategies</h2><ul>"
                + "".join(f"<li>{e(line)}</li>" for line in lines) + "</ul>") if lines else ""
    runs = "".join(f"<li>{e(i.finished_at)}: {i.seconds:.0f} s, {i.workers} worker(s)"
                   f"{' (interrupted)' if i.interrupted else ''}</li>" for i in v.record.invocations)
    return f"""<!DOCTYPE html>
<html lang="en"><head><meta charset="utf-8"><title>scalesearch report: {e(v.name)}</title>
<style>{STYLE}</style></head><body>
<h1>Study {e(v.name)}</h1>{state}
<p>Baseline <b>{e(v.record.study_settings.baseline)}</b>,
{len(v.record.candidates)} candidates, target T = {e(format_size(v.record.target_flops))} multiply-adds,
score = proxy accuracy x (FLOPs / T)^{v.record.w:g}.</p>
<p>{e(v.data_line)}</p>
<h2>Noise verdict</h2><p>{e(v.noise.verdict)}</p>{evidence}{audit}
<h2>Ranked candidates</h2>{ranked}
<p>Every column, exact: <code>trials.csv</code>; the winner with its settings: <code>best.json</code>.</p>
<h2>Plots</h2>{figures}
<h2>Reproduce</h2><pre>{e(v.command)}</pre><ul>{runs}</ul>
<h2>Settings</h2><table>{settings}</table>
</body></html>
"""
