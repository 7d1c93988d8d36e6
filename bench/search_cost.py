"""What deduplication and the proxy cache save: one grid searched twice (two studies that differ only
in --target-flops, i.e. a user re-scoring), with dedup + cache and without, in one run.

Proxy compute is counted as epochs x training images of every run actually trained (reused runs cost
nothing); wall time includes measuring, study bookkeeping and training. Ratios, not absolutes, are the
result on a shared machine.

    python bench/search_cost.py                 # B0 grid at step 0.1, 2 epochs on 512 digits (~5 minutes)
    python bench/search_cost.py --epochs 3 --train-subset 0 --alpha 1.0:2.0:0.05 ...   # closer to a real run
"""

from __future__ import annotations

import argparse
import dataclasses
import os
import tempfile
import time
from pathlib import Path
from typing import TYPE_CHECKING

from scalesearch.core.record import network_runs
from scalesearch.search.config import SearchConfig
from scalesearch.search.plan import plan
from scalesearch.search.run import run_search
from scalesearch.search.schedule import Rung
from scalesearch.train import ProxyConfig, load_data

if TYPE_CHECKING:
    import optuna


def trained_compute(study: optuna.Study, images: int) -> tuple[int, int]:
    """(runs trained, epochs x images) over the study's finished trials, reused results excluded."""
    runs = work = 0
    for per_network in network_runs(study.trials).values():
        for r in (r for rs in per_network.values() for r in rs):
            if r.reused is None:
                runs += 1
                work += r.result.epochs_run * images
    return runs, work


def search_twice(base: SearchConfig, images: int, label: str) -> dict[str, float]:
    start = time.perf_counter()
    runs = work = 0
    for target in (400_000_000, 800_000_000):  # the second study only re-scores: same training
        outcome = run_search(dataclasses.replace(base, target_flops=target, study=f"{label}-{target}"))
        r, w = trained_compute(outcome.study, images)
        runs, work = runs + r, work + w
    return {"runs": runs, "work": work, "seconds": time.perf_counter() - start}


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--baseline", default="efficientnet-b0")
    ap.add_argument("--alpha", default="1.0:2.0:0.1")
    ap.add_argument("--beta", default="1.0:1.4:0.1")
    ap.add_argument("--gamma", default="1.0:1.4:0.1")
    ap.add_argument("--tolerance", type=float, default=0.05)
    ap.add_argument("--data", default="digits")
    ap.add_argument("--epochs", type=int, default=2)
    ap.add_argument("--train-subset", type=int, default=512, help="0: all training images")
    ap.add_argument("--workers", type=int, default=2)
    args = ap.parse_args()

    with tempfile.TemporaryDirectory() as tmp:
        os.environ["SCALESEARCH_CACHE_DIR"] = str(Path(tmp) / "cache")  # a cold proxy cache for both arms
        subset = args.train_subset or None
        images = min(subset or 10**12, len(load_data(args.data).train_y))
        base = SearchConfig(baseline=args.baseline, alpha=args.alpha, beta=args.beta, gamma=args.gamma,
                            tolerance=args.tolerance, data=args.data, workers=args.workers,
                            rungs=(Rung(args.epochs, 1),), references=(),
                            proxy=ProxyConfig(train_subset=subset, batch_size=64),
                            out=Path(tmp) / "results")
        # Count every network's cost once before timing: the cost cache is shared by both arms, and the
        # arm that ran first would otherwise pay for it alone.
        plan(base)
        smart = search_twice(base, images, "dedup-cache")
        naive = search_twice(dataclasses.replace(base, dedup=False, cache=False), images, "plain")

    print(f"grid {args.alpha} x {args.beta} x {args.gamma}, tolerance {args.tolerance}, {args.baseline}, "
          f"{args.epochs} epoch(s) on {images} {args.data} images, {args.workers} workers; two studies each")
    print(f"{'':24}{'runs trained':>14}{'epochs x images':>18}{'wall s':>10}")
    for name, r in (("dedup + cache", smart), ("neither", naive)):
        print(f"{name:24}{r['runs']:>14}{r['work']:>18,}{r['seconds']:>10.1f}")
    print(f"proxy compute ratio (neither / dedup + cache): {naive['work'] / max(smart['work'], 1):.2f}x")
    print(f"wall time ratio     (neither / dedup + cache): {naive['seconds'] / max(smart['seconds'], 1e-9):.2f}x")


if __name__ == "__main__":
    main()
