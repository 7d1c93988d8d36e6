"""Writing tables to files: the suffix picks the format."""

from __future__ import annotations

from pathlib import Path

import pandas as pd

from scalesearch.errors import UsageError


def write_frame(frame: pd.DataFrame, path: Path) -> Path:
    """Write ``frame`` as CSV (.csv) or a JSON list of records (.json)."""
    suffix = path.suffix.lower()
    if suffix not in {".csv", ".json"}:
        raise UsageError(f"{path}: --save writes .csv or .json files")
    path.parent.mkdir(parents=True, exist_ok=True)
    if suffix == ".csv":
        frame.to_csv(path, index=False)
    else:
        frame.to_json(path, orient="records", indent=2)
    return path
