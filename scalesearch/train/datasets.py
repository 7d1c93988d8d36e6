"""What every data source produces (``Dataset``), the helpers the sources share, and the source registry.

A source registers its kind name with ``register_source`` (as scalesearch.nn.blocks maps each BlockKind to a
class); ``scalesearch.train.load.load_data`` dispatches on the kind. This module imports no source, and the
sources import this module, so the import graph runs one way: load -> sources -> datasets.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Protocol

import torch

from scalesearch.core.errors import DataError


@dataclass(frozen=True, eq=False)
class Dataset:
    """Images and labels of one source, split into train and validation. Treat the tensors as read-only:
    ``load_data`` hands the same object to every caller in the process."""

    name: str
    train_x: torch.Tensor  # uint8, N x 3 x H x W
    train_y: torch.Tensor  # int64, N
    val_x: torch.Tensor
    val_y: torch.Tensor
    classes: tuple[str, ...]
    base_resolution: int
    flip: bool = True  # horizontal flips keep the label (False for digits: a mirrored 2 is not a 2)
    notes: tuple[str, ...] = ()  # things the user should hear about (skipped files); the CLI prints them

    def __post_init__(self) -> None:
        if len(self.classes) < 2:
            found = ", ".join(repr(c)[:40] for c in self.classes) or "none"
            raise DataError(f"{self.name}: the data has {len(self.classes)} class ({found}); a classifier needs at "
                            "least two: add a folder (or labels) for each further class")
        for split, x, y in (("train", self.train_x, self.train_y), ("val", self.val_x, self.val_y)):
            if x.dtype != torch.uint8 or x.dim() != 4 or x.shape[1] != 3:
                raise DataError(f"{self.name}: {split} images must be uint8 N x 3 x H x W, got {x.dtype} "
                                f"{tuple(x.shape)}")
            if y.dtype != torch.int64 or y.shape != (x.shape[0],):
                raise DataError(f"{self.name}: {split} labels must be int64 with one label per image")
            if len(y) == 0:
                raise DataError(f"{self.name}: the {split} split is empty")
            if int(y.min()) < 0 or int(y.max()) >= len(self.classes):
                raise DataError(f"{self.name}: {split} labels fall outside the {len(self.classes)} classes")

    @property
    def num_classes(self) -> int:
        return len(self.classes)

    @property
    def image_size(self) -> int:
        """The stored (cache) size in pixels; training resizes from it."""
        return int(self.train_x.shape[-1])

    def check_subsets(self, train_subset: int | None, val_subset: int | None) -> None:
        """Refuse a training or validation subset that leaves a class without an image (an empty one too):
        the accuracies it gives would not be of this task. One line, exit 3, before anything trains."""
        for flag, n, total in (("--train-subset", train_subset, len(self.train_y)),
                               ("--val-subset", val_subset, len(self.val_y))):
            if n is not None and n < min(self.num_classes, total):
                what = "is empty" if n <= 0 else f"cannot hold one image of each of the {self.num_classes} classes"
                raise DataError(f"{self.name}: {flag} {n} {what}; use at least {self.num_classes} (of {total:,} "
                                "images), or leave it out for all")

    def describe(self) -> str:
        return (f"{self.name}: {len(self.train_y)} train / {len(self.val_y)} val images, {self.num_classes} "
                f"classes, stored at {self.image_size} px, base proxy resolution {self.base_resolution} px")


def resize_uint8(x: torch.Tensor, size: int, chunk: int = 4096) -> torch.Tensor:
    """Resize uint8 N x 3 x H x W images to size x size, in chunks so big sets need little scratch memory.
    Antialiased when shrinking (plain bilinear aliases badly); returns ``x`` itself when already there."""
    if x.shape[-1] == size and x.shape[-2] == size:
        return x
    out = torch.empty((x.shape[0], x.shape[1], size, size), dtype=torch.uint8, device=x.device)
    shrink = size < max(x.shape[-2:])
    for i in range(0, x.shape[0], chunk):
        part = torch.nn.functional.interpolate(x[i:i + chunk].float(), size=(size, size), mode="bilinear",
                                               align_corners=False, antialias=shrink)
        out[i:i + chunk] = part.round_().clamp_(0, 255).to(torch.uint8)
    return out


def stratified_split(y: torch.Tensor, fraction: float, g: torch.Generator) -> tuple[torch.Tensor, torch.Tensor]:
    """Indices (train, held out) holding out ``fraction`` of each class (rounded; a class of one image stays
    in train). Deterministic for a given generator state."""
    train, held = [], []
    for c in torch.unique(y).tolist():
        idx = torch.nonzero(y == c).flatten()
        idx = idx[torch.randperm(len(idx), generator=g)]
        k = int(round(len(idx) * fraction)) if len(idx) > 1 else 0
        held.append(idx[:k])
        train.append(idx[k:])
    return torch.cat(train).sort().values, torch.cat(held).sort().values


VAL_SUBSET_SEED = 0  # one fixed choice: every network, seed and study of a task validates on the same images


def stratified_subset(y: torch.Tensor, n: int, g: torch.Generator) -> torch.Tensor:
    """Sorted indices of ``n`` of the labels ``y``, each class in proportion to its share (up to rounding),
    drawn at random within each class. Deterministic for a given generator state; all of them when n >= len(y).

    Each image's key is (its rank in a random order of its class + 1/2) / the class's size; the n smallest
    keys take the same fraction of every class, so no rounding rule has to hand out the remainder."""
    if n >= len(y):
        return torch.arange(len(y))
    order = torch.randperm(len(y), generator=g)
    labels = y[order]
    sizes = torch.bincount(labels).double()
    by_class = torch.argsort(labels, stable=True)  # positions grouped by class, random order within each
    starts = torch.cumsum(sizes, 0) - sizes
    rank = torch.empty(len(y), dtype=torch.float64)
    rank[by_class] = torch.arange(len(y), dtype=torch.float64) - starts[labels[by_class]]
    key = (rank + 0.5) / sizes[labels]
    chosen = order[torch.argsort(key, stable=True)[:n]]
    return chosen.sort().values


# -- the registry ----------------------------------------------------------------------------------------

class SourceLoader(Protocol):
    """Reads one source. ``argument`` is what followed ``kind:`` ("" for a source that takes none); ``seed``
    picks a seeded split where the source has one; ``cache_size`` is the stored size in px (None: native)."""

    def __call__(self, argument: str, *, seed: int, cache_size: int | None) -> Dataset: ...


@dataclass(frozen=True)
class DataSource:
    """A registered kind of data: named ``kind`` or, when it takes an ``argument``, ``kind:ARGUMENT``."""

    kind: str
    description: str  # one line for listings and help
    load: SourceLoader
    argument: str | None = None  # placeholder for what follows the colon ("DIR"); None: takes nothing
    classes: tuple[str, ...] | None = None  # the class names when the source fixes them (reports name them)

    @property
    def form(self) -> str:
        """How a user writes it: ``digits`` or ``cifar10:DIR``."""
        return f"{self.kind}:{self.argument}" if self.argument else self.kind


_SOURCES: dict[str, DataSource] = {}


def register_source(kind: str, description: str, *, argument: str | None = None,
                    classes: tuple[str, ...] | None = None) -> Callable[[SourceLoader], SourceLoader]:
    """Decorator: make ``load`` the reader of data sources named ``kind`` (lower case, no colon)."""
    if not kind or kind != kind.lower() or ":" in kind:
        raise ValueError(f"data source kind {kind!r}: use a lower-case name without a colon")

    def add(load: SourceLoader) -> SourceLoader:
        if kind in _SOURCES:
            raise ValueError(f"data source kind {kind!r} is registered twice")
        _SOURCES[kind] = DataSource(kind=kind, description=description, load=load, argument=argument,
                                    classes=classes)
        return load

    return add


def registered_sources() -> tuple[DataSource, ...]:
    """Every registered source, in registration order."""
    return tuple(_SOURCES.values())


def find_source(kind: str) -> DataSource | None:
    return _SOURCES.get(kind.lower())
