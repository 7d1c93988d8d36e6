"""The files a search leaves in its folder: trials.csv (every candidate, ranked) and best.json (the
winner and everything that produced it)."""

from __future__ import annotations

from pathlib import Path

import pandas as pd

from scalesearch import ranking
from scalesearch.jsonio import write_text_atomic
from scalesearch.report.best import best_record, write_best
from scalesearch.report.frames import frame, ranked_rows


def write_outputs(study: object, folder: Path, *, storage: str, command: str, finished: bool,
                  seconds: float) -> tuple[pd.DataFrame, ranking.NoiseVerdict, dict[str, Path]]:
    """trials.csv always; best.json once some feasible candidate has a score. Returns (frame, noise, paths)."""
    record, rows = ranked_rows(study)
    table = frame(rows, record)
    paths = {"trials": write_text_atomic(folder / "trials.csv", table.to_csv(index=False))}
    noise = ranking.noise_verdict(rows)
    top = ranking.leader(rows)
    if top is not None:
        rec = best_record(record, top, noise, study=getattr(study, "study_name", ""), storage=storage,
                          command=command, finished=finished, seconds=seconds)
        paths["best"] = write_best(rec, folder / "best.json")
    return table, noise, paths
