"""Benchmark: counting a large network with the meta-device counter vs fvcore, in one run.

Each count runs in a fresh subprocess (no cache), so its time and peak memory are its own: the script
reports wall seconds and the peak resident memory the count added over the process after imports.
Alternates the two counters --repeats times and prints medians and the ratios.

    python bench/meta_flops.py                       # EfficientNet-B7 at 600 px
    python bench/meta_flops.py --baseline resnet-50 --repeats 5
"""

from __future__ import annotations

import argparse
import json
import statistics
import subprocess
import sys

CHILD = r"""
import json, resource, sys, time
import scalesearch
from scalesearch.measure import count
spec = scalesearch.baseline(sys.argv[1])
before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
start = time.perf_counter()
cost = count(spec, sys.argv[2])
seconds = time.perf_counter() - start
after = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
print(json.dumps({"seconds": seconds, "peak_mib": (after - before) / 1024, "flops": cost.flops,
                  "conv_linear": cost.conv_linear_flops, "resolution": spec.resolution}))
"""


def one(baseline: str, counter: str) -> dict:
    out = subprocess.run([sys.executable, "-c", CHILD, baseline, counter], check=True, capture_output=True, text=True)
    return json.loads(out.stdout.strip().splitlines()[-1])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--baseline", default="efficientnet-b7")
    parser.add_argument("--repeats", type=int, default=3)
    args = parser.parse_args()

    runs: dict[str, list[dict]] = {"meta": [], "fvcore": []}
    for i in range(args.repeats):
        for counter in ("meta", "fvcore") if i % 2 == 0 else ("fvcore", "meta"):
            r = one(args.baseline, counter)
            runs[counter].append(r)
            print(f"run {i + 1} {counter:>6}: {r['seconds']:6.2f} s, +{r['peak_mib']:7.1f} MiB peak, "
                  f"{r['flops']:,} multiply-adds at {r['resolution']} px", flush=True)
    med = {c: {k: statistics.median(r[k] for r in rs) for k in ("seconds", "peak_mib")} for c, rs in runs.items()}
    same = runs["meta"][0]["flops"] == runs["fvcore"][0]["conv_linear"]
    print(f"{args.baseline}: meta {med['meta']['seconds']:.2f} s / {med['meta']['peak_mib']:.0f} MiB, "
          f"fvcore {med['fvcore']['seconds']:.2f} s / {med['fvcore']['peak_mib']:.0f} MiB (medians of {args.repeats})")
    print(f"meta conv+linear equals fvcore conv+linear: {same}")
    print(f"time ratio fvcore/meta: {med['fvcore']['seconds'] / med['meta']['seconds']:.2f}")
    print(f"memory ratio fvcore/meta: {med['fvcore']['peak_mib'] / max(med['meta']['peak_mib'], 1.0):.2f}")


if __name__ == "__main__":
    main()
