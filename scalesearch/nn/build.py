"""build(spec) -> nn.Module. Module names (stem, stages.N, head, classifier) are what per-stage cost
breakdowns report, so keep them stable."""

from __future__ import annotations

from typing import overload

import torch
from torch import nn

from scalesearch.core.builderspec import AnySpec, BuilderSpec
from scalesearch.core.spec import NetSpec
from scalesearch.nn.blocks import BLOCKS, Block, OwnInit, ZeroInitLast
from scalesearch.nn.builder import build_module
from scalesearch.nn.layers import ConvBNAct, LayerNorm2d, PatchifyStem


class Net(nn.Module):
    def __init__(self, spec: NetSpec) -> None:
        super().__init__()
        self.spec = spec
        act = spec.activation
        stem: list[nn.Module]
        if spec.stem.patchify:
            stem = [PatchifyStem(spec.stem.channels, spec.stem.kernel)]
        else:
            stem = [ConvBNAct(3, spec.stem.channels, spec.stem.kernel, spec.stem.stride, act=act)]
        if spec.stem.max_pool:
            stem.append(nn.MaxPool2d(3, 2, 1))
        self.stem = nn.Sequential(*stem)

        # Stochastic depth grows linearly with the block index over the whole network (as torchvision).
        total, index = spec.total_layers, 0
        cin = spec.stem.channels
        stages: list[nn.Module] = []
        for stage in spec.stages:
            blocks: list[Block] = []
            for i in range(stage.layers):
                block = BLOCKS[stage.block]
                p = spec.drop_path * index / total
                blocks.append(block(cin, stage.channels, stage.stride if i == 0 else 1, stage, act, p))
                cin, index = stage.channels, index + 1
            stages.append(nn.Sequential(*blocks))
        self.stages = nn.Sequential(*stages)

        self.head = ConvBNAct(cin, spec.head.channels, 1, act=act) if spec.head.channels else nn.Identity()
        self.pool = nn.AdaptiveAvgPool2d(1)
        self.norm = LayerNorm2d(spec.feature_channels) if spec.head.layer_norm else nn.Identity()  # on pooled features
        self.dropout = nn.Dropout(spec.dropout)
        self.classifier = nn.Linear(spec.feature_channels, spec.num_classes)
        self._init_weights()

    def _init_weights(self) -> None:
        if self.classifier.weight.is_meta:  # meta tensors hold no values: nothing to initialise (counting only)
            return
        for m in self.modules():
            if isinstance(m, nn.Conv2d):
                nn.init.kaiming_normal_(m.weight, mode="fan_out")
                if m.bias is not None:
                    nn.init.zeros_(m.bias)
            elif isinstance(m, nn.BatchNorm2d):
                nn.init.ones_(m.weight)
                nn.init.zeros_(m.bias)
            elif isinstance(m, nn.Linear):
                bound = 1.0 / m.out_features**0.5
                nn.init.uniform_(m.weight, -bound, bound)
                nn.init.zeros_(m.bias)
        for m in self.modules():  # a family's own init (ConvNeXt's) replaces the generic one where it applies
            if isinstance(m, OwnInit):
                m.init_weights()

    def zero_init(self) -> None:
        """Start every residual block as the identity (each block's ``zero_init_last()``) and the classifier at
        zero logits. The trainer calls this (``ProxyConfig.zero_init``): a proxy has a few hundred steps and
        cannot spend them recovering from the builder's init, which starts the B0 proxy at loss 3.5 (logit
        std 2.2). On digits B0's proxy reached 29% after 3 epochs without it, 80% with it (docs/training.md,
        'Zero-init')."""
        for module in self.modules():
            if isinstance(module, Block) and module.residual:
                if not isinstance(module, ZeroInitLast):  # a new residual kind must say where its branch ends
                    raise TypeError(f"residual block {type(module).__name__} defines no zero_init_last()")
                module.zero_init_last()
        nn.init.zeros_(self.classifier.weight)
        nn.init.zeros_(self.classifier.bias)

    def features(self, x: torch.Tensor) -> torch.Tensor:
        return self.head(self.stages(self.stem(x)))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = self.norm(self.pool(self.features(x))).flatten(1)
        return self.classifier(self.dropout(x))


@overload
def build(spec: NetSpec, device: str | torch.device | None = None) -> Net: ...


@overload
def build(spec: BuilderSpec, device: str | torch.device | None = None) -> nn.Module: ...


def build(spec: AnySpec, device: str | torch.device | None = None) -> nn.Module:
    """Instantiate ``spec``. ``device="meta"`` allocates nothing (for counting params and FLOPs). A builder's
    network is the user's builder called at its multipliers (scalesearch.nn.builder)."""
    if isinstance(spec, BuilderSpec):
        return build_module(spec, "cpu" if device is None else device)
    if device is None:
        return Net(spec)
    with torch.device(device):
        return Net(spec)
