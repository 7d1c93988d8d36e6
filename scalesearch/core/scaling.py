"""Compound scaling as pure functions (EfficientNet section 3.3).

compound() turns (alpha, beta, gamma, phi) into depth, width and resolution multipliers; scale() applies
three multipliers to a spec under a named rounding policy and returns a new spec. Nothing here mutates or
trains: cost is measured on the result by scalesearch.measure, because rounding moves it far from 2^phi.
"""

from __future__ import annotations

import dataclasses
import math
from collections.abc import Callable
from dataclasses import dataclass

from scalesearch.core.builderspec import BuilderSpec, ModuleFacts
from scalesearch.core.errors import FieldError, SizeError, SpecError
from scalesearch.core.spec import BlockKind, NetSpec, ScalingRecord, StageSpec

MIN_CHANNELS = 8
MIN_RESOLUTION = 32  # one pixel left after the usual stride-32 downsampling


def compound(alpha: float, beta: float, gamma: float, phi: float) -> tuple[float, float, float]:
    """Return (depth, width, resolution) = (alpha^phi, beta^phi, gamma^phi).

    Invariant: FLOPs scale by about (alpha * beta^2 * gamma^2)^phi before rounding; the paper constrains
    alpha * beta^2 * gamma^2 ~= 2 with alpha, beta, gamma >= 1 so that each unit of phi doubles FLOPs.
    """
    for name, value in (("alpha", alpha), ("beta", beta), ("gamma", gamma)):
        if not math.isfinite(value) or value <= 0:
            raise FieldError(name, value, "must be a positive number (the paper uses values >= 1)")
    if not math.isfinite(phi):
        raise FieldError("phi", phi, "must be a finite number")
    try:
        return alpha**phi, beta**phi, gamma**phi
    except OverflowError:
        raise FieldError("phi", phi, "too large: a multiplier overflows") from None


@dataclass(frozen=True)
class RoundingPolicy:
    """How multiplied channel counts, layer counts and resolutions become integers.

    width: channels * w to the nearest multiple of ``width_divisor`` (at least ``width_divisor``), plus one
    divisor if that lands below ``width_guard`` of the exact value (the TF/timm/torchvision rule).
    depth: ``ceil`` (EfficientNet, timm default, torchvision) or ``round`` (pycls) of layers * d, >= 1.
    resolution: pixels * r to the nearest multiple of ``resolution_divisor``; 4 reproduces every released
    EfficientNet resolution (240, 260, 300, 380, 456, 528, 600 are all multiples of 4), as in pycls.
    stem: scaled like the stages when ``scale_stem``, else kept.
    Whatever the policy, a regnet_y stage's width is then fitted to its group width (:func:`fit_groups`).
    """

    name: str
    depth: str = "ceil"
    width_divisor: int = 8
    width_guard: float = 0.9
    resolution_divisor: int = 4
    scale_stem: bool = True

    def channels(self, channels: int, width: float) -> int:
        exact = channels * width
        d = self.width_divisor
        rounded = max(max(d, MIN_CHANNELS), int(exact + d / 2) // d * d)
        if rounded < self.width_guard * exact:
            rounded += d
        return rounded

    def layers(self, layers: int, depth: float) -> int:
        exact = layers * depth
        # A tiny tolerance keeps 2 * 1.1 from ceiling to 3 when float error makes it 2.2000000000000002:
        # only the layer count the user asked for should be rounded, not the binary representation.
        if self.depth == "ceil":
            return max(1, math.ceil(exact - 1e-9))
        return max(1, math.floor(exact + 0.5))

    def resolution(self, pixels: int, multiplier: float) -> int:
        d = self.resolution_divisor
        return max(MIN_RESOLUTION, int(pixels * multiplier / d + 0.5) * d)


def make_divisible(value: float, divisor: int) -> int:
    """``value`` to the nearest multiple of ``divisor`` (ties up, at least ``divisor``), plus one divisor if
    that lands below 90% of it: torchvision's ``_make_divisible``, the TF reference's rule."""
    rounded = max(divisor, int(value + divisor / 2) // divisor * divisor)
    return rounded + divisor if rounded < 0.9 * value else rounded


def fit_groups(channels: int, expansion: float, group_width: int) -> tuple[int, int]:
    """RegNet's width/group compatibility: (channels, group width) such that a regnet_y block's bottleneck,
    round(channels / expansion), is a whole number of groups. The group width is clamped to the bottleneck
    and the bottleneck moved to a multiple of it by :func:`make_divisible` (torchvision
    ``BlockParams._adjust_widths_groups_compatibilty``; pycls ``adjust_block_compatibility`` rounds the same
    way to the nearest multiple). This is how RegNetY-800MF's first stage becomes 64 wide (w_0 = 56, g = 16).
    For expansion >= 1, round(round(b x expansion) / expansion) == b, so the result always validates."""
    bottleneck = max(1, int(round(channels / expansion)))
    group_width = min(group_width, bottleneck)
    bottleneck = make_divisible(bottleneck, group_width)
    return int(round(bottleneck * expansion)), group_width


POLICIES: dict[str, RoundingPolicy] = {
    "efficientnet": RoundingPolicy("efficientnet", depth="ceil"),
    "nearest": RoundingPolicy("nearest", depth="round"),
    # pycls's scaler (Dollar et al. 2021, pycls/models/scaler.py), the rule RegNets are scaled by: depth
    # round(d x layers) >= 1, widths round(w x channels / 8) x 8 with no 90% guard, the stem kept (torchvision
    # builds every RegNet, 400MF to 128GF, on the same 32-channel stem), resolution to a multiple of 4.
    "regnet": RoundingPolicy("regnet", depth="round", width_guard=0.0, scale_stem=False),
}
DEFAULT_POLICY = "efficientnet"


def policy(name: str | RoundingPolicy) -> RoundingPolicy:
    """Look up a rounding policy by name (or pass one through)."""
    if isinstance(name, RoundingPolicy):
        return name
    try:
        return POLICIES[name]
    except KeyError:
        raise FieldError("policy", name, f"not a rounding policy; choose one of {', '.join(POLICIES)}") from None


def scale(
    spec: NetSpec,
    depth: float = 1.0,
    width: float = 1.0,
    resolution: float = 1.0,
    policy: str | RoundingPolicy = DEFAULT_POLICY,
    *,
    image_size: int | None = None,
    coefficients: tuple[float, float, float, float] | None = None,
    name: str | None = None,
    max_resolution: int | None = None,
) -> NetSpec:
    """Return a new spec with depth, width and resolution multiplied and rounded by ``policy``.

    Invariants: the input is not changed; the stem, every stage and the head keep their block kind,
    kernel, stride and expansion; every stage keeps >= 1 layer and >= 8 channels; resolution >= 32 px; a
    regnet_y stage's bottleneck stays a whole number of groups (its group width only shrinks, to the
    bottleneck's width, where the stage becomes narrower than one group).
    ``image_size`` sets pixels directly instead of multiplying (the released B1..B7 use a hand table).
    ``max_resolution`` caps the pixels (EfficientNetV2 caps inference resolution at 480): beyond it only
    depth and width keep growing; the cap is recorded, and the achieved resolution shows where it bit.
    ``coefficients`` (alpha, beta, gamma, phi) are only recorded. The record's achieved values are
    measured on the rounded result, so they differ from the request wherever rounding bites.
    """
    if isinstance(spec, BuilderSpec):
        raise SpecError(f"{spec.name} is a builder's network: scale it with scalesearch.nn.scale_network, which calls "
                        "the builder")
    pol = _checked(policy, depth, width, resolution, image_size, max_resolution)

    try:  # a finite multiplier times a layer count can still overflow to infinity (--depth 4e307)
        stages = tuple(_scaled_stage(s, pol, depth, width) for s in spec.stages)
        stem = spec.stem
        if pol.scale_stem:
            stem = dataclasses.replace(stem, channels=pol.channels(stem.channels, width))
        head = spec.head
        if head.channels:
            head = dataclasses.replace(head, channels=pol.channels(head.channels, width))
        pixels = _pixels(pol, spec.resolution, resolution, image_size, max_resolution)
    except OverflowError:
        raise FieldError("depth" if depth > 1e300 else "width" if width > 1e300 else "resolution",
                         max(depth, width, resolution), "too large: the scaled network is beyond any size limit"
                         ) from None

    base_layers = spec.total_layers
    base_channels = sum(s.channels for s in spec.stages)
    record = ScalingRecord(
        base=spec.name,
        policy=pol.name,
        depth=_tidy(depth),
        width=_tidy(width),
        resolution=_tidy(resolution if image_size is None else image_size / spec.resolution),
        depth_achieved=round(sum(s.layers for s in stages) / base_layers, 6),
        width_achieved=round(sum(s.channels for s in stages) / base_channels, 6),
        resolution_achieved=round(pixels / spec.resolution, 6),
        max_resolution=max_resolution,
    )
    if coefficients is not None:
        a, b, g, p = coefficients
        record = dataclasses.replace(record, alpha=a, beta=b, gamma=g, phi=p)
    try:
        return dataclasses.replace(
            spec, name=name or _scaled_name(spec.name, record), stem=stem, stages=stages, head=head,
            resolution=pixels, scaling=record,
        )
    except SizeError:  # a valid network beyond a size limit: its own message says which and how to raise it
        raise
    except SpecError as exc:  # the floors above keep every field valid, but not every resolution: a network
        # whose downsampling does not pad (ConvNeXt's) needs a minimum (32 px for ConvNeXt)
        raise SpecError(f"scaling {spec.name}: {exc}") from None


def _scaled_stage(stage: StageSpec, pol: RoundingPolicy, depth: float, width: float) -> StageSpec:
    """One stage at ``depth`` and ``width`` under ``pol``; a regnet_y stage's width is then fitted to its group
    width (:func:`fit_groups`) before the stage is built, so it always validates."""
    channels, group_width = pol.channels(stage.channels, width), stage.group_width
    if stage.block is BlockKind.REGNET_Y:
        channels, group_width = fit_groups(channels, stage.expansion, group_width)
    return dataclasses.replace(stage, channels=channels, layers=pol.layers(stage.layers, depth),
                               group_width=group_width)


def _checked(policy_name: str | RoundingPolicy, depth: float, width: float, resolution: float,
             image_size: int | None, max_resolution: int | None) -> RoundingPolicy:
    """The policy, once every multiplier and pixel count of a request is checked (a FieldError names it)."""
    pol = policy(policy_name)
    for label, value in (("depth", depth), ("width", width), ("resolution", resolution)):
        if not isinstance(value, (int, float)) or not math.isfinite(value) or value <= 0:
            raise FieldError(label, value, "the multiplier must be a positive number")
    if image_size is not None and (not isinstance(image_size, int) or image_size < 8):
        raise FieldError("image_size", image_size, "must be an integer number of pixels >= 8")
    if max_resolution is not None and (isinstance(max_resolution, bool) or not isinstance(max_resolution, int)
                                       or max_resolution < MIN_RESOLUTION):
        raise FieldError("max_resolution", max_resolution, f"must be an integer number of pixels >= {MIN_RESOLUTION}")
    return pol


def _pixels(pol: RoundingPolicy, base: int, resolution: float, image_size: int | None,
            max_resolution: int | None) -> int:
    pixels = image_size if image_size is not None else pol.resolution(base, resolution)
    return min(pixels, max_resolution) if max_resolution is not None else pixels


BuilderCounter = Callable[[float, float, int, int], tuple[ModuleFacts, int]]
"""(depth, width, num_classes, px) -> (the built module's facts, activations per image at px): what
scalesearch.nn.builder counts on the meta device for ``scale_builder``."""


def scale_builder(
    spec: BuilderSpec,
    depth: float = 1.0,
    width: float = 1.0,
    resolution: float = 1.0,
    policy: str | RoundingPolicy = DEFAULT_POLICY,
    *,
    count: BuilderCounter,
    image_size: int | None = None,
    coefficients: tuple[float, float, float, float] | None = None,
    name: str | None = None,
    max_resolution: int | None = None,
    num_classes: int | None = None,
) -> BuilderSpec:
    """``scale`` for a builder's network: the builder is asked for ``spec.depth x depth`` and ``spec.width x
    width`` (it rounds layers and channels itself); pixels are rounded by ``policy`` as for any spec.
    ``count`` builds and counts the result (scalesearch.nn.builder passes it; this module imports no torch).

    The record's achieved multipliers are measured on the built module against ``spec``'s: depth is the ratio
    of conv and linear layers, width the ratio of their mean output channels, ``params_factor`` the ratio of
    parameters. ``num_classes`` builds the network for another class count (a proxy on a dataset)."""
    pol = _checked(policy, depth, width, resolution, image_size, max_resolution)
    classes = spec.num_classes if num_classes is None else num_classes
    pixels = _pixels(pol, spec.resolution, resolution, image_size, max_resolution)
    asked_depth, asked_width = _tidy(spec.depth * depth), _tidy(spec.width * width)
    facts, activations = count(asked_depth, asked_width, classes, pixels)
    base = spec.module
    record = ScalingRecord(
        base=spec.name,
        policy=pol.name,
        depth=_tidy(depth),
        width=_tidy(width),
        resolution=_tidy(resolution if image_size is None else image_size / spec.resolution),
        depth_achieved=round(facts.layers / base.layers, 6) if base.layers else 1.0,
        width_achieved=round(facts.mean_width / base.mean_width, 6) if base.mean_width else 1.0,
        resolution_achieved=round(pixels / spec.resolution, 6),
        max_resolution=max_resolution,
        params_factor=round(facts.params / base.params, 6) if base.params else None,
    )
    if coefficients is not None:
        a, b, g, p = coefficients
        record = dataclasses.replace(record, alpha=a, beta=b, gamma=g, phi=p)
    return BuilderSpec(name=name or _scaled_name(spec.name, record), builder=spec.builder, depth=asked_depth,
                       width=asked_width, resolution=pixels, num_classes=classes, module=facts,
                       activations=activations, scaling=record)


def _tidy(x: float) -> float:
    """1.7279999999999998 -> 1.728 in records and files; 12 significant digits are far below any rounding."""
    return float(f"{x:.12g}")


def _scaled_name(base: str, r: ScalingRecord) -> str:
    if r.phi is not None:
        return f"{base}-phi{r.phi:g}"
    return f"{base}-d{r.depth:g}-w{r.width:g}-r{r.resolution:g}"

