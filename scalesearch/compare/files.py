"""compare.csv, compare.json and compare.png."""

from __future__ import annotations

from pathlib import Path

from scalesearch.compare.result import Comparison

CSV_COLUMNS = ("model", "strategy_phi", "d", "w", "r", "resolution_px", "layers", "flops", "flops_ratio_to_target",
               "params", "accuracy_mean", "accuracy_std", "seeds_ok", "alpha", "beta", "gamma")


FILES = {"csv": "compare.csv", "json": "compare.json", "png": "compare.png"}  # what write_files writes in ``out``


def write_files(result: Comparison, out: Path) -> dict[str, Path]:
    """compare.csv (one row per model, FLOPs in multiply-adds), compare.json (everything, format
    COMPARE_FORMAT) and compare.png (accuracy +- seed std per strategy) in ``out``."""
    import pandas as pd

    from scalesearch.core.jsonio import write_json, write_text_atomic
    from scalesearch.report.compareplot import compare_figure, save_figure

    out.mkdir(parents=True, exist_ok=True)
    data = result.to_dict()
    frame = pd.DataFrame([{k: r[k] for k in CSV_COLUMNS} for r in data["rows"]])
    paths = {"csv": write_text_atomic(out / FILES["csv"], frame.to_csv(index=False)),
             "json": write_json(out / FILES["json"], data)}
    title = (f"{result.baseline.name} at phi {result.phi:g}: {result.target_flops:,} multiply-adds "
             f"({result.config.seeds} seed(s), {result.config.proxy.epochs} epoch(s), {result.config.data})")
    note = ("Label above each bar: its measured FLOPs / the target. " + result.verdict.summary())
    paths["png"] = save_figure(compare_figure(data["rows"], title, note), out / FILES["png"])
    return paths
