"""One class per block kind (scalesearch.core.spec.BlockKind). Each takes (in, out, stride) plus its stage.

Every block says whether it is ``residual`` (adds its input back). A residual block owns the init that
makes it start as the identity, ``zero_init_last()`` (as timm's blocks do): the block knows which layer
ends its branch, so no caller has to guess it from attribute names. ``Net.zero_init`` calls it.
"""

from __future__ import annotations

from typing import Protocol, runtime_checkable

import torch
from torch import nn

from scalesearch.core.spec import Activation, BlockKind, StageSpec
from scalesearch.nn.layers import ConvBNAct, DropPath, LayerNorm2d, SqueezeExcite, activation


class Block(nn.Module):
    """Base of every block. ``residual`` is True when the block adds its input (or a projection of it) to
    a branch; such a block must define ``zero_init_last()`` (``Net.zero_init`` fails loudly otherwise)."""

    residual: bool = False


@runtime_checkable
class ZeroInitLast(Protocol):
    """A block that can start as the identity (or as its shortcut alone)."""

    def zero_init_last(self) -> None: ...


@runtime_checkable
class OwnInit(Protocol):
    """A module whose family initialises it differently from ``Net``'s generic init (ConvNeXt's layers);
    ``Net`` calls ``init_weights()`` after the generic init."""

    def init_weights(self) -> None: ...


def zero_last_bn(branch: nn.Module) -> None:
    """Zero the scale of the last BatchNorm in ``branch``: the branch then outputs zero (an activation after
    that BN maps 0 to 0 for every activation in scalesearch.core.spec.Activation), so x + branch(x) starts as x
    (Goyal et al. 2017)."""
    bns = [m for m in branch.modules() if isinstance(m, nn.BatchNorm2d)]
    if not bns:
        raise ValueError(f"{type(branch).__name__} has no BatchNorm to zero")
    nn.init.zeros_(bns[-1].weight)


class ConvBlock(Block):
    def __init__(self, cin: int, cout: int, stride: int, stage: StageSpec, act: Activation, drop_path: float):
        super().__init__()
        self.conv = ConvBNAct(cin, cout, stage.kernel, stride, act=act)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.conv(x)


class MBConv(Block):
    """Inverted residual with optional squeeze-excite: the MBConv of EfficientNet (se_ratio 0.25) and
    MobileNetV2's block (se_ratio 0). The SE squeezes relative to the block's input channels, as in the
    reference implementations, though it acts on the expanded channels."""

    def __init__(self, cin: int, cout: int, stride: int, stage: StageSpec, act: Activation, drop_path: float):
        super().__init__()
        hidden = round(cin * stage.expansion)
        layers: list[nn.Module] = []
        if hidden != cin:
            layers.append(ConvBNAct(cin, hidden, 1, act=act))
        layers.append(ConvBNAct(hidden, hidden, stage.kernel, stride, groups=hidden, act=act))
        if stage.se_ratio > 0:
            layers.append(SqueezeExcite(hidden, max(1, int(cin * stage.se_ratio)), act))
        layers.append(ConvBNAct(hidden, cout, 1))
        self.body = nn.Sequential(*layers)
        self.residual = stride == 1 and cin == cout
        self.drop = DropPath(drop_path) if self.residual else nn.Identity()

    def zero_init_last(self) -> None:
        """Start as the identity: zero the last BN scale of the branch."""
        if not self.residual:  # without the skip, a zeroed branch would make the whole block output zero
            raise ValueError(f"zero_init_last() on a non-residual {type(self).__name__}: it would output zero")
        zero_last_bn(self.body)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        out = self.body(x)
        return x + self.drop(out) if self.residual else out


class FusedMBConv(Block):
    """EfficientNetV2's Fused-MBConv: one regular kxk conv replaces expand 1x1 + depthwise kxk."""

    def __init__(self, cin: int, cout: int, stride: int, stage: StageSpec, act: Activation, drop_path: float):
        super().__init__()
        hidden = round(cin * stage.expansion)
        layers: list[nn.Module]
        if hidden != cin:
            layers = [ConvBNAct(cin, hidden, stage.kernel, stride, act=act)]
            if stage.se_ratio > 0:
                layers.append(SqueezeExcite(hidden, max(1, int(cin * stage.se_ratio)), act))
            layers.append(ConvBNAct(hidden, cout, 1))
        else:
            layers = [ConvBNAct(cin, cout, stage.kernel, stride, act=act)]
        self.body = nn.Sequential(*layers)
        self.residual = stride == 1 and cin == cout
        self.drop = DropPath(drop_path) if self.residual else nn.Identity()

    def zero_init_last(self) -> None:
        """Start as the identity: zero the last BN scale of the branch."""
        if not self.residual:  # without the skip, a zeroed branch would make the whole block output zero
            raise ValueError(f"zero_init_last() on a non-residual {type(self).__name__}: it would output zero")
        zero_last_bn(self.body)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        out = self.body(x)
        return x + self.drop(out) if self.residual else out


class DepthwiseSeparable(Block):
    """MobileNetV1: depthwise kxk conv-bn-act, then pointwise 1x1 conv-bn-act; no residual."""

    def __init__(self, cin: int, cout: int, stride: int, stage: StageSpec, act: Activation, drop_path: float):
        super().__init__()
        self.depthwise = ConvBNAct(cin, cin, stage.kernel, stride, groups=cin, act=act)
        self.pointwise = ConvBNAct(cin, cout, 1, act=act)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.pointwise(self.depthwise(x))


class Bottleneck(Block):
    """ResNet v1.5 bottleneck: 1x1 to channels/expansion, kxk (carries the stride), 1x1 back up; a
    projection shortcut when shape changes; activation after the sum."""

    def __init__(self, cin: int, cout: int, stride: int, stage: StageSpec, act: Activation, drop_path: float):
        super().__init__()
        mid = max(1, int(cout / stage.expansion))
        self.body = nn.Sequential(
            ConvBNAct(cin, mid, 1, act=act),
            ConvBNAct(mid, mid, stage.kernel, stride, act=act),
            ConvBNAct(mid, cout, 1),
        )
        self.shortcut = ConvBNAct(cin, cout, 1, stride) if stride != 1 or cin != cout else nn.Identity()
        self.drop = DropPath(drop_path)
        self.act = activation(act)
        self.residual = True  # always: with a projection shortcut the branch still adds to it

    def zero_init_last(self) -> None:
        """Start as act(shortcut(x)): zero the last BN scale of the branch (the shortcut keeps its init)."""
        zero_last_bn(self.body)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.act(self.shortcut(x) + self.drop(self.body(x)))


class RegNetY(Block):
    """RegNet-Y's block (Radosavovic et al. 2020: the X block, a grouped residual bottleneck, plus
    squeeze-excite; torchvision ``ResBottleneckBlock``): 1x1 conv-bn-act to the bottleneck width, kxk grouped
    conv-bn-act carrying the stride (groups = bottleneck / group_width), squeeze-excite to round(se_ratio x
    the block's input channels), 1x1 conv-bn back to the output; a 1x1 strided conv-bn shortcut when the
    shape changes; activation after the sum."""

    def __init__(self, cin: int, cout: int, stride: int, stage: StageSpec, act: Activation, drop_path: float):
        super().__init__()
        mid = stage.bottleneck
        layers: list[nn.Module] = [
            ConvBNAct(cin, mid, 1, act=act),
            ConvBNAct(mid, mid, stage.kernel, stride, groups=mid // stage.group_width, act=act),
        ]
        if stage.se_ratio > 0:
            layers.append(SqueezeExcite(mid, max(1, int(round(cin * stage.se_ratio))), act))
        layers.append(ConvBNAct(mid, cout, 1))
        self.body = nn.Sequential(*layers)
        self.shortcut = ConvBNAct(cin, cout, 1, stride) if stride != 1 or cin != cout else nn.Identity()
        self.drop = DropPath(drop_path)
        self.act = activation(act)
        self.residual = True  # always: with a projection shortcut the branch still adds to it

    def zero_init_last(self) -> None:
        """Start as act(shortcut(x)): zero the last BN scale of the branch (the shortcut keeps its init)."""
        zero_last_bn(self.body)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.act(self.shortcut(x) + self.drop(self.body(x)))


class ConvNeXtBlock(Block):
    """ConvNeXt's block (Liu et al. 2022, 'A ConvNet for the 2020s'; torchvision ``CNBlock``): depthwise kxk
    conv with bias, LayerNorm, 1x1 up to ``expansion`` x channels, activation (GELU), 1x1 back down, times a
    learned per-channel layer scale (initial ``layer_scale``), stochastic depth, plus the input. The first block of a
    stage that changes shape starts with ConvNeXt's downsampling layer: LayerNorm, then a stride x stride conv
    at that stride (2x2 stride 2 between stages); torchvision puts the same layer at the end of the previous
    stage. The 1x1 layers are convs, not linear layers on channels-last tensors (as timm's ``conv_mlp``):
    the same weights, multiply-adds and outputs."""

    def __init__(self, cin: int, cout: int, stride: int, stage: StageSpec, act: Activation, drop_path: float):
        super().__init__()
        self.downsample: nn.Module = nn.Identity()
        if stride != 1 or cin != cout:
            self.downsample = nn.Sequential(LayerNorm2d(cin), nn.Conv2d(cin, cout, stride, stride, bias=True))
        hidden = round(cout * stage.expansion)
        self.depthwise = nn.Conv2d(cout, cout, stage.kernel, padding=(stage.kernel - 1) // 2, groups=cout, bias=True)
        self.norm = LayerNorm2d(cout)
        self.expand = nn.Conv2d(cout, hidden, 1, bias=True)
        self.act = activation(act)
        self.project = nn.Conv2d(hidden, cout, 1, bias=True)
        self.gamma = nn.Parameter(torch.full((cout,), stage.layer_scale)) if stage.layer_scale > 0 else None
        self.drop = DropPath(drop_path)
        self.residual = True  # the branch adds to the (downsampled) input

    def init_weights(self) -> None:
        """ConvNeXt's init (torchvision, timm): truncated normal, std 0.02, for every conv; zero biases."""
        for m in self.modules():
            if isinstance(m, nn.Conv2d):
                nn.init.trunc_normal_(m.weight, std=0.02)
                if m.bias is not None:
                    nn.init.zeros_(m.bias)

    def zero_init_last(self) -> None:
        """Start as the (downsampled) input: zero the layer scale, or without one the last 1x1 conv."""
        if self.gamma is not None:
            nn.init.zeros_(self.gamma)
            return
        nn.init.zeros_(self.project.weight)
        if self.project.bias is not None:
            nn.init.zeros_(self.project.bias)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = self.downsample(x)
        out = self.project(self.act(self.expand(self.norm(self.depthwise(x)))))
        if self.gamma is not None:
            out = out * self.gamma.view(1, -1, 1, 1)
        return x + self.drop(out)


BLOCKS: dict[BlockKind, type[Block]] = {
    BlockKind.CONV: ConvBlock,
    BlockKind.MBCONV: MBConv,
    BlockKind.INVERTED_RESIDUAL: MBConv,
    BlockKind.FUSED_MBCONV: FusedMBConv,
    BlockKind.DEPTHWISE_SEPARABLE: DepthwiseSeparable,
    BlockKind.BOTTLENECK: Bottleneck,
    BlockKind.REGNET_Y: RegNetY,
    BlockKind.CONVNEXT: ConvNeXtBlock,
}
