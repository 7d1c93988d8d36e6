"""Views of a search study as tidy tables: one row per candidate (coefficient triple), ranked.

Everything comes from the study alone (``scalesearch.record``) and is ranked by ``scalesearch.ranking``,
so a resumed or distributed run, the live progress and these files all agree.
"""

from __future__ import annotations

import pandas as pd

from scalesearch import ranking
from scalesearch.evidence import Runs
from scalesearch.record import StudyRecord, network_runs

# Column names are shared with `scale`'s summary.csv where the fact is the same (depth_achieved, ...).
# accuracy_*, seeds, score* and training_speed are the results at ``rung``, the highest rung the row reached.
COLUMNS = [
    "rank", "alpha", "beta", "gamma", "reference", "product", "depth_achieved", "width_achieved",
    "resolution_achieved", "layers", "resolution_px", "proxy_resolution_px", "flops", "params", "activations",
    "flops_ratio", "rung", "accuracy_mean", "accuracy_std", "seeds", "score", "score_std", "training_speed",
    "status", "seconds", "group", "network", "baseline", "feasible",
]


def ranked_study(study: object) -> tuple[StudyRecord, list[ranking.Row], Runs]:
    """The study's record, its ranking and its seed runs (rung -> network -> runs) (``study``: an Optuna
    Study)."""
    record = StudyRecord.read(study, getattr(study, "study_name", ""))  # type: ignore[arg-type]
    runs = network_runs(study.get_trials(deepcopy=False))  # type: ignore[attr-defined]
    return record, ranking.rank_rungs(record.candidates, runs, record.target_flops, record.w), runs


def ranked_rows(study: object) -> tuple[StudyRecord, list[ranking.Row]]:
    """The study's record and its ranking (``study``: an Optuna Study)."""
    record, rows, _ = ranked_study(study)
    return record, rows


def frame(rows: list[ranking.Row]) -> pd.DataFrame:
    """One row per candidate, best first; ``rank`` is empty for rows that do not rank."""
    data = []
    for r in rows:
        c, s = r.candidate, r.summary
        data.append({
            "rank": r.rank, **{k: getattr(c, k) for k in COLUMNS if hasattr(c, k)},
            "accuracy_mean": s.accuracy_mean, "accuracy_std": s.accuracy_std, "seeds": s.seeds, "score": r.score,
            "score_std": r.score_std, "status": s.status, "seconds": s.seconds, "rung": r.rung,
            "training_speed": s.training_speed,
        })
    out = pd.DataFrame(data, columns=COLUMNS)
    out["rank"] = out["rank"].astype("Int64")
    return out
