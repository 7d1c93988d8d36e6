"""best.json: the winning coefficients and everything that produced them; ``load_best`` reads it back
for ``scalesearch scale --from``.

The winner is the best-scoring *feasible* triple (the baseline (1, 1, 1) is the reference, not an answer,
unless it satisfies the constraint itself). The file carries the settings fingerprint, the baseline spec
as searched (so a custom baseline file need not travel with it) and the versions of every package that
changes a count or a training run.
"""

from __future__ import annotations

import importlib.metadata
import json
import math
import platform
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from scalesearch.core.builderspec import AnySpec, network_from_dict, network_to_dict
from scalesearch.core.errors import ScaleSearchError, UsageError
from scalesearch.core.jsonio import timestamp, write_json
from scalesearch.core.ranking import NoiseVerdict, Row
from scalesearch.core.record import StudyRecord
from scalesearch.core.redaction import redact, redact_command
from scalesearch.core.spec import preview as _preview
from scalesearch.core.units import COST_UNITS
from scalesearch.report.table import cost_device

BEST_FORMAT = 1
PACKAGES = ("scalesearch", "torch", "optuna", "fvcore", "numpy", "pandas", "scikit-learn", "sqlalchemy")


def versions() -> dict[str, str]:
    out = {"python": platform.python_version()}
    for name in PACKAGES:
        try:
            out[name] = importlib.metadata.version(name)
        except importlib.metadata.PackageNotFoundError:
            out[name] = "not installed"
    return out


@dataclass(frozen=True)
class Best:
    """What ``scale --from`` needs, plus the rest of the record in ``record``."""

    alpha: float
    beta: float
    gamma: float
    score: float
    baseline: str  # as given to grid (a registered name or a path)
    baseline_spec: AnySpec
    policy: str
    settings: dict[str, Any] = field(default_factory=dict)
    record: dict[str, Any] = field(default_factory=dict)
    path: Path | None = None


def best_record(record: StudyRecord, top: Row, noise: NoiseVerdict, *, study: str, storage: str, command: str,
                finished: bool, seconds: float, evidence: dict[str, Any] | None = None) -> dict[str, Any]:
    """Everything best.json holds (JSON-safe: non-finite numbers become null when written). The top-level
    alpha, beta, gamma are the recommended point (``racing.recommend``): the race's winner, the cheapest of its
    equivalent survivors or the best of its undecided ones (``decision``: winner | equivalent | undecided, with its
    survivors, rounds, seeds and test), else the leader
    (``evidence.leaders.rule`` states the rule); ``leaders`` is the set the final rung cannot tell apart from
    it. No password of ``storage`` or ``command`` is written (scalesearch.core.redaction)."""
    proof = evidence or {}
    c, s, settings = top.candidate, top.summary, record.settings
    return {
        "format": BEST_FORMAT,
        "alpha": c.alpha, "beta": c.beta, "gamma": c.gamma, "score": top.score, "reference": c.reference or None,
        "accuracy_mean": s.accuracy_mean, "accuracy_std": s.accuracy_std, "seeds": s.seeds, "rung": top.rung,
        "flops": c.flops, "flops_convention": "multiply-adds (fvcore)", "params": c.params,
        "flops_ratio": c.flops_ratio, "resolution_px": c.resolution_px, "product": c.product,
        "network": {"depth_achieved": c.depth_achieved, "width_achieved": c.width_achieved,
                    "resolution_achieved": c.resolution_achieved, "layers": c.layers,
                    "proxy_resolution_px": c.proxy_resolution_px},
        "noise": noise.to_dict(),
        "leaders": proof.get("leaders"), "decision": proof.get("decision"), "rungs": proof.get("rungs", []),
        "references": proof.get("references", []),
        "baseline": settings["baseline"], "baseline_spec": network_to_dict(record.baseline_spec),
        "policy": settings["policy"],
        "target_flops": record.target_flops, "w": record.w,
        # What the score charged: cost / target, in unit, measured on device (latency only).
        "cost": {"kind": record.cost, "target": record.target, "unit": COST_UNITS[record.cost],
                 "value": c.cost(record.cost), "device": cost_device(record)},
        "latency_ms": c.latency_ms, "activations": c.activations,
        "study": study, "storage": redact(storage), "search_finished": finished, "wall_seconds": round(seconds, 1),
        "invocations": [i.to_dict() for i in record.invocations],
        "command": redact_command(command), "settings": settings, "versions": versions(),
        "written": timestamp(),
    }


def write_best(record: dict[str, Any], path: Path) -> Path:
    return write_json(path, record)  # atomic: readers never see half a file


def load_best(path: str | Path) -> Best:
    """Read best.json from a study folder or the file itself. UsageError if missing or malformed."""
    p = Path(path)
    file = p / "best.json" if p.is_dir() else p
    if not file.exists():
        where = f"{p} has no best.json" if p.is_dir() else f"{p} does not exist"
        raise UsageError(f"{where}: point --from at a finished `scalesearch grid` study folder (results/<study>)")
    try:
        data = json.loads(file.read_text())
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise UsageError(f"{file}: not a readable best.json ({exc})") from None
    if not isinstance(data, dict):
        raise UsageError(f"{file}: expected a JSON object")
    missing = [k for k in ("alpha", "beta", "gamma", "baseline", "baseline_spec", "policy") if k not in data]
    if missing:
        raise UsageError(f"{file}: missing {', '.join(missing)} (not written by `scalesearch grid`?)")
    fmt = data.get("format")
    if fmt != BEST_FORMAT or isinstance(fmt, bool):
        which = f"format {_preview(fmt)} is not" if "format" in data else "no format: not"
        raise UsageError(f"{file}: {which} the best.json format this scalesearch reads ({BEST_FORMAT}); rerun the "
                         "grid command with this version to rewrite it")
    for k in ("alpha", "beta", "gamma"):
        v = data[k]
        if isinstance(v, bool) or not isinstance(v, (int, float)) or not math.isfinite(v) or v <= 0:
            raise UsageError(f"{file}: {k} = {_preview(v)} must be a positive number")
    try:
        spec = network_from_dict(data["baseline_spec"])
    except ScaleSearchError as exc:
        raise UsageError(f"{file}: baseline_spec: {exc}") from None
    score = data.get("score")
    return Best(alpha=float(data["alpha"]), beta=float(data["beta"]), gamma=float(data["gamma"]),
                score=float(score) if isinstance(score, (int, float)) else math.nan, baseline=str(data["baseline"]),
                baseline_spec=spec, policy=str(data["policy"]), settings=data.get("settings", {}), record=data,
                path=file)
