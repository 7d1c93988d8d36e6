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
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from scalesearch.errors import ScaleSearchError, UsageError
from scalesearch.spec import NetSpec, from_dict

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
    baseline_spec: NetSpec
    policy: str
    settings: dict[str, Any] = field(default_factory=dict)
    record: dict[str, Any] = field(default_factory=dict)
    path: Path | None = None


def best_record(settings: dict[str, Any], baseline_spec: dict[str, Any], row: dict[str, Any],
                noise: dict[str, Any], *, study: str, storage: str, command: str, finished: bool,
                seconds: float, invocations: list[dict[str, Any]] | None = None) -> dict[str, Any]:
    def clean(v: Any) -> Any:
        return None if isinstance(v, float) and not math.isfinite(v) else v

    return {
        "format": BEST_FORMAT,
        "alpha": row["alpha"], "beta": row["beta"], "gamma": row["gamma"], "score": clean(row["score"]),
        "accuracy_mean": clean(row["accuracy_mean"]), "accuracy_std": clean(row["accuracy_std"]),
        "seeds": int(row["seeds"]), "flops": int(row["flops"]), "flops_convention": "multiply-adds (fvcore)",
        "params": int(row["params"]), "flops_ratio": row["flops_ratio"], "resolution": int(row["resolution"]),
        "product": row["product"], "network": {k: row[k] for k in ("d", "w", "r", "layers", "proxy_resolution")},
        "noise": {k: clean(v) for k, v in noise.items()},
        "baseline": settings["baseline"], "baseline_spec": baseline_spec, "policy": settings["policy"],
        "target_flops": settings["target_flops"], "w": settings["w"],
        "study": study, "storage": storage, "search_finished": finished, "wall_seconds": round(seconds, 1),
        "invocations": invocations or [],
        "command": command, "settings": settings, "versions": versions(),
        "written": time.strftime("%Y-%m-%dT%H:%M:%S%z"),
    }


def write_best(record: dict[str, Any], path: Path) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_suffix(".json.tmp")
    tmp.write_text(json.dumps(record, indent=2, default=str) + "\n")
    tmp.replace(path)  # readers never see half a file
    return path


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
    for k in ("alpha", "beta", "gamma"):
        v = data[k]
        if isinstance(v, bool) or not isinstance(v, (int, float)) or not math.isfinite(v) or v <= 0:
            raise UsageError(f"{file}: {k} = {v!r} must be a positive number")
    try:
        spec = from_dict(data["baseline_spec"])
    except ScaleSearchError as exc:
        raise UsageError(f"{file}: baseline_spec: {exc}") from None
    score = data.get("score")
    return Best(alpha=float(data["alpha"]), beta=float(data["beta"]), gamma=float(data["gamma"]),
                score=float(score) if isinstance(score, (int, float)) else math.nan, baseline=str(data["baseline"]),
                baseline_spec=spec, policy=str(data["policy"]), settings=data.get("settings", {}), record=data,
                path=file)
