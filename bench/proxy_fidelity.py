"""How far the default search's ranking can be trusted: its final ranking against a reference trained at a
higher fidelity (>= 4x the proxy compute per network) on >= 10 networks spread over the ranking.

Runs the audit library (``scalesearch.audit``, what `scalesearch audit` runs) on a finished study folder, so
the benchmark and the command agree, and prints Spearman and Kendall tau with 95% bootstrap intervals, top-1
agreement, whether the reference is saturated or within its noise, the compute ratio (nominal epochs x
width^2, and measured training seconds) and the CPU/GPU model.

TENS OF MINUTES on a 2-core CPU at the defaults (12 networks x 2 seeds at 2x the final rung's epochs and 2x
its proxy width): not part of CI. Finished runs go to the proxy-run cache, so Ctrl-C and a rerun resume.

    python bench/proxy_fidelity.py                              # results/example, the defaults
    python bench/proxy_fidelity.py results/STUDY --sample 16 --seeds 3
    python bench/proxy_fidelity.py --write                      # also write results/example/audit.json
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

from scalesearch.audit import AuditConfig, execute, prepare
from scalesearch.audit.plan import DEFAULT_SAMPLE, DEFAULT_SEEDS
from scalesearch.core.stats import Interval

MIN_NETWORKS, MIN_RATIO = 10, 4.0  # what the benchmark's question needs (issue 10)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("study", nargs="?", type=Path, default=Path("results/example"), help="a finished study folder")
    parser.add_argument("--sample", type=int, default=DEFAULT_SAMPLE)
    parser.add_argument("--seeds", type=int, default=DEFAULT_SEEDS)
    parser.add_argument("--epochs", type=int, default=None, help="default: 2x the study's final rung")
    parser.add_argument("--proxy-width", type=float, default=None, help="default: 2x the study's")
    parser.add_argument("--device", default="auto")
    parser.add_argument("--write", action="store_true", help="write STUDY/audit.json (the report shows it)")
    args = parser.parse_args()

    started = time.perf_counter()
    config = AuditConfig(sample=args.sample, seeds=args.seeds, epochs=args.epochs, proxy_width=args.proxy_width,
                         device=args.device)
    p = prepare(args.study, config)
    eta = p.estimate_seconds
    print(f"study {p.study_name}: {len(p.sample)} of {p.ranked_networks} ranked networks x {config.seeds} seed(s) at "
          f"{p.proxy.epochs} epochs, width {p.proxy.proxy_width:g}; {p.runs_to_train} of {p.runs_needed} runs to train"
          + (f", about {eta / 60:.0f} min" if eta is not None else ""), file=sys.stderr)
    if len(p.sample) < MIN_NETWORKS or p.compute_ratio < MIN_RATIO:
        print(f"note: the benchmark's question needs >= {MIN_NETWORKS} networks at >= {MIN_RATIO:g}x the compute; this "
              f"run has {len(p.sample)} at {p.compute_ratio:.1f}x (a smoke run, not the measurement)", file=sys.stderr)

    def progress(done: int, total: int, text: str) -> None:
        if " done" in text:
            print(f"[{done}/{total}] {text} ({time.perf_counter() - started:.0f} s)", file=sys.stderr, flush=True)

    result = execute(p, progress=progress, write=args.write)
    d = result.record
    rho, tau = d.correlations.spearman, d.correlations.kendall

    def ci(x: Interval) -> str:
        if x.value is None:
            return "undefined"
        return f"{x.value:.2f}" + ("" if x.low is None or x.high is None else f" [{x.low:.2f}, {x.high:.2f}]")

    c, m = d.compute, d.machine
    print(f"networks: {d.networks_compared} (study ranks {', '.join(str(s.study_rank) for s in d.sample)} "
          f"of {d.study_fidelity.ranked_networks})")
    print(f"Spearman: {ci(rho)} (95% bootstrap, {rho.resamples} resamples)")
    print(f"Kendall tau: {ci(tau)}")
    print(f"top-1 agrees: {d.top1.agree}; leaders sets agree: {d.leaders.agree}")
    print(f"reference: mean accuracy {d.audit_accuracy_mean:.2%}, median {d.audit_accuracy_median:.2%}, "
          f"spread {d.audit_accuracy_spread:.2%}, "
          f"saturated: {d.saturated}, meaningful: {d.meaningful}")
    measured = "" if c.measured_ratio is None else f", {c.measured_ratio:.1f}x in thread-seconds"
    print(f"compute per network: {c.ratio:.1f}x the final rung's training multiply-adds (epochs x width^2: "
          f"{c.nominal_ratio:.1f}x{measured})")
    print(f"machine: {m.cpu}" + (f", GPU {m.gpu}" if m.gpu else "") + f" (trained on {m.device})")
    print(f"wall time: {time.perf_counter() - started:.0f} s ({result.trained} run(s) trained, {result.cached} cached)")
    for line in d.lines:
        print(f"  {line}")


if __name__ == "__main__":
    main()
