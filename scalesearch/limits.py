"""Size guards: refuse a network too big to build or count before anything is built or counted.

A typo (``--depth 1e300``, ``--phi 60``, ``--image-size 100000``, ``layers: 1000000000`` in a spec file)
would otherwise allocate memory for minutes and end in a traceback. The estimate uses the spec alone and
closed forms per stage (never a loop over layers), so it answers at once for any size. It is rough on
purpose (about half of fvcore's activation count for EfficientNet-B7): the limits sit far above every
registered baseline, and each can be raised with an environment variable.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from typing import Any

from scalesearch.errors import SpecError

# name: (environment variable, default). EfficientNet-B7 at 600 px: 55 layers, ~1.6e8 estimated activation
# elements, ~5e7 estimated parameters; the defaults leave room for ~2.5x B7's activations (counting B0 at
# phi = 10, 8.6e8 estimated, took 2.1 GB with fvcore: the limit keeps a count near 1 GB) and ~40x its params.
LIMITS = {
    "layers": ("SCALESEARCH_MAX_LAYERS", 2_000),
    "resolution": ("SCALESEARCH_MAX_RESOLUTION", 8_192),
    "channels": ("SCALESEARCH_MAX_CHANNELS", 65_536),
    "activations": ("SCALESEARCH_MAX_ACTIVATIONS", 400_000_000),
    "params": ("SCALESEARCH_MAX_PARAMS", 2_000_000_000),
}


def limit(name: str) -> int:
    env, default = LIMITS[name]
    try:
        return int(float(os.environ.get(env, default)))
    except ValueError:
        return default


@dataclass(frozen=True)
class SizeEstimate:
    layers: int
    resolution: int
    channels: int  # the widest layer
    activations: float  # output elements of every layer at batch 1, roughly
    params: float


def estimate(spec: Any) -> SizeEstimate:
    """Size of a NetSpec from its fields alone (closed forms per stage). Call ``check`` instead: it tests
    layers, resolution and channels (exact integers) before the float estimate, which would overflow on
    absurd sizes."""
    stem, stages = spec.stem, spec.stages
    side = max(1.0, spec.resolution / stem.stride)
    acts, params, cin = side * side * stem.channels, float(stem.channels * 3 * stem.kernel ** 2), stem.channels
    widest = max([stem.channels, spec.head.channels or 0] + [s.channels * max(1, s.expansion) for s in stages])
    for s in stages:
        e = max(1, s.expansion)
        first_side = max(1.0, side / s.stride)
        per_layer = s.channels * e + s.channels
        acts += first_side ** 2 * (cin * e + s.channels) + (s.layers - 1) * first_side ** 2 * per_layer
        params += (cin * s.channels * e * (1 + s.kernel ** 2)
                   + (s.layers - 1) * s.channels ** 2 * e * (2 + s.kernel ** 2))
        side, cin = first_side, s.channels
    return SizeEstimate(sum(s.layers for s in stages), spec.resolution, widest, acts, params)


def check(spec: Any) -> None:
    """SpecError (one line: the size, the limit, how to raise it) if ``spec`` is beyond a limit."""
    stages = spec.stages
    widest = max([spec.stem.channels, spec.head.channels or 0] + [s.channels * max(1, s.expansion) for s in stages])
    exact = (("layers", sum(s.layers for s in stages), "layers"), ("resolution", spec.resolution, "px input"),
             ("channels", widest, "channels in its widest layer"))
    for name, value, what in exact:
        _refuse_over(spec, name, value, what)
    size = estimate(spec)
    _refuse_over(spec, "activations", size.activations, "activation elements at batch 1 (estimated)")
    _refuse_over(spec, "params", size.params, "parameters (estimated)")


def _refuse_over(spec: Any, name: str, value: float, what: str) -> None:
    cap = limit(name)
    if value > cap:
        raise SpecError(f"spec {str(spec.name)[:60]!r} is too big to build or count: {_short(value)} {what}, "
                            f"over the limit of {_short(cap)}; lower the multipliers, or set "
                            f"{LIMITS[name][0]} to raise the limit")


def _short(x: float) -> str:
    if x < 1e7:
        return f"{x:,.0f}"
    try:
        return f"{float(x):.2g}"
    except OverflowError:  # an int beyond float range (layers from --depth 1e300)
        return f"~1e{len(str(int(x))) - 1}"
