"""Views of a search study as tidy tables: one row per candidate (coefficient triple), ranked.

Everything comes from the study alone (``scalesearch.record``) and is ranked by ``scalesearch.ranking``,
so a resumed or distributed run, the live progress and these files all agree.
"""

from __future__ import annotations

import pandas as pd

from scalesearch import ranking
from scalesearch.record import StudyRecord, network_runs

# Column names are shared with `scale`'s summary.csv where the fact is the same (depth_achieved, ...).
COLUMNS = [
    "rank", "alpha", "beta", "gamma", "product", "depth_achieved", "width_achieved", "resolution_achieved",
    "layers", "resolution_px", "proxy_resolution_px", "flops", "params", "activations", "flops_ratio",
    "accuracy_mean", "accuracy_std", "seeds", "score", "score_std", "status", "seconds", "group", "network",
    "baseline", "feasible",
]


def ranked_rows(study: object) -> tuple[StudyRecord, list[ranking.Row]]:
    """The study's record and its ranking (``study``: an Optuna Study)."""
    record = StudyRecord.read(study, getattr(study, "study_name", ""))  # type: ignore[arg-type]
    trials = study.get_trials(deepcopy=False)  # type: ignore[attr-defined]
    return record, ranking.rank(record.candidates, network_runs(trials), record.target_flops, record.w)


def frame(rows: list[ranking.Row]) -> pd.DataFrame:
    """One row per candidate, best first; ``rank`` is empty for rows that do not rank."""
    data = []
    for r in rows:
        c, s = r.candidate, r.summary
        data.append({
            "rank": r.rank, **{k: getattr(c, k) for k in COLUMNS if hasattr(c, k)},
            "accuracy_mean": s.accuracy_mean, "accuracy_std": s.accuracy_std, "seeds": s.seeds, "score": r.score,
            "score_std": r.score_std, "status": s.status, "seconds": s.seconds,
        })
    out = pd.DataFrame(data, columns=COLUMNS)
    out["rank"] = out["rank"].astype("Int64")
    return out
