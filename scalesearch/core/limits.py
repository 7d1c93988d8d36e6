"""Size limits, of two kinds, from a network's spec alone (no torch, no loop over layers).

Structural limits stop a typo (``--depth 1e300``, ``--phi 60``, ``layers: 1000000000`` in a spec file)
before anything is built or counted. ``check`` tests them on every spec, as exact integers: total layers,
input pixels, the widest layer (channels, expanded channels, classes) and the largest kernel or stride.
Within them any network can be counted on the meta device, which allocates nothing.

Memory limits guard work on real tensors: an fvcore count (a real forward pass at batch 1), latency
timing and proxy training. They compare the *elements held* with SCALESEARCH_MAX_ACTIVATIONS and
SCALESEARCH_MAX_PARAMS: activation elements per image x batch, and parameters; training keeps about
``TRAINING_FACTOR`` times more (conv, batch-norm and activation outputs for the backward pass; weights,
gradients and momentum). Beyond them an fvcore count runs on the meta device instead (scalesearch.measure
says so), and timing or training is refused in one line before anything is allocated.

``estimate`` sizes a spec in closed form per stage, mirroring scalesearch.nn.blocks for every block kind:
parameters (conv weights, batch norm, squeeze-excite and ConvNeXt's conv biases, layer norms and layer scales,
classifier) and activations as scalesearch's counters define them (output elements of every conv and linear
layer at batch 1), and the feature map's side before pooling (a ConvNeXt below 32 px has none left). It uses
Python integers and the builder's own rounding, so it is exact for the blocks as written
(tests/core/test_size_golden.py holds it to the meta counter over every baseline, phi 0..8 and the paper's
Table 3 rows, and over every block kind exactly).
"""

from __future__ import annotations

import math
import os
from dataclasses import dataclass
from typing import Any

from scalesearch.core.errors import SizeError, UsageError

# name: (environment variable, default). The structural defaults sit far above every real network
# (EfficientNet-B7: 55 layers, 600 px, 3,840 channels in its widest layer; ResNet-50 x4 depth: 64 layers).
# The memory defaults: 1e9 elements held is ~4 GB as fp32; measured, an fvcore count peaks at 1.2-2.5 bytes
# per activation element (B0 at phi 10, 1.6e9 elements: 2.0 GB) and training at 10-14 bytes
# (B0, ResNet-50 at batch 16). Every registered baseline is counted by fvcore far inside them (B7: 2.9e8).
LIMITS = {
    "layers": ("SCALESEARCH_MAX_LAYERS", 2_000),
    "resolution": ("SCALESEARCH_MAX_RESOLUTION", 8_192),
    "channels": ("SCALESEARCH_MAX_CHANNELS", 65_536),
    "activations": ("SCALESEARCH_MAX_ACTIVATIONS", 1_000_000_000),
    "params": ("SCALESEARCH_MAX_PARAMS", 1_000_000_000),
}
MAX_LIMIT = 2**63 - 1  # torch counts elements in int64: no limit above that means anything
TRAINING_FACTOR = 3


def limit(name: str) -> int:
    """The limit ``name`` (a key of LIMITS): its environment variable if set, else the default. A value that
    is not a number from 1 to 2^63 - 1 is a UsageError naming the variable (never a silent default)."""
    env, default = LIMITS[name]
    raw = os.environ.get(env, "").strip()
    if not raw:
        return default
    shown = raw if len(raw) <= 40 else raw[:37] + "..."
    try:
        value = float(raw)
    except ValueError:
        value = math.nan
    if not (math.isfinite(value) and 1 <= value <= MAX_LIMIT):
        raise UsageError(f"{env}={shown!r}: not a usable limit; give a number from 1 to {MAX_LIMIT:.2g} (the "
                         f"default is {_short(default)}), or unset it")
    return int(value)


@dataclass(frozen=True)
class SizeEstimate:
    layers: int
    resolution: int
    channels: int  # the widest layer's channels (expanded ones included)
    activations: int  # conv and linear output elements at batch 1
    params: int
    side: int  # the feature map's side before global pooling (0: the downsampling left no pixel)


def _out(side: int, kernel: int, stride: int, padding: int | None = None) -> int:
    """Output side of a conv with 'same' padding (kernel - 1) // 2, as scalesearch.nn.layers.ConvBNAct pads
    (or with ``padding``: 0 for the non-overlapping patchify stem and ConvNeXt's downsampling)."""
    pad = (kernel - 1) // 2 if padding is None else padding
    return max(0, (side + 2 * pad - kernel) // stride + 1)


def _conv(cin: int, cout: int, kernel: int, groups: int = 1) -> int:
    """Parameters of a ConvBNAct: the bias-free conv and its batch norm's scale and shift."""
    return cout * (cin // groups) * kernel * kernel + 2 * cout


def _biased(cin: int, cout: int, kernel: int, groups: int = 1) -> int:
    """Parameters of a plain conv with bias and no batch norm (ConvNeXt's layers)."""
    return cout * (cin // groups) * kernel * kernel + cout


def _se(hidden: int, cin: int, ratio: float, squeeze: int | None = None) -> tuple[int, int]:
    """(params, activations) of a SqueezeExcite on ``hidden`` channels squeezing relative to ``cin``
    (int(cin x ratio), or ``squeeze`` channels when given)."""
    if ratio <= 0:
        return 0, 0
    squeeze = max(1, int(cin * ratio)) if squeeze is None else squeeze
    return 2 * hidden * squeeze + squeeze + hidden, squeeze + hidden  # two biased 1x1 convs on a 1x1 map


def _block(kind: str, stage: Any, cin: int, side: int, stride: int) -> tuple[int, int, int, int]:
    """(params, activations, widest channels, output side) of one block, as scalesearch.nn.blocks builds it."""
    cout, k, e = stage.channels, stage.kernel, stage.expansion
    out = _out(side, k, stride)
    a_in, a_out = side * side, out * out
    if kind in ("mbconv", "inverted_residual"):  # [expand 1x1], depthwise kxk, [SE], project 1x1
        hidden = round(cin * e)
        se_p, se_a = _se(hidden, cin, stage.se_ratio)
        p = (_conv(cin, hidden, 1) if hidden != cin else 0) + _conv(hidden, hidden, k, hidden) + se_p
        a = (hidden * a_in if hidden != cin else 0) + hidden * a_out + se_a + cout * a_out
        return p + _conv(hidden, cout, 1), a, max(hidden, cout), out
    if kind == "fused_mbconv":  # expand kxk, [SE], project 1x1; or one kxk conv when nothing expands
        hidden = round(cin * e)
        if hidden == cin:
            return _conv(cin, cout, k), cout * a_out, cout, out
        se_p, se_a = _se(hidden, cin, stage.se_ratio)
        return (_conv(cin, hidden, k) + se_p + _conv(hidden, cout, 1), hidden * a_out + se_a + cout * a_out,
                max(hidden, cout), out)
    if kind == "depthwise_separable":  # depthwise kxk, pointwise 1x1
        return _conv(cin, cin, k, cin) + _conv(cin, cout, 1), (cin + cout) * a_out, max(cin, cout), out
    if kind == "bottleneck":  # 1x1 to mid, kxk (strided), 1x1 to cout; 1x1 projection shortcut on a change
        mid = max(1, int(cout / e))
        p = _conv(cin, mid, 1) + _conv(mid, mid, k) + _conv(mid, cout, 1)
        a = mid * a_in + mid * a_out + cout * a_out
        if stride != 1 or cin != cout:
            p, a = p + _conv(cin, cout, 1), a + cout * _out(side, 1, stride) ** 2
        return p, a, max(mid, cout), out
    if kind == "regnet_y":  # 1x1 to the bottleneck, grouped kxk (strided), SE, 1x1; projection on a change
        mid = stage.bottleneck
        se_p, se_a = _se(mid, cin, stage.se_ratio, max(1, int(round(cin * stage.se_ratio))))
        p = _conv(cin, mid, 1) + _conv(mid, mid, k, mid // stage.group_width) + se_p + _conv(mid, cout, 1)
        a = mid * a_in + mid * a_out + se_a + cout * a_out
        if stride != 1 or cin != cout:
            p, a = p + _conv(cin, cout, 1), a + cout * _out(side, 1, stride) ** 2
        return p, a, max(mid, cout), out
    if kind == "convnext":  # [LayerNorm + stride x stride conv], depthwise kxk, LayerNorm, 1x1 up, 1x1 down
        p = a = 0
        if stride != 1 or cin != cout:
            out = _out(side, stride, stride, padding=0)
            p, a = 2 * cin + _biased(cin, cout, stride), cout * out * out
        else:
            out = side
        hidden, a_out = round(cout * e), out * out
        p += _biased(cout, cout, k, cout) + 2 * cout + _biased(cout, hidden, 1) + _biased(hidden, cout, 1)
        a += (cout + hidden + cout) * a_out
        return p + (cout if stage.layer_scale > 0 else 0), a, max(hidden, cout), out
    return _conv(cin, cout, k), cout * a_out, cout, out  # conv


def estimate(spec: Any, resolution: int | None = None) -> SizeEstimate:
    """Size of a NetSpec from its fields alone, in closed form per stage: the first block of a stage, plus
    ``layers - 1`` times the repeated one; at ``resolution`` px instead of the spec's when given. Call
    ``check`` first (NetSpec does): it bounds every integer. A builder's network (core.builderspec) brings its
    own size, counted on the meta device at its own input size."""
    measured = getattr(spec, "measured_size", None)
    if measured is not None:
        size: SizeEstimate = measured()
        return size
    stem, stages = spec.stem, spec.stages
    pixels = spec.resolution if resolution is None else resolution
    if stem.patchify:  # a biased kxk stride-k conv without padding, then a LayerNorm
        side = _out(pixels, stem.kernel, stem.stride, padding=0)
        params = _biased(3, stem.channels, stem.kernel) + 2 * stem.channels
    else:
        side = _out(pixels, stem.kernel, stem.stride)
        params = _conv(3, stem.channels, stem.kernel)
    acts, widest = stem.channels * side * side, stem.channels
    if stem.max_pool:  # MaxPool2d(3, 2, 1)
        side = _out(side, 3, 2)
    cin = stem.channels
    for s in stages:
        kind = str(getattr(s.block, "value", s.block))
        p1, a1, w1, side = _block(kind, s, cin, side, s.stride)
        pn, an, wn, _ = _block(kind, s, s.channels, side, 1)
        params, acts = params + p1 + (s.layers - 1) * pn, acts + a1 + (s.layers - 1) * an
        widest, cin = max(widest, w1, wn if s.layers > 1 else 0), s.channels
    if spec.head.channels:
        params, acts = params + _conv(cin, spec.head.channels, 1), acts + spec.head.channels * side * side
        widest, cin = max(widest, spec.head.channels), spec.head.channels
    if spec.head.layer_norm:  # on the pooled features
        params += 2 * cin
    params, acts = params + cin * spec.num_classes + spec.num_classes, acts + spec.num_classes
    return SizeEstimate(sum(s.layers for s in stages), pixels, widest, acts, params, side)


def smallest_resolution(spec: Any) -> int:
    """The fewest pixels at which ``spec``'s downsampling leaves a feature map (side >= 1). Only layers without
    padding (a patchify stem, ConvNeXt's downsampling) can leave none; the side grows with the input."""
    lo, hi = 1, max(1, spec.resolution)
    while estimate(spec, hi).side < 1:
        lo, hi = hi + 1, hi * 2
    while lo < hi:  # the first px in [lo, hi] with a pixel left
        mid = (lo + hi) // 2
        lo, hi = (lo, mid) if estimate(spec, mid).side >= 1 else (mid + 1, hi)
    return lo


def check(spec: Any) -> SizeEstimate:
    """SizeError (one line: the size, the limit, the variable that raises it) if ``spec`` is beyond a
    structural limit. Exact integer tests, in an order that keeps every later one finite. Returns the
    estimate it checked. A builder's network is held to the same limits on its counted module (its layers
    are conv and linear layers)."""
    for name in LIMITS:  # a bad value in any limit variable is refused on every spec, not only where it is used
        limit(name)
    if getattr(spec, "measured_size", None) is not None:
        size = estimate(spec)
        _refuse_over(spec, "layers", size.layers, "conv and linear layers")
        _refuse_over(spec, "resolution", size.resolution, "px input")
        _refuse_over(spec, "channels", size.channels, "channels in its widest layer")
        return size
    stem, stages = spec.stem, spec.stages
    _refuse_over(spec, "layers", sum(s.layers for s in stages), "layers")
    _refuse_over(spec, "resolution", spec.resolution, "px input")
    windows = [stem.kernel, stem.stride] + [n for s in stages for n in (s.kernel, s.stride)]
    _refuse_over(spec, "resolution", max(windows), "px kernel or stride")
    _refuse_over(spec, "channels", max([stem.channels, spec.head.channels] + [s.channels for s in stages]),
                 "channels in its widest layer")
    _refuse_over(spec, "channels", spec.num_classes, "classes (the classifier's width)")
    size = estimate(spec)
    _refuse_over(spec, "channels", size.channels, "channels in its widest layer")
    return size


def over_memory(spec: Any, batch: int = 1, training: bool = False) -> str | None:
    """None when work on real tensors with ``spec`` at ``batch`` fits the memory limits; else why not, as a
    phrase naming the size, the limit and its variable."""
    size = estimate(spec)
    factor = TRAINING_FACTOR if training else 1
    kept = f" x {factor} kept for the backward pass" if training else ""
    per = f" ({_short(size.activations)} per image x batch {batch:,}{kept})" if batch != 1 or training else ""
    for name, value, what in (("activations", size.activations * batch * factor, "activation elements held" + per),
                              ("params", size.params * factor, "parameters" + (f" x {factor}" if training else ""))):
        cap = limit(name)
        if value > cap:
            return f"{_short(value)} {what}, over the limit of {_short(cap)} ({LIMITS[name][0]})"
    return None


def check_memory(spec: Any, batch: int = 1, training: bool = False, doing: str = "run") -> None:
    """SizeError (one line) if ``spec`` at ``batch`` is beyond the memory limits: call before allocating.
    ``doing`` names the work in the message: 'time', 'train', 'count'."""
    reason = over_memory(spec, batch, training)
    if reason is not None:
        raise SizeError(f"{_name(spec)} is too big to {doing} in memory: {reason}; lower the batch or the "
                        "network's size, or raise the limit")


def _name(spec: Any) -> str:
    return f"spec {str(spec.name)[:60]!r}"


def _refuse_over(spec: Any, name: str, value: int, what: str) -> None:
    cap = limit(name)
    if value > cap:
        raise SizeError(f"{_name(spec)} is too big to build or count: {_short(value)} {what}, over the limit of "
                        f"{_short(cap)}; lower the multipliers, or set {LIMITS[name][0]} to raise the limit")


def _short(x: int) -> str:
    if x < 10**7:
        return f"{x:,}"
    if x.bit_length() > 1000:  # beyond float range (layers from --depth 1e300); str() of a huge int is refused
        return f"~1e{int(x.bit_length() * math.log10(2))}"
    return f"{float(x):.2g}"
