"""Which cost predicts latency here: Spearman rank correlation of measured latency with FLOPs and activations.

    python bench/cost_models.py                        # CPU, batch 1, fp32, 1 thread (steady on a shared machine)
    python bench/cost_models.py --device cuda --batch 64 --dtype bf16    # on a GPU

Networks: the released EfficientNet-B0..B7, the phi = 1 candidates of the default grid (B0 scaled by every
(alpha, beta, gamma) that `scalesearch grid` keeps by default) and the named strategies at phi = 1; each
distinct architecture once. FLOPs (multiply-adds) and activations (conv/linear output elements) are counted
with the meta counter; latency is timed fresh (no cache) as `scalesearch flops --latency` does. Within the
phi = 1 candidates FLOPs are nearly equal by construction, so their own correlations say which cost tells
*equal-FLOPs* networks apart, which is what a search's score needs. Latency depends on the machine: the CPU
model is printed with the result, and figures are only comparable within one machine.
"""

from __future__ import annotations

import argparse
import statistics
import time

import pandas as pd
import torch

from scalesearch.core import strategies
from scalesearch.core.baselines import baseline
from scalesearch.core.grid import DEFAULT_TOLERANCE, Ranges, formula_feasible
from scalesearch.core.scaling import scale
from scalesearch.core.spec import NetSpec
from scalesearch.family import Recipe
from scalesearch.measure import LatencyConfig, measure, time_network
from scalesearch.measure.latency import device_name
from scalesearch.nn.device import resolve_device


def networks() -> list[tuple[str, str, NetSpec]]:
    """(kind, name, spec) for every distinct architecture of the three sets."""
    b0 = baseline("efficientnet-b0")
    out = [("released", f"B{i}", baseline(f"efficientnet-b{i}")) for i in range(8)]
    for a, b, g in formula_feasible(Ranges.parse(), DEFAULT_TOLERANCE):
        out.append(("grid phi=1", f"a{a:g} b{b:g} g{g:g}",
                    scale(b0, a, b, g, coefficients=(a, b, g, 1.0))))
    out += [("strategy", name, Recipe.from_strategy(name).spec(b0, 1.0)) for name in strategies.names()]
    seen: set[str] = set()
    unique = []
    for kind, name, spec in out:
        key = spec.architecture_key()
        if key not in seen:
            seen.add(key)
            unique.append((kind, name, spec))
    return unique


def spearman(frame: pd.DataFrame, column: str) -> float:
    return float(frame["latency_ms"].corr(frame[column], method="spearman"))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--device", default="cpu")
    parser.add_argument("--batch", type=int, default=1)
    parser.add_argument("--dtype", default="fp32")
    parser.add_argument("--threads", type=int, default=1, help="CPU threads while timing (default 1: steady)")
    parser.add_argument("--repeats", type=int, default=3, help="timed passes per network and round (at least 3)")
    parser.add_argument("--rounds", type=int, default=3, help="rounds over all networks (load drift hits all alike)")
    args = parser.parse_args()
    config = LatencyConfig(device=args.device, batch=args.batch, dtype=args.dtype, threads=args.threads, warmup=1,
                           repeats=max(3, args.repeats), min_repeats=3, budget_seconds=1.0)
    device = resolve_device(args.device)
    print(f"device: {device} ({device_name(device)}), torch {torch.__version__}, {args.threads} thread(s), "
          f"batch {args.batch} {args.dtype} eval, channels_last")
    nets = networks()
    print(f"{len(nets)} distinct networks; latency: median over {args.rounds} rounds (each network timed in "
          f"every round, {config.repeats} passes after 1 warm-up) of the round medians; spread: the rounds' min-max")
    start = time.perf_counter()
    timings: dict[str, list[float]] = {name: [] for _, name, _ in nets}
    for r in range(args.rounds):
        for _, name, spec in nets:
            timings[name].append(time_network(spec, config).median_ms)
        print(f"  round {r + 1}/{args.rounds} done ({time.perf_counter() - start:.0f} s)", flush=True)
    rows = []
    for kind, name, spec in nets:
        cost = measure(spec, "meta")
        times = timings[name]
        rows.append({"kind": kind, "name": name, "px": spec.resolution, "flops": cost.flops,
                     "activations": cost.activations, "params": cost.params, "latency_ms": statistics.median(times)})
        print(f"  {kind:>10} {name:<18} {spec.resolution:4d} px {cost.flops / 1e6:9.1f}M mult-adds "
              f"{cost.activations / 1e6:7.2f}M acts {statistics.median(times):9.2f} ms ({min(times):.2f}-"
              f"{max(times):.2f})", flush=True)
    frame = pd.DataFrame(rows)
    print(f"measured in {time.perf_counter() - start:.0f} s")
    print(f"Spearman rank correlation with measured latency ({device_name(device)}):")
    print(f"  {'set':<28} {'n':>3} {'FLOPs':>7} {'activations':>12} {'params':>7}")
    subsets = [("all", frame), ("released B0..B7", frame[frame.kind == "released"]),
               ("phi=1 grid + strategies", frame[frame.kind != "released"])]
    for label, part in subsets:
        print(f"  {label:<28} {len(part):>3} {spearman(part, 'flops'):7.3f} {spearman(part, 'activations'):12.3f} "
              f"{spearman(part, 'params'):7.3f}")


if __name__ == "__main__":
    main()
