"""Network specs: the one description of a network that scaling, building, measuring and files share.

A spec is a stem, a tuple of stages and a head, plus the input resolution and training-time settings.
Every field is validated on construction; errors name the field. Specs are frozen: scaling returns a new
spec. ``to_dict``/``from_dict`` give the file format that ``scale`` writes and users write by hand.
"""

from __future__ import annotations

import dataclasses
import hashlib
import json
import reprlib
from dataclasses import dataclass, field
from enum import Enum, StrEnum
from typing import Any

from scalesearch.core import limits
from scalesearch.core.errors import SpecError

SPEC_FORMAT_VERSION = 1


class BlockKind(StrEnum):
    """The block types a stage can repeat."""

    CONV = "conv"  # conv-bn-act
    MBCONV = "mbconv"  # EfficientNet: expand 1x1, depthwise kxk, squeeze-excite, project 1x1
    FUSED_MBCONV = "fused_mbconv"  # EfficientNetV2: expand kxk (fused), project 1x1
    DEPTHWISE_SEPARABLE = "depthwise_separable"  # MobileNetV1: depthwise kxk, pointwise 1x1
    INVERTED_RESIDUAL = "inverted_residual"  # MobileNetV2: MBConv without squeeze-excite
    BOTTLENECK = "bottleneck"  # ResNet v1.5: 1x1 reduce, kxk (strided), 1x1 expand
    REGNET_Y = "regnet_y"  # RegNet-Y: 1x1, grouped kxk (strided), squeeze-excite, 1x1; projection shortcut
    CONVNEXT = "convnext"  # ConvNeXt: [downsample], depthwise 7x7, LayerNorm, 1x1 up, GELU, 1x1 down, layer scale


class Activation(StrEnum):
    SILU = "silu"
    RELU = "relu"
    RELU6 = "relu6"
    GELU = "gelu"  # ConvNeXt's (exact, not the tanh approximation)


_REPR = reprlib.Repr()
_REPR.maxlevel, _REPR.maxstring, _REPR.maxother = 3, 60, 60
_REPR.maxtuple = _REPR.maxlist = _REPR.maxdict = _REPR.maxset = _REPR.maxfrozenset = 6


def preview(value: Any, limit: int = 80) -> str:
    """``repr(value)`` as a short preview, so a message never echoes a huge value (a spec field can hold
    whatever a file says). Short values read exactly as ``repr``; the cost is bounded whatever the value."""
    text = _REPR.repr(value)
    return text if len(text) <= limit else text[: limit - 3] + "..."


def _fail(owner: str, name: str, value: Any, need: str) -> SpecError:
    return SpecError(f"{owner}.{name} = {preview(value)}: {need}")


def _check_int(owner: str, name: str, value: Any, minimum: int) -> None:
    if isinstance(value, bool) or not isinstance(value, int) or value < minimum:
        raise _fail(owner, name, value, f"must be an integer >= {minimum}")


def _check_float(owner: str, name: str, value: Any, lo: float, hi: float, hi_open: bool = False) -> None:
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        raise _fail(owner, name, value, "must be a number")
    if value < lo or value > hi or (hi_open and value == hi):
        raise _fail(owner, name, value, f"must lie in [{lo}, {hi}{')' if hi_open else ']'}")


@dataclass(frozen=True)
class StemSpec:
    """The first convolution (conv-bn-act), optionally followed by a 3x3 stride-2 max pool (ResNet).

    ``patchify``: ConvNeXt's stem instead (Liu et al. 2022, section 2.2 'Changing stem to Patchify'):
    non-overlapping ``kernel`` x ``kernel`` patches (stride = kernel, no padding), a convolution with bias and a
    LayerNorm, no activation.
    """

    channels: int
    kernel: int = 3
    stride: int = 2
    max_pool: bool = False
    patchify: bool = False

    def __post_init__(self) -> None:
        _check_int("stem", "channels", self.channels, 1)
        _check_int("stem", "kernel", self.kernel, 1)
        _check_int("stem", "stride", self.stride, 1)
        if not isinstance(self.max_pool, bool):
            raise _fail("stem", "max_pool", self.max_pool, "must be true or false")
        if not isinstance(self.patchify, bool):
            raise _fail("stem", "patchify", self.patchify, "must be true or false")
        if self.patchify and self.stride != self.kernel:
            raise _fail("stem", "stride", self.stride, f"a patchify stem's stride equals its kernel ({self.kernel})")
        if self.patchify and self.max_pool:
            raise _fail("stem", "max_pool", self.max_pool, "a patchify stem has no max pool")


@dataclass(frozen=True)
class StageSpec:
    """``layers`` repeats of one block kind; the first block has ``stride``, the rest stride 1.

    ``expansion`` is the block's own ratio: hidden/input channels for MBConv, Fused-MBConv, inverted
    residuals and ConvNeXt (4 in ConvNeXt); output/bottleneck channels for the ResNet bottleneck (4 in
    ResNet-50) and RegNet-Y (the paper's bottleneck ratio b, 1 in RegNet-Y); unused (keep 1) for conv and
    depthwise-separable. ``se_ratio`` squeezes to se_ratio x the block's input channels (0 disables
    squeeze-excite; RegNet-Y uses 0.25, ConvNeXt has none).

    Two fields belong to one kind each and stay at 0 elsewhere:
    ``group_width`` (regnet_y): channels per group of the grouped kxk conv, so groups = bottleneck width /
    group_width (Radosavovic et al. 2020, 'Designing Network Design Spaces', the X block's g); the
    bottleneck width must be a multiple of it. ``layer_scale`` (convnext): the initial value of the
    per-channel scale on the residual branch (Touvron et al. 2021; ConvNeXt uses 1e-6); 0: no layer scale.
    """

    block: BlockKind
    channels: int
    layers: int
    kernel: int = 3
    stride: int = 1
    expansion: float = 1.0
    se_ratio: float = 0.0
    group_width: int = 0
    layer_scale: float = 0.0

    def __post_init__(self) -> None:
        if not isinstance(self.block, BlockKind):
            try:
                if not isinstance(self.block, str):
                    raise ValueError(self.block)  # an enum's own error would format the whole value
                object.__setattr__(self, "block", BlockKind(self.block))
            except ValueError:
                kinds = ", ".join(k.value for k in BlockKind)
                raise _fail("stage", "block", self.block, f"must be one of {kinds}") from None
        _check_int("stage", "channels", self.channels, 1)
        _check_int("stage", "layers", self.layers, 1)
        _check_int("stage", "kernel", self.kernel, 1)
        if self.kernel % 2 == 0:
            raise _fail("stage", "kernel", self.kernel, "must be odd (padding keeps the size)")
        _check_int("stage", "stride", self.stride, 1)
        _check_float("stage", "expansion", self.expansion, 1.0, 64.0)
        _check_float("stage", "se_ratio", self.se_ratio, 0.0, 1.0)
        _check_int("stage", "group_width", self.group_width, 0)
        _check_float("stage", "layer_scale", self.layer_scale, 0.0, 1.0)
        if self.block is BlockKind.REGNET_Y:
            if self.group_width < 1:
                raise _fail("stage", "group_width", self.group_width,
                            "a regnet_y stage needs the channels per group of its grouped conv (>= 1)")
            if self.bottleneck % self.group_width:
                raise _fail("stage", "group_width", self.group_width,
                            f"must divide the bottleneck width {self.bottleneck} (channels / expansion)")
        elif self.group_width:
            raise _fail("stage", "group_width", self.group_width, "only regnet_y stages have grouped convs (leave 0)")
        if self.block is BlockKind.CONVNEXT:
            if self.se_ratio:
                raise _fail("stage", "se_ratio", self.se_ratio, "a convnext block has no squeeze-excite (leave 0)")
        elif self.layer_scale:
            raise _fail("stage", "layer_scale", self.layer_scale, "only convnext stages have a layer scale (leave 0)")

    @property
    def bottleneck(self) -> int:
        """RegNet-Y's (and ResNeXt's) inner width: round(channels / expansion), at least 1 (torchvision's
        ``w_b = int(round(width_out * bottleneck_multiplier))``, multiplier = 1 / expansion)."""
        return max(1, int(round(self.channels / self.expansion)))


@dataclass(frozen=True)
class HeadSpec:
    """A final 1x1 conv-bn-act to ``channels`` (0: none, as in ResNet and MobileNetV1), then global
    average pooling, dropout and the linear classifier. ``layer_norm``: a LayerNorm on the pooled features
    before the classifier (ConvNeXt's head)."""

    channels: int = 0
    layer_norm: bool = False

    def __post_init__(self) -> None:
        _check_int("head", "channels", self.channels, 0)
        if not isinstance(self.layer_norm, bool):
            raise _fail("head", "layer_norm", self.layer_norm, "must be true or false")


@dataclass(frozen=True)
class ScalingRecord:
    """How a spec was derived from a baseline: multipliers requested, achieved after rounding, policy.

    Achieved depth is total layers over the baseline's; achieved width is total stage channels over the
    baseline's; achieved resolution is pixels over the baseline's pixels.
    """

    base: str
    policy: str
    depth: float
    width: float
    resolution: float
    depth_achieved: float
    width_achieved: float
    resolution_achieved: float
    alpha: float | None = None
    beta: float | None = None
    gamma: float | None = None
    phi: float | None = None
    strategy: str | None = None  # a named strategy (scalesearch.core.strategies) gave alpha, beta, gamma
    max_resolution: int | None = None  # the cap on pixels (EfficientNetV2 caps inference resolution)
    flops_factor: float | None = None  # measured multiply-adds / the baseline's (recorded by `scale`)
    params_factor: float | None = None  # measured parameters / the baseline's (a builder's network: core.builderspec)


@dataclass(frozen=True)
class NetSpec:
    """A whole network. ``resolution`` is the deployment input size in pixels (square)."""

    name: str
    stem: StemSpec
    stages: tuple[StageSpec, ...]
    head: HeadSpec = field(default_factory=HeadSpec)
    resolution: int = 224
    num_classes: int = 1000
    activation: Activation = Activation.SILU
    dropout: float = 0.0
    drop_path: float = 0.0
    scaling: ScalingRecord | None = None

    def __post_init__(self) -> None:
        if not isinstance(self.name, str) or not self.name:
            raise _fail("spec", "name", self.name, "must be a non-empty string")
        if not isinstance(self.activation, Activation):
            try:
                if not isinstance(self.activation, str):
                    raise ValueError(self.activation)  # an enum's own error would format the whole value
                object.__setattr__(self, "activation", Activation(self.activation))
            except ValueError:
                acts = ", ".join(a.value for a in Activation)
                raise _fail("spec", "activation", self.activation, f"must be one of {acts}") from None
        object.__setattr__(self, "stages", tuple(self.stages))
        if not self.stages:
            raise _fail("spec", "stages", self.stages, "needs at least one stage")
        for i, s in enumerate(self.stages):
            if not isinstance(s, StageSpec):
                raise _fail("spec", f"stages[{i}]", s, "must be a StageSpec")
        _check_int("spec", "resolution", self.resolution, 8)
        _check_int("spec", "num_classes", self.num_classes, 2)
        _check_float("spec", "dropout", self.dropout, 0.0, 1.0, hi_open=True)
        _check_float("spec", "drop_path", self.drop_path, 0.0, 1.0, hi_open=True)
        if limits.check(self).side < 1:  # before anything is built or counted
            need = limits.smallest_resolution(self)
            raise _fail("spec", "resolution", self.resolution, "too small for this network, whose downsampling "
                        f"leaves no pixel before the classifier: it needs at least {need} px")

    # -- derived facts -------------------------------------------------------------------------
    @property
    def total_layers(self) -> int:
        return sum(s.layers for s in self.stages)

    @property
    def feature_channels(self) -> int:
        """Channels entering the classifier."""
        return self.head.channels or self.stages[-1].channels

    def architecture_key(self) -> str:
        """A stable hash of everything that changes the network's structure and cost.

        Name, dropout, drop-path and the scaling record are left out: two coefficient triples that round
        to the same network share one key, which is what caching and collapse groups rely on.
        """
        arch = to_dict(self)
        for k in ("name", "dropout", "drop_path", "scaling", "format"):
            arch.pop(k, None)
        blob = json.dumps(arch, sort_keys=True, separators=(",", ":"))
        return hashlib.sha256(blob.encode()).hexdigest()[:16]


# -- dict round trip ---------------------------------------------------------------------------

def _plain(value: Any) -> Any:
    if isinstance(value, Enum):
        return value.value
    if isinstance(value, tuple):
        return [_plain(v) for v in value]
    return value


# Fields added after spec files existed: written only when set, so every spec without them keeps the file and
# the architecture key it had (the cost cache and the proxy-run cache are keyed by it).
_WRITTEN_WHEN_SET = {"patchify": False, "group_width": 0, "layer_scale": 0.0, "layer_norm": False}


def _part(obj: Any) -> dict[str, Any]:
    return {k: _plain(getattr(obj, k)) for k in _fields(type(obj))
            if not (k in _WRITTEN_WHEN_SET and getattr(obj, k) == _WRITTEN_WHEN_SET[k])}


def to_dict(spec: NetSpec) -> dict[str, Any]:
    """A JSON/YAML-ready dict. Keys follow the dataclass fields (the kind-specific ones only when set); enums
    become their string values."""
    out: dict[str, Any] = {"format": SPEC_FORMAT_VERSION, "name": spec.name}
    out["resolution"] = spec.resolution
    out["num_classes"] = spec.num_classes
    out["activation"] = spec.activation.value
    out["dropout"] = spec.dropout
    out["drop_path"] = spec.drop_path
    out["stem"] = _part(spec.stem)
    out["stages"] = [_part(s) for s in spec.stages]
    out["head"] = _part(spec.head)
    if spec.scaling is not None:
        out["scaling"] = {k: v for k, v in dataclasses.asdict(spec.scaling).items() if v is not None}
    return out


def _fields(cls: type) -> list[str]:
    return [f.name for f in dataclasses.fields(cls)]


def _build(cls: type, data: Any, where: str) -> Any:
    if not isinstance(data, dict):
        raise SpecError(f"{where}: expected a mapping, got {type(data).__name__}")
    known = set(_fields(cls))
    unknown = sorted(set(data) - known, key=str)
    if unknown:
        raise SpecError(f"{where}: unknown field {preview(unknown[0])} (known: {', '.join(sorted(known))})")
    try:
        return cls(**data)
    except TypeError as exc:  # a missing required field
        missing = [f.name for f in dataclasses.fields(cls)
                   if f.default is dataclasses.MISSING and f.default_factory is dataclasses.MISSING
                   and f.name not in data]
        raise SpecError(f"{where}: missing field {missing[0]!r}" if missing else f"{where}: {exc}") from None
    except SpecError as exc:
        raise SpecError(f"{where}: {exc}") from None


def from_dict(data: Any) -> NetSpec:
    """Inverse of :func:`to_dict`; raises SpecError naming the offending field."""
    if not isinstance(data, dict):
        raise SpecError(f"spec: expected a mapping at the top level, got {type(data).__name__}")
    data = dict(data)
    version = data.pop("format", SPEC_FORMAT_VERSION)
    if version != SPEC_FORMAT_VERSION:
        raise SpecError(f"spec.format = {preview(version)}: this scalesearch reads format {SPEC_FORMAT_VERSION}")
    for required in ("name", "stem", "stages"):
        if required not in data:
            raise SpecError(f"spec: missing field {required!r}")
    stem = _build(StemSpec, data.pop("stem"), "stem")
    raw_stages = data.pop("stages")
    if not isinstance(raw_stages, list):
        raise SpecError("spec.stages: expected a list of stages")
    stages = tuple(_build(StageSpec, s, f"stages[{i}]") for i, s in enumerate(raw_stages))
    head = _build(HeadSpec, data.pop("head", {}), "head")
    scaling = data.pop("scaling", None)
    if scaling is not None:
        scaling = _build(ScalingRecord, scaling, "scaling")
    known = set(_fields(NetSpec))
    unknown = sorted(set(data) - known, key=str)
    if unknown:
        raise SpecError(f"spec: unknown field {preview(unknown[0])} (known: {', '.join(sorted(known))})")
    return NetSpec(stem=stem, stages=stages, head=head, scaling=scaling, **data)
