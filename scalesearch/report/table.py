"""Views of a search study as tidy tables: one row per candidate (coefficient triple), ranked.

Everything comes from the study alone (``scalesearch.core.record``) and is ranked by ``scalesearch.core.ranking``,
so a resumed or distributed run, the live progress and these files all agree.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import pandas as pd

from scalesearch.core import ranking
from scalesearch.core.evidence import Runs
from scalesearch.core.record import StudyRecord, network_runs
from scalesearch.core.units import COST_UNITS

if TYPE_CHECKING:
    import optuna

# Column names are shared with `scale`'s summary.csv where the fact is the same (depth_achieved, ...).
# accuracy_*, seeds, score* and training_speed are the results at ``rung``, the highest rung the row reached.
COLUMNS = [
    "rank", "alpha", "beta", "gamma", "reference", "product", "depth_achieved", "width_achieved",
    "resolution_achieved", "layers", "resolution_px", "proxy_resolution_px", "flops", "params", "activations",
    "latency_ms", "flops_ratio", "rung", "accuracy_mean", "accuracy_std", "seeds", "score", "score_std",
    "training_speed", "status", "seconds", "group", "network", "baseline", "feasible", "cost", "cost_value",
    "cost_unit", "cost_device",
]
# The score's cost: which one, its value per row, its unit, and (latency) the machine it was measured on.


def ranked_study(study: optuna.Study) -> tuple[StudyRecord, list[ranking.Row], Runs]:
    """The study's record, its ranking and its seed runs (rung -> network -> runs)."""
    record = StudyRecord.read(study, getattr(study, "study_name", ""))
    runs = network_runs(study.get_trials(deepcopy=False))
    return record, ranking.rank_rungs(record.candidates, runs, record.target, record.w, record.cost), runs


def ranked_rows(study: optuna.Study) -> tuple[StudyRecord, list[ranking.Row]]:
    """The study's record and its ranking."""
    record, rows, _ = ranked_study(study)
    return record, rows


def cost_device(record: StudyRecord | None) -> str:
    """'cpu (AMD EPYC), 1 thread(s), batch 1 fp32 eval' for a latency study; '' for counted costs."""
    lat = record.study_settings.latency if record is not None else None
    if lat is None:
        return ""
    return (f"{lat.get('device')} ({lat.get('device_name')}), {lat.get('threads')} thread(s), batch {lat.get('batch')} "
            f"{lat.get('dtype')} {lat.get('mode')}")


def frame(rows: list[ranking.Row], record: StudyRecord | None = None) -> pd.DataFrame:
    """One row per candidate, best first; ``rank`` is empty for rows that do not rank. With the study's
    ``record`` the cost columns say what the score charged (else FLOPs, as before costs were a choice)."""
    kind = record.cost if record is not None else "flops"
    device = cost_device(record)
    data = []
    for r in rows:
        c, s = r.candidate, r.summary
        data.append({
            "rank": r.rank, **{k: getattr(c, k) for k in COLUMNS if hasattr(c, k) and k != "cost"},
            "cost": kind, "cost_value": c.cost(kind), "cost_unit": COST_UNITS[kind], "cost_device": device,
            "accuracy_mean": s.accuracy_mean, "accuracy_std": s.accuracy_std, "seeds": s.seeds, "score": r.score,
            "score_std": r.score_std, "status": s.status, "seconds": s.seconds, "rung": r.rung,
            "training_speed": s.training_speed,
        })
    out = pd.DataFrame(data, columns=COLUMNS)
    out["rank"] = out["rank"].astype("Int64")
    return out
