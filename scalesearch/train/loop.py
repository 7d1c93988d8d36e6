"""The hot loop's pieces: device-resident batches with whole-batch augmentation, the learning-rate schedule,
BatchNorm recalibration and evaluation. No per-sample Python anywhere: every step is a handful of tensor ops.
"""

from __future__ import annotations

import contextlib
import math
from collections.abc import Iterator

import torch
from torch import nn

from scalesearch.train.datasets import resize_uint8


class DeviceImages:
    """uint8 images resized once to the proxy resolution, held on the training device when they fit (else
    in pinned host memory, copied one batch at a time), turned into normalised channels_last float batches.

    Normalisation uses the training images' per-channel mean and std, measured on up to 4,096 of them.
    """

    def __init__(self, x: torch.Tensor, y: torch.Tensor, resolution: int, device: torch.device, on_device: bool,
                 mean: torch.Tensor | None = None, std: torch.Tensor | None = None) -> None:
        self.device = device
        self.on_device = on_device
        src = x.to(device) if on_device else x
        self.x = resize_uint8(src, resolution)
        self.y = y.to(device)
        if not on_device and device.type == "cuda":
            self.x = self.x.pin_memory()
        if mean is None or std is None:
            sample = self.x[: 4096].float()
            mean, std = sample.mean(dim=(0, 2, 3)), sample.std(dim=(0, 2, 3)).clamp_min(1.0)
        self.channel_mean, self.channel_std = mean, std
        self.mean = mean.to(device).view(1, -1, 1, 1)
        self.inv_std = (1.0 / std.to(device)).view(1, -1, 1, 1)

    def __len__(self) -> int:
        return int(self.y.shape[0])

    def raw(self, idx: torch.Tensor) -> torch.Tensor:
        """uint8 images at ``idx`` (an index tensor on the training device), on the training device."""
        if self.on_device:
            return self.x[idx]
        return self.x[idx.cpu()].pin_memory().to(self.device, non_blocking=True) if self.device.type == "cuda" \
            else self.x[idx.cpu()].to(self.device)

    def normalise(self, x: torch.Tensor) -> torch.Tensor:
        x = x.float().sub_(self.mean).mul_(self.inv_std)
        return x.contiguous(memory_format=torch.channels_last)

    def batches(self, batch_size: int) -> Iterator[tuple[torch.Tensor, torch.Tensor]]:
        """Un-augmented batches in order (evaluation, BN recalibration)."""
        for i in range(0, len(self), batch_size):
            idx = torch.arange(i, min(i + batch_size, len(self)), device=self.device)
            yield self.normalise(self.raw(idx)), self.y[idx]


class EpochPlan:
    """One epoch's randomness drawn at once on the CPU (reproducible whatever the device) and moved to the
    device in one copy: the sample order, a crop offset per image and a flip bit per image."""

    def __init__(self, n: int, batch_size: int, pad: int, flip: bool, g: torch.Generator,
                 device: torch.device) -> None:
        self.steps = n // batch_size  # drop the ragged last batch: one shape for the whole run
        used = self.steps * batch_size
        perm = torch.randperm(n, generator=g)[:used]
        offsets = torch.randint(0, 2 * pad + 1, (2, used), generator=g)
        flips = torch.rand(used, generator=g) < 0.5 if flip else torch.zeros(used, dtype=torch.bool)
        self.batch_size, self.pad = batch_size, pad
        self.perm, self.offsets, self.flips = perm.to(device), offsets.to(device), flips.to(device)

    def batch(self, step: int, images: DeviceImages) -> tuple[torch.Tensor, torch.Tensor]:
        s = slice(step * self.batch_size, (step + 1) * self.batch_size)
        idx = self.perm[s]
        x = images.raw(idx)
        if self.pad:
            x = random_crop(x, self.offsets[:, s], self.pad)
        x = torch.where(self.flips[s].view(-1, 1, 1, 1), x.flip(3), x)
        return images.normalise(x), images.y[idx]


def random_crop(x: torch.Tensor, offsets: torch.Tensor, pad: int) -> torch.Tensor:
    """Zero-pad by ``pad`` and cut each image's own window (offsets: 2 x B, each in [0, 2*pad]), by one
    gather: rows and columns become per-sample index grids, so no Python loop over the batch."""
    b, c, h, w = x.shape
    padded = nn.functional.pad(x, (pad, pad, pad, pad))
    rows = (offsets[0].view(b, 1) + torch.arange(h, device=x.device)).view(b, 1, h, 1)
    cols = (offsets[1].view(b, 1) + torch.arange(w, device=x.device)).view(b, 1, 1, w)
    batch = torch.arange(b, device=x.device).view(b, 1, 1, 1)
    chans = torch.arange(c, device=x.device).view(1, c, 1, 1)
    return padded[batch, chans, rows, cols]


def lr_factor(step: int, total: int, warmup: int) -> float:
    """Linear warmup from ~0 over ``warmup`` steps, then cosine decay to 0 at ``total``."""
    if step < warmup:
        return (step + 1) / warmup
    progress = (step - warmup) / max(1, total - warmup)
    return 0.5 * (1.0 + math.cos(math.pi * min(1.0, progress)))


def make_optimizer(model: nn.Module, name: str, lr: float, weight_decay: float,
                   momentum: float) -> torch.optim.Optimizer:
    """No weight decay on BatchNorm parameters and biases (1-D tensors): decaying them only hurts."""
    decay = [p for p in model.parameters() if p.ndim > 1]
    no_decay = [p for p in model.parameters() if p.ndim <= 1]
    groups = [{"params": decay, "weight_decay": weight_decay}, {"params": no_decay, "weight_decay": 0.0}]
    if name == "adamw":
        return torch.optim.AdamW(groups, lr=lr)
    return torch.optim.SGD(groups, lr=lr, momentum=momentum, nesterov=momentum > 0)


def autocast(device: torch.device) -> contextlib.AbstractContextManager[object]:
    """bf16 autocast on CUDA (no loss scaling needed, unlike fp16); fp32 elsewhere."""
    if device.type == "cuda":
        return torch.autocast("cuda", dtype=torch.bfloat16)
    return contextlib.nullcontext()


@torch.no_grad()
def recalibrate_bn(model: nn.Module, images: DeviceImages, idx: torch.Tensor, batch_size: int) -> None:
    """Recompute every BatchNorm's running statistics as an exact average over the images at ``idx``.

    After a few hundred steps the running averages (momentum 0.1) still lag far behind the weights: eval
    accuracy fell to 10-18% while training loss was fine; recomputing them over 512 images (0.2 s) restored
    it, 18% -> 89% (docs/training.md, 'The proxy-design study'). Only BN runs in train mode, so dropout and
    stochastic depth stay off.
    """
    bns = [m for m in model.modules() if isinstance(m, nn.modules.batchnorm._BatchNorm)]
    if not bns or len(idx) == 0:
        return
    was_training = model.training
    model.eval()
    saved = [bn.momentum for bn in bns]
    for bn in bns:
        bn.reset_running_stats()
        bn.momentum = None  # cumulative average over the recalibration batches
        bn.train()
    device = images.device
    with autocast(device):
        for i in range(0, len(idx), batch_size):
            model(images.normalise(images.raw(idx[i:i + batch_size])))
    for bn, m in zip(bns, saved, strict=True):
        bn.momentum = m
    model.train(was_training)


@torch.no_grad()
def evaluate(model: nn.Module, images: DeviceImages, batch_size: int) -> tuple[float, float]:
    """(top-1 accuracy as a fraction, mean cross-entropy without label smoothing) in eval mode."""
    was_training = model.training
    model.eval()
    correct = torch.zeros((), device=images.device)
    loss = torch.zeros((), device=images.device)
    with autocast(images.device):
        for x, y in images.batches(batch_size):
            logits = model(x).float()
            loss += nn.functional.cross_entropy(logits, y, reduction="sum")
            correct += (logits.argmax(1) == y).sum()
    model.train(was_training)
    n = len(images)
    return float(correct) / n, float(loss) / n
