"""A MobileNetV2-style network as a scalesearch builder: copy this file and change the network.

    scalesearch flops --baseline examples/mobilenet_v2.py:mobilenet_v2 --width 0.75

scalesearch calls ``mobilenet_v2(depth, width, num_classes)``. Like torchvision's ``mobilenet_v2(width_mult=...)``,
channels are ``width`` x the table's, rounded to the nearest multiple of 8 and never more than 10% below the
exact value (the rule of the TensorFlow reference); the 1280-channel head only grows (width > 1). Unlike
torchvision, ``depth`` multiplies the repeats of every stage (ceil), so the network can be scaled in depth too.

The table is Sandler et al. 2018, Table 2 (t: expansion, c: channels, n: repeats, s: stride of the first).
"""

from __future__ import annotations

import math

import torch
from torch import nn

# t, c, n, s
TABLE = [(1, 16, 1, 1), (6, 24, 2, 2), (6, 32, 3, 2), (6, 64, 4, 2), (6, 96, 3, 1), (6, 160, 3, 2), (6, 320, 1, 1)]
STEM, HEAD = 32, 1280


def multiple_of_8(value: float) -> int:
    """``value`` to the nearest multiple of 8 (at least 8), one step up if that lands 10% below it."""
    rounded = max(8, int(value + 4) // 8 * 8)
    return rounded + 8 if rounded < 0.9 * value else rounded


def conv_bn_relu6(cin: int, cout: int, kernel: int, stride: int = 1, groups: int = 1) -> nn.Sequential:
    return nn.Sequential(nn.Conv2d(cin, cout, kernel, stride, kernel // 2, groups=groups, bias=False),
                         nn.BatchNorm2d(cout), nn.ReLU6(inplace=True))


class InvertedResidual(nn.Module):
    def __init__(self, cin: int, cout: int, stride: int, expansion: int) -> None:
        super().__init__()
        hidden = cin * expansion
        layers = [conv_bn_relu6(cin, hidden, 1)] if expansion != 1 else []
        layers += [conv_bn_relu6(hidden, hidden, 3, stride, groups=hidden),
                   nn.Conv2d(hidden, cout, 1, bias=False), nn.BatchNorm2d(cout)]
        self.branch = nn.Sequential(*layers)
        self.residual = stride == 1 and cin == cout

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return x + self.branch(x) if self.residual else self.branch(x)


class MobileNetV2(nn.Module):
    def __init__(self, depth: float, width: float, num_classes: int) -> None:
        super().__init__()
        cin = multiple_of_8(STEM * width)
        self.stem = conv_bn_relu6(3, cin, 3, 2)
        blocks: list[nn.Module] = []
        for t, c, n, s in TABLE:
            cout = multiple_of_8(c * width)
            for i in range(max(1, math.ceil(n * depth - 1e-9))):
                blocks.append(InvertedResidual(cin, cout, s if i == 0 else 1, t))
                cin = cout
        self.blocks = nn.Sequential(*blocks)
        head = multiple_of_8(HEAD * max(1.0, width))
        self.head = conv_bn_relu6(cin, head, 1)
        self.pool = nn.AdaptiveAvgPool2d(1)
        self.dropout = nn.Dropout(0.2)
        self.classifier = nn.Linear(head, num_classes)
        for m in self.modules():
            if isinstance(m, nn.Conv2d):
                nn.init.kaiming_normal_(m.weight, mode="fan_out")
            elif isinstance(m, nn.Linear):
                nn.init.normal_(m.weight, 0, 0.01)
                nn.init.zeros_(m.bias)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = self.pool(self.head(self.blocks(self.stem(x)))).flatten(1)
        return self.classifier(self.dropout(x))


def mobilenet_v2(depth: float, width: float, num_classes: int) -> nn.Module:
    """MobileNetV2 at ``depth`` x its repeats and ``width`` x its channels (multiples of 8)."""
    return MobileNetV2(depth, width, num_classes)


mobilenet_v2.image_size = 224  # type: ignore[attr-defined]  # ImageNet's input size; --image-size overrides it
