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
from scalesearch.nn.layers import ConvBNAct, DropPath, SqueezeExcite, activation


class Block(nn.Module):
    """Base of every block. ``residual`` is True when the block adds its input (or a projection of it) to
    a branch; such a block must define ``zero_init_last()`` (``Net.zero_init`` fails loudly otherwise)."""

    residual: bool = False


@runtime_checkable
class ZeroInitLast(Protocol):
    """A block that can start as the identity (or as its shortcut alone)."""

    def zero_init_last(self) -> None: ...


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


BLOCKS: dict[BlockKind, type[Block]] = {
    BlockKind.CONV: ConvBlock,
    BlockKind.MBCONV: MBConv,
    BlockKind.INVERTED_RESIDUAL: MBConv,
    BlockKind.FUSED_MBCONV: FusedMBConv,
    BlockKind.DEPTHWISE_SEPARABLE: DepthwiseSeparable,
    BlockKind.BOTTLENECK: Bottleneck,
}
