"""Small layers the blocks share: conv-bn-act, squeeze-and-excitation, stochastic depth, and ConvNeXt's
channel LayerNorm and patchify stem."""

from __future__ import annotations

import torch
from torch import nn

from scalesearch.core.spec import Activation

_ACTIVATIONS: dict[Activation, type[nn.Module]] = {
    Activation.SILU: nn.SiLU,
    Activation.RELU: nn.ReLU,
    Activation.RELU6: nn.ReLU6,
}


def activation(kind: Activation) -> nn.Module:
    if kind is Activation.GELU:
        return nn.GELU()  # exact erf form, as ConvNeXt; GELU has no in-place variant
    return _ACTIVATIONS[kind](inplace=True)


# ConvNeXt's LayerNorm epsilon (Liu et al. 2022; torchvision and timm use 1e-6 for every ConvNeXt).
LAYER_NORM_EPS = 1e-6


class LayerNorm2d(nn.LayerNorm):
    """LayerNorm over the channels of an (N, C, H, W) tensor at each position, as ConvNeXt normalises: the
    channels are moved last for the norm and back. Counted as layer_norm by fvcore (5 per element)."""

    def __init__(self, channels: int) -> None:
        super().__init__(channels, eps=LAYER_NORM_EPS)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return super().forward(x.permute(0, 2, 3, 1)).permute(0, 3, 1, 2)


class PatchifyStem(nn.Module):
    """ConvNeXt's stem: a biased kxk conv at stride k (non-overlapping patches, no padding), then LayerNorm."""

    def __init__(self, cout: int, kernel: int) -> None:
        super().__init__()
        self.conv = nn.Conv2d(3, cout, kernel, kernel, bias=True)
        self.norm = LayerNorm2d(cout)

    def init_weights(self) -> None:
        """ConvNeXt's init (torchvision, timm): truncated normal, std 0.02; zero bias."""
        nn.init.trunc_normal_(self.conv.weight, std=0.02)
        if self.conv.bias is not None:
            nn.init.zeros_(self.conv.bias)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.norm(self.conv(x))


class ConvBNAct(nn.Sequential):
    """Conv (no bias: BN follows) -> BatchNorm -> optional activation; 'same' padding for odd kernels."""

    def __init__(self, cin: int, cout: int, kernel: int = 1, stride: int = 1, groups: int = 1,
                 act: Activation | None = None) -> None:
        layers: list[nn.Module] = [
            nn.Conv2d(cin, cout, kernel, stride, padding=(kernel - 1) // 2, groups=groups, bias=False),
            nn.BatchNorm2d(cout),
        ]
        if act is not None:
            layers.append(activation(act))
        super().__init__(*layers)


class SqueezeExcite(nn.Module):
    """Channel attention: global pool, 1x1 down to ``squeeze`` channels, act, 1x1 up, sigmoid gate."""

    def __init__(self, channels: int, squeeze: int, act: Activation) -> None:
        super().__init__()
        self.pool = nn.AdaptiveAvgPool2d(1)
        self.reduce = nn.Conv2d(channels, squeeze, 1)
        self.act = activation(act)
        self.expand = nn.Conv2d(squeeze, channels, 1)
        self.gate = nn.Sigmoid()

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return x * self.gate(self.expand(self.act(self.reduce(self.pool(x)))))


class DropPath(nn.Module):
    """Stochastic depth (Huang et al. 2016): drop a residual branch per sample while training."""

    def __init__(self, p: float) -> None:
        super().__init__()
        self.p = p

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if not self.training or self.p == 0.0:
            return x
        keep = 1.0 - self.p
        mask = x.new_empty((x.shape[0],) + (1,) * (x.dim() - 1)).bernoulli_(keep)
        return x * mask / keep
