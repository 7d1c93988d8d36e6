"""The files a search leaves in its folder: trials.csv (every candidate, ranked) and best.json (the
winner and everything that produced it)."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING

import pandas as pd

from scalesearch.core import decision, ranking
from scalesearch.core.evidence import Evidence, partial
from scalesearch.core.jsonio import write_text_atomic
from scalesearch.report.best import best_record, write_best
from scalesearch.report.table import frame, ranked_study

if TYPE_CHECKING:
    import optuna

OUTPUT_FILES = ("trials.csv", "best.json")  # what write_outputs may write in a study's folder


@dataclass
class Outputs:
    """What ``write_outputs`` wrote and what the screen shows beside it."""

    frame: pd.DataFrame
    noise: ranking.NoiseVerdict
    evidence: Evidence | None  # None until some feasible candidate has a score
    paths: dict[str, Path] = field(default_factory=dict)


def write_outputs(study: optuna.Study, folder: Path, *, storage: str, command: str, finished: bool,
                  seconds: float) -> Outputs:
    """trials.csv always; best.json once some feasible candidate has a score."""
    record, rows, runs = ranked_study(study)
    table = frame(rows, record)
    out = Outputs(table, ranking.noise_verdict(rows, partial(record, runs)), None)
    out.paths["trials"] = write_text_atomic(folder / "trials.csv", table.to_csv(index=False))
    top = ranking.leader(rows)
    if top is not None:
        out.evidence = decision.evidence(record, rows, runs)
        top = out.evidence.recommended or top  # the race's pick (racing.recommend), when there was a race
        rec = best_record(record, top, out.noise, study=getattr(study, "study_name", ""), storage=storage,
                          command=command, finished=finished, seconds=seconds, evidence=out.evidence.to_dict())
        out.paths["best"] = write_best(rec, folder / "best.json")
    return out
