"""The registry of baselines: ``baselines()`` lists names, ``baseline(name_or_path)`` returns a spec.

Each baseline is written like the table it comes from, so it can be checked against the paper by eye.
Parameter counts match torchvision's implementations to the unit (tests assert them).
"""

from __future__ import annotations

import dataclasses
import difflib
import math
from collections.abc import Callable
from pathlib import Path

from scalesearch.core.errors import UnknownBaselineError
from scalesearch.core.scaling import fit_groups, scale
from scalesearch.core.spec import Activation, BlockKind, HeadSpec, NetSpec, StageSpec, StemSpec

MB = BlockKind.MBCONV
FUSED = BlockKind.FUSED_MBCONV


def efficientnet_b0() -> NetSpec:
    """EfficientNet-B0, paper Table 1 (stages 2-8); stem is stage 1, head is stage 9."""
    # (block, kernel, stride, expansion, channels, layers)       paper stage, input resolution
    table = [
        (MB, 3, 1, 1, 16, 1),   # 2  MBConv1 k3x3   112x112
        (MB, 3, 2, 6, 24, 2),   # 3  MBConv6 k3x3   112x112
        (MB, 5, 2, 6, 40, 2),   # 4  MBConv6 k5x5    56x56
        (MB, 3, 2, 6, 80, 3),   # 5  MBConv6 k3x3    28x28
        (MB, 5, 1, 6, 112, 3),  # 6  MBConv6 k5x5    14x14
        (MB, 5, 2, 6, 192, 4),  # 7  MBConv6 k5x5    14x14
        (MB, 3, 1, 6, 320, 1),  # 8  MBConv6 k3x3     7x7
    ]
    stages = tuple(
        StageSpec(block=b, kernel=k, stride=s, expansion=e, channels=c, layers=n, se_ratio=0.25)
        for b, k, s, e, c, n in table
    )
    return NetSpec(
        name="efficientnet-b0", stem=StemSpec(channels=32, kernel=3, stride=2), stages=stages,
        head=HeadSpec(channels=1280), resolution=224, activation=Activation.SILU, dropout=0.2, drop_path=0.2,
    )


# The released models: (width, depth, resolution, dropout), from the reference implementations.
# They are hand-adjusted, not alpha^phi: fitted phi is ~0.5, 1, 2, 3.5, 5, 6, 7 and differs per dimension.
RELEASED_EFFICIENTNETS: dict[str, tuple[float, float, int, float]] = {
    "efficientnet-b1": (1.0, 1.1, 240, 0.2),
    "efficientnet-b2": (1.1, 1.2, 260, 0.3),
    "efficientnet-b3": (1.2, 1.4, 300, 0.3),
    "efficientnet-b4": (1.4, 1.8, 380, 0.4),
    "efficientnet-b5": (1.6, 2.2, 456, 0.4),
    "efficientnet-b6": (1.8, 2.6, 528, 0.5),
    "efficientnet-b7": (2.0, 3.1, 600, 0.5),
}


def _released(name: str) -> Callable[[], NetSpec]:
    width, depth, pixels, dropout = RELEASED_EFFICIENTNETS[name]

    def make() -> NetSpec:
        spec = scale(efficientnet_b0(), depth=depth, width=width, image_size=pixels, name=name)
        return dataclasses.replace(spec, dropout=dropout)

    make.__doc__ = f"{name}: B0 at width {width}, depth {depth}, {pixels} px, dropout {dropout} (released)."
    return make


def efficientnetv2_s() -> NetSpec:
    """EfficientNetV2-S, V2 paper Table 4: Fused-MBConv early, MBConv (SE 0.25) late, 3x3 kernels."""
    table = [
        (FUSED, 1, 1, 24, 2, 0.0),    # 1  Fused-MBConv1 k3x3
        (FUSED, 2, 4, 48, 4, 0.0),    # 2  Fused-MBConv4 k3x3
        (FUSED, 2, 4, 64, 4, 0.0),    # 3  Fused-MBConv4 k3x3
        (MB, 2, 4, 128, 6, 0.25),     # 4  MBConv4 k3x3 SE0.25
        (MB, 1, 6, 160, 9, 0.25),     # 5  MBConv6 k3x3 SE0.25
        (MB, 2, 6, 256, 15, 0.25),    # 6  MBConv6 k3x3 SE0.25
    ]
    stages = tuple(
        StageSpec(block=b, kernel=3, stride=s, expansion=e, channels=c, layers=n, se_ratio=se)
        for b, s, e, c, n, se in table
    )
    return NetSpec(
        name="efficientnetv2-s", stem=StemSpec(channels=24, kernel=3, stride=2), stages=stages,
        head=HeadSpec(channels=1280), resolution=384, activation=Activation.SILU, dropout=0.2, drop_path=0.2,
    )


def mobilenet_v1() -> NetSpec:
    """MobileNetV1 1.0-224, paper Table 1: depthwise-separable blocks, ReLU, no 1x1 head."""
    dws = BlockKind.DEPTHWISE_SEPARABLE
    table = [  # (stride of the first block, channels, layers)
        (1, 64, 1),
        (2, 128, 2),
        (2, 256, 2),
        (2, 512, 6),
        (2, 1024, 2),
    ]
    stages = tuple(StageSpec(block=dws, kernel=3, stride=s, channels=c, layers=n) for s, c, n in table)
    return NetSpec(
        name="mobilenet-v1", stem=StemSpec(channels=32, kernel=3, stride=2), stages=stages,
        head=HeadSpec(channels=0), resolution=224, activation=Activation.RELU, dropout=0.001,
    )


def mobilenet_v2() -> NetSpec:
    """MobileNetV2 1.0-224, paper Table 2: inverted residuals (t, c, n, s), ReLU6, 1x1 head to 1280."""
    ir = BlockKind.INVERTED_RESIDUAL
    table = [  # t, c, n, s
        (1, 16, 1, 1),
        (6, 24, 2, 2),
        (6, 32, 3, 2),
        (6, 64, 4, 2),
        (6, 96, 3, 1),
        (6, 160, 3, 2),
        (6, 320, 1, 1),
    ]
    stages = tuple(StageSpec(block=ir, kernel=3, stride=s, expansion=t, channels=c, layers=n) for t, c, n, s in table)
    return NetSpec(
        name="mobilenet-v2", stem=StemSpec(channels=32, kernel=3, stride=2), stages=stages,
        head=HeadSpec(channels=1280), resolution=224, activation=Activation.RELU6, dropout=0.2,
    )


def resnet_50() -> NetSpec:
    """ResNet-50 (v1.5, stride on the 3x3 as in torchvision), He et al. Table 1: 7x7 stem + max pool."""
    bott = BlockKind.BOTTLENECK
    table = [  # (stride, output channels, blocks); bottleneck width = output / 4
        (1, 256, 3),   # conv2_x
        (2, 512, 4),   # conv3_x
        (2, 1024, 6),  # conv4_x
        (2, 2048, 3),  # conv5_x
    ]
    stages = tuple(StageSpec(block=bott, kernel=3, stride=s, expansion=4, channels=c, layers=n) for s, c, n in table)
    return NetSpec(
        name="resnet-50", stem=StemSpec(channels=64, kernel=7, stride=2, max_pool=True), stages=stages,
        head=HeadSpec(channels=0), resolution=224, activation=Activation.RELU, dropout=0.0,
    )


def regnet_widths(depth: int, w_0: int, w_a: float, w_m: float, quantum: int = 8) -> list[tuple[int, int]]:
    """RegNet's quantized linear widths as (width, blocks) per stage (Radosavovic et al. 2020, section 3.3,
    eqs. 2-4): block j of ``depth`` wants u_j = w_0 + w_a * j channels; s_j = log(u_j / w_0) / log(w_m) is
    rounded so that widths step by powers of w_m, w_j = w_0 * w_m ** round(s_j), then to a multiple of
    ``quantum``. Consecutive blocks of one width form a stage."""
    widths = []
    for j in range(depth):
        step = round(math.log((w_0 + w_a * j) / w_0) / math.log(w_m))
        widths.append(int(round(w_0 * w_m**step / quantum)) * quantum)
    stages: list[tuple[int, int]] = []
    for w in widths:
        if stages and stages[-1][0] == w:
            stages[-1] = (w, stages[-1][1] + 1)
        else:
            stages.append((w, 1))
    return stages


def _regnet_y(name: str, depth: int, w_0: int, w_a: float, w_m: float, group_width: int) -> NetSpec:
    """A RegNet-Y from its five design parameters: 3x3 stride-2 stem to 32 channels (conv-bn-relu), one
    stage per width of :func:`regnet_widths`, each starting at stride 2, Y blocks (bottleneck ratio 1,
    squeeze-excite 0.25 of the block's input), ReLU, no head conv. Every width is a multiple of the group
    width after RegNet's compatibility step (scalesearch.core.scaling.fit_groups), which scaling applies
    again to every width it rounds."""
    stages = tuple(
        StageSpec(block=BlockKind.REGNET_Y, kernel=3, stride=2, expansion=1, channels=w, layers=n, se_ratio=0.25,
                  group_width=g)
        for (w, g), n in ((fit_groups(w, 1, group_width), n) for w, n in regnet_widths(depth, w_0, w_a, w_m))
    )
    return NetSpec(
        name=name, stem=StemSpec(channels=32, kernel=3, stride=2), stages=stages, head=HeadSpec(channels=0),
        resolution=224, activation=Activation.RELU, dropout=0.0,
    )


def regnety_400mf() -> NetSpec:
    """RegNetY-400MF: d=16, w_0=48, w_a=27.89, w_m=2.09, g=8 (pycls's model zoo, torchvision
    ``regnet_y_400mf``). Stages (width, blocks): (48, 1), (104, 3), (208, 6), (440, 6)."""
    return _regnet_y("regnety-400mf", depth=16, w_0=48, w_a=27.89, w_m=2.09, group_width=8)


def regnety_800mf() -> NetSpec:
    """RegNetY-800MF: d=14, w_0=56, w_a=38.84, w_m=2.4, g=16 (torchvision ``regnet_y_800mf``). Stages
    (width, blocks): (64, 1), (144, 3), (320, 8), (784, 2)."""
    return _regnet_y("regnety-800mf", depth=14, w_0=56, w_a=38.84, w_m=2.4, group_width=16)


def convnext_tiny() -> NetSpec:
    """ConvNeXt-T, Liu et al. 2022 (the paper's variants: 'ConvNeXt-T: C = (96, 192, 384, 768), B = (3, 3, 9, 3)'):
    a 4x4 stride-4 patchify stem, four stages of ConvNeXt blocks (7x7 depthwise, expansion 4, GELU,
    layer scale 1e-6), each later stage entered through a 2x2 stride-2 downsampling layer, LayerNorm on the
    pooled features. Stochastic depth 0.1 (torchvision's ``convnext_tiny`` default); no dropout."""
    cnx = BlockKind.CONVNEXT
    table = [  # (stride of the first block, channels, blocks)
        (1, 96, 3),
        (2, 192, 3),
        (2, 384, 9),
        (2, 768, 3),
    ]
    stages = tuple(StageSpec(block=cnx, kernel=7, stride=s, expansion=4, channels=c, layers=n, layer_scale=1e-6)
                   for s, c, n in table)
    return NetSpec(
        name="convnext-tiny", stem=StemSpec(channels=96, kernel=4, stride=4, patchify=True), stages=stages,
        head=HeadSpec(channels=0, layer_norm=True), resolution=224, activation=Activation.GELU, dropout=0.0,
        drop_path=0.1,
    )


_REGISTRY: dict[str, Callable[[], NetSpec]] = {
    "efficientnet-b0": efficientnet_b0,
    **{name: _released(name) for name in RELEASED_EFFICIENTNETS},
    "efficientnetv2-s": efficientnetv2_s,
    "mobilenet-v1": mobilenet_v1,
    "mobilenet-v2": mobilenet_v2,
    "resnet-50": resnet_50,
    "regnety-400mf": regnety_400mf,
    "regnety-800mf": regnety_800mf,
    "convnext-tiny": convnext_tiny,
}
DEFAULT_BASELINE = "efficientnet-b0"  # what the commands and a search start from unless told otherwise


def baselines() -> list[str]:
    """Names of the registered baselines, in registry order."""
    return list(_REGISTRY)


def baseline(name_or_path: str | Path) -> NetSpec:
    """A registered baseline by name, or a spec file (YAML or JSON) by path. A builder (``file.py:function``)
    is loaded by ``scalesearch.nn.resolve_baseline``, which imports it."""
    key = str(name_or_path)
    if key in _REGISTRY:
        return _REGISTRY[key]()
    path = Path(key).expanduser()
    if path.suffix.lower() in {".yaml", ".yml", ".json"} or path.exists():
        from scalesearch.core.specio import load_spec

        return load_spec(path)
    close = difflib.get_close_matches(key, list(_REGISTRY), n=3, cutoff=0.5)
    hint = f"; did you mean {', '.join(close)}?" if close else f"; known: {', '.join(_REGISTRY)}"
    raise UnknownBaselineError(f"unknown baseline {key!r} (not a registered name, an existing spec file nor a builder "
                               f"file.py:function){hint}")
