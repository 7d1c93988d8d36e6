"""Data sources for proxy training, named by one string everywhere (``--data``).

``digits`` (the default)  scikit-learn's 1,797 real 8x8 handwritten digits, shipped in its wheel: no network,
                          no user files. A fixed stratified split (1,438 train / 359 validation) that no
                          seed changes, so every candidate of every search sees the same images.
``cifar10:DIR``           the python-pickle CIFAR-10 layout as distributed (DIR holds data_batch_1..5,
``cifar100:DIR``          test_batch, or train/test/meta for CIFAR-100; the parent of that folder also works).
``imagefolder:DIR``       one sub-folder per class; DIR/train and DIR/val when present, else a seeded 20%
                          held out per class. Decoded once with Pillow, centre-cropped and resized to
                          ``cache_size`` (default 80 px), kept as uint8.
``synthetic``             seeded generated images (10 classes) for tests and smoke runs.

Every source yields uint8 N x 3 x H x W tensors (grayscale repeated to 3 channels) and int64 labels. The
proxy trainer resizes them to each candidate's proxy resolution on the training device.

Base proxy resolutions (``Dataset.base_resolution``): EfficientNet-style baselines downsample by 32, so a
proxy input below 32 px leaves no feature map; the base is therefore 32 px for the small-image sources
(digits, CIFAR, synthetic: upsampling 8x8 digits to 32 px costs nothing in information) and 64 px for
ImageFolder trees, whose images carry more detail than 32 px keeps. A candidate trains at
round(base x its resolution multiplier).
"""

from __future__ import annotations

import functools
from dataclasses import dataclass

import torch

from scalesearch.errors import DataError

DEFAULT_DATA = "digits"
SOURCE_FORMS = "digits (embedded default), synthetic, cifar10:DIR, cifar100:DIR or imagefolder:DIR"


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

    def describe(self) -> str:
        return (f"{self.name}: {len(self.train_y)} train / {len(self.val_y)} val images, {self.num_classes} "
                f"classes, stored at {self.image_size} px, base proxy resolution {self.base_resolution} px")


def load_data(source: str, *, seed: int = 0, cache_size: int | None = None) -> Dataset:
    """Load a data source by name (see the module docstring). Cached: each (source, seed, cache_size) is
    read once per process, because the search asks for it for every candidate."""
    if not isinstance(source, str) or not source.strip():
        raise DataError(f"empty data source: use {SOURCE_FORMS}")
    if cache_size is not None and (isinstance(cache_size, bool) or not isinstance(cache_size, int)
                                   or cache_size < 8):
        raise DataError(f"cache size {cache_size!r}: must be an integer number of pixels >= 8")
    return _load(source.strip(), seed, cache_size)


@functools.lru_cache(maxsize=4)
def _load(source: str, seed: int, cache_size: int | None) -> Dataset:
    kind, _, arg = source.partition(":")
    kind = kind.lower()
    if kind in ("digits", "synthetic") and arg:
        raise DataError(f"data source {source!r}: {kind} takes no argument")
    if kind == "digits":
        return _digits(cache_size)
    if kind == "synthetic":
        return _synthetic(seed, cache_size)
    if kind in ("cifar10", "cifar100", "imagefolder"):
        if not arg:
            raise DataError(f"data source {source!r}: name a folder, e.g. {kind}:path/to/data")
        from scalesearch.train import sources  # Pillow and pickle readers load only when needed

        if kind == "imagefolder":
            return sources.imagefolder(arg, seed=seed, cache_size=cache_size)
        return sources.cifar(kind, arg, cache_size=cache_size)
    raise DataError(f"unknown data source {source!r}: use {SOURCE_FORMS}")


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


def _digits(cache_size: int | None) -> Dataset:
    from sklearn.datasets import load_digits

    bunch = load_digits()
    images = torch.from_numpy(bunch.images).float() * (255.0 / 16.0)  # pixel values run 0..16
    x = images.round().to(torch.uint8)[:, None].repeat(1, 3, 1, 1)
    y = torch.from_numpy(bunch.target).long()
    # A fixed, stratified 80/20 split: seed 0 always, so accuracies from different runs and seeds compare.
    train_idx, val_idx = stratified_split(y, 0.2, torch.Generator().manual_seed(0))
    if cache_size is not None:
        x = resize_uint8(x, cache_size)
    return Dataset(
        name="digits", train_x=x[train_idx].contiguous(), train_y=y[train_idx], val_x=x[val_idx].contiguous(),
        val_y=y[val_idx], classes=tuple(str(c) for c in bunch.target_names), base_resolution=32, flip=False,
    )


def _synthetic(seed: int, cache_size: int | None, classes: int = 10, train: int = 800, val: int = 200) -> Dataset:
    """Each class is a random low-frequency colour pattern; images are that pattern, shifted by a few pixels
    and drowned in noise. Learnable in a few hundred steps by a tiny net, yet not trivially separable."""
    g = torch.Generator().manual_seed(10_000 + seed)
    protos = torch.nn.functional.interpolate(torch.rand(classes, 3, 4, 4, generator=g), size=(40, 40),
                                             mode="bilinear", align_corners=False)
    n = train + val
    y = torch.arange(n) % classes
    y = y[torch.randperm(n, generator=g)]
    dy, dx = torch.randint(0, 9, (2, n), generator=g)
    rows = (dy[:, None] + torch.arange(32))[:, None, :, None]  # n x 1 x 32 x 1
    cols = (dx[:, None] + torch.arange(32))[:, None, None, :]  # n x 1 x 1 x 32
    x = protos[y[:, None, None, None], torch.arange(3)[None, :, None, None], rows, cols]
    x = (x + 0.35 * torch.randn(x.shape, generator=g)).clamp(0, 1)
    x = (x * 255).round().to(torch.uint8)
    if cache_size is not None:
        x = resize_uint8(x, cache_size)
    return Dataset(
        name="synthetic", train_x=x[:train].contiguous(), train_y=y[:train].contiguous(),
        val_x=x[train:].contiguous(), val_y=y[train:].contiguous(),
        classes=tuple(f"class{i}" for i in range(classes)), base_resolution=32, flip=True,
    )


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
