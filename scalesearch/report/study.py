"""Views of a search study: the tidy frame (one row per coefficient triple), trials.csv, best.json data,
the noise check and the ranked rich table. Everything is computed from the study alone (its user attrs
hold the candidates, its trials the results), so a resumed or distributed run reports the same way.
"""

from __future__ import annotations

import math
import statistics
from pathlib import Path
from typing import Any

import optuna
import pandas as pd
from optuna.trial import TrialState
from rich.table import Table

from scalesearch.report.console import FLOPS_HEADER, table
from scalesearch.search.objective import score
from scalesearch.units import format_size

COLUMNS = [
    "rank", "alpha", "beta", "gamma", "product", "d", "w", "r", "layers", "resolution", "proxy_resolution",
    "flops", "params", "activations", "flops_ratio", "accuracy_mean", "accuracy_std", "seeds", "score",
    "score_std", "status", "seconds", "group", "proxy_group", "baseline", "feasible",
]
NOISE_Z = 2.0  # "exceeds the seed noise" = margin over 2 standard errors of the difference (~95%)


def group_results(study: optuna.Study) -> dict[int, dict[int, dict[str, Any]]]:
    """group -> seed -> result, from finished trials; a trained result wins over a reused copy of it."""
    out: dict[int, dict[int, dict[str, Any]]] = {}
    for t in study.get_trials(deepcopy=False, states=(TrialState.COMPLETE, TrialState.PRUNED)):
        g = int(t.params["idx"])
        for r in t.user_attrs.get("results", []):
            seeds = out.setdefault(g, {})
            old = seeds.get(r["seed"])
            if old is None or (old.get("reused") and not r.get("reused")) or old.get("status") == "pruned":
                seeds[r["seed"]] = r
    return out


def _summary(results: dict[int, dict[str, Any]] | None) -> dict[str, Any]:
    if not results:
        return {"status": "pending", "accuracy_mean": math.nan, "accuracy_std": math.nan, "seeds": 0,
                "seconds": 0.0}
    rs = list(results.values())
    ok = [r["accuracy"] for r in rs if r.get("status") == "ok"]
    trained = sum(float(r.get("seconds") or 0.0) for r in rs if not r.get("reused"))
    if ok:
        return {"status": "ok", "accuracy_mean": statistics.fmean(ok),
                "accuracy_std": statistics.stdev(ok) if len(ok) > 1 else math.nan, "seeds": len(ok),
                "seconds": trained}
    worst = next((s for s in ("diverged", "oom", "pruned") if any(r.get("status") == s for r in rs)), "failed")
    partial = [r.get("accuracy") or 0.0 for r in rs if r.get("status") == "pruned"]
    return {"status": worst, "accuracy_mean": max(partial) if partial else 0.0, "accuracy_std": math.nan,
            "seeds": len(rs), "seconds": trained}


def study_frame(study: optuna.Study) -> pd.DataFrame:
    """One tidy row per coefficient triple, ranked by score (unscored rows last)."""
    settings = study.user_attrs.get("settings", {})
    target, w = settings["target_flops"], settings["w"]
    results = group_results(study)
    rows = []
    for g, group in enumerate(study.user_attrs.get("groups", [])):
        summary = _summary(results.get(g))
        for m in group["members"]:
            row = {**m, **summary}
            if summary["status"] == "ok":
                factor = score(1.0, m["flops"], target, w)
                row["score"] = summary["accuracy_mean"] * factor
                row["score_std"] = summary["accuracy_std"] * factor
            else:
                row["score"] = row["score_std"] = math.nan
            rows.append(row)
    frame = pd.DataFrame(rows)
    if frame.empty:
        return pd.DataFrame(columns=COLUMNS)
    frame = frame.sort_values(["score", "flops"], ascending=[False, True], na_position="last", kind="stable")
    frame["rank"] = range(1, len(frame) + 1)
    frame.loc[frame["score"].isna(), "rank"] = pd.NA
    frame["rank"] = frame["rank"].astype("Int64")
    return frame[[c for c in COLUMNS if c in frame.columns]].reset_index(drop=True)


def noise_check(frame: pd.DataFrame) -> dict[str, Any]:
    """Does the leader's score margin over the runner-up exceed the seed noise?

    The runner-up is the best triple on a *different* trained network (triples sharing one network share
    its accuracy, so their gap is FLOPs, not noise). Seed noise is the accuracy standard deviation pooled
    over every network with two or more seeds (each alone rests on 2-3 seeds: too few to trust), scaled
    to score units per row; the margin "exceeds the noise" when it is over 2 standard errors.
    """
    ranked = frame[(frame["status"] == "ok") & frame["feasible"].astype(bool)]
    if len(ranked) == 0:
        return {"verdict": "no finished candidate yet", "exceeds": None}
    leader = ranked.iloc[0]
    others = ranked[ranked["proxy_group"] != leader["proxy_group"]]
    out: dict[str, Any] = {"leader": _triple(leader), "leader_score": float(leader["score"])}
    if len(others) == 0:
        return {**out, "verdict": "only one trained network", "exceeds": None}
    runner = others.iloc[0]
    margin = float(leader["score"] - runner["score"])
    multi = frame.drop_duplicates("proxy_group")
    multi = multi[(multi["status"] == "ok") & (multi["seeds"] >= 2)]
    out.update({"runner_up": _triple(runner), "runner_up_score": float(runner["score"]), "margin": margin})
    if len(multi) == 0:
        return {**out, "verdict": "noise unknown: one seed per network (use --seeds or --confirm)", "exceeds": None}
    dof = float((multi["seeds"] - 1).sum())
    pooled = math.sqrt(float(((multi["seeds"] - 1) * multi["accuracy_std"] ** 2).sum()) / dof)
    se = math.sqrt(sum((pooled * float(r["score"] / r["accuracy_mean"])) ** 2 / int(r["seeds"])
                       for r in (leader, runner)))
    exceeds = margin > NOISE_Z * se
    verdict = (f"leader's score margin {margin:.4f} over the runner-up {'exceeds' if exceeds else 'is within'} "
               f"the seed noise (needs > {NOISE_Z:g} SE = {NOISE_Z * se:.4f}; pooled accuracy std {pooled:.2%} "
               f"over {len(multi)} multi-seed networks)")
    return {**out, "pooled_accuracy_std": pooled, "standard_error": se, "exceeds": exceeds, "verdict": verdict}


def _triple(row: pd.Series) -> dict[str, float]:
    return {"alpha": float(row["alpha"]), "beta": float(row["beta"]), "gamma": float(row["gamma"])}


def ranked_table(frame: pd.DataFrame, *, limit: int = 15, title: str = "Compound coefficients, ranked",
                 caption: str | None = None) -> Table:
    """The top rows as a rich table (FLOPs in multiply-adds; accuracy is the proxy's, mean +- std)."""
    shown = frame.head(limit)
    base = frame[frame["baseline"].astype(bool)]
    if len(base) and base.index[0] not in shown.index:
        shown = pd.concat([shown, base])
    rows = []
    for _, r in shown.iterrows():
        acc = "-" if math.isnan(r["accuracy_mean"]) else f"{r['accuracy_mean']:.1%}"
        if not math.isnan(r["accuracy_std"]):
            acc += f" ± {r['accuracy_std']:.1%}"
        name = "" if pd.isna(r["rank"]) else str(int(r["rank"]))
        rows.append([
            name + (" (base)" if r["baseline"] else ""), f"{r['alpha']:g}", f"{r['beta']:g}", f"{r['gamma']:g}",
            f"{r['product']:.3f}", str(int(r["resolution"])), format_size(r["flops"]), f"{r['flops_ratio']:.2f}x",
            format_size(r["params"]), acc, str(int(r["seeds"])),
            "-" if math.isnan(r["score"]) else f"{r['score']:.4f}", r["status"], str(int(r["group"])),
        ])
    columns = ["#", "alpha", "beta", "gamma", "a*b^2*g^2", "px", FLOPS_HEADER, "ratio", "params", "proxy acc",
               "seeds", "score", "status", "group"]
    return table(title, columns, rows, caption=caption)


def write_outputs(study: optuna.Study, folder: Path, *, storage: str, command: str, finished: bool,
                  seconds: float) -> tuple[pd.DataFrame, dict[str, Any], dict[str, Path]]:
    """trials.csv always; best.json once some feasible triple has a score. Returns (frame, noise, paths)."""
    from scalesearch.search.best import best_record, write_best

    folder.mkdir(parents=True, exist_ok=True)
    frame = study_frame(study)
    paths = {"trials": folder / "trials.csv"}
    tmp = paths["trials"].with_suffix(".csv.tmp")
    frame.to_csv(tmp, index=False)
    tmp.replace(paths["trials"])
    noise = noise_check(frame)
    scored = frame[(frame["status"] == "ok") & frame["feasible"].astype(bool)]
    if len(scored):
        row = scored.iloc[0].to_dict()
        record = best_record(study.user_attrs["settings"], study.user_attrs["baseline_spec"], row, noise,
                             study=study.study_name, storage=storage, command=command, finished=finished,
                             seconds=seconds, invocations=study.user_attrs.get("invocations"))
        paths["best"] = write_best(record, folder / "best.json")
    return frame, noise, paths
