"""The MNIST-format sources: ``mnist:DIR`` (any folder of the four IDX files) and ``fashion-mnist``.

The four files are ``train-images-idx3-ubyte``, ``train-labels-idx1-ubyte``, ``t10k-images-idx3-ubyte`` and
``t10k-labels-idx1-ubyte``, each raw or ``.gz`` (scalesearch.train.idx reads both). They are looked for in DIR,
DIR/raw, and a sub-folder DIR/<Name>/raw or DIR/<Name> (torchvision's ``ROOT/FashionMNIST/raw``, ``ROOT/MNIST/raw``;
Debian's /usr/share/datasets/fashion-mnist).
Train is the training file, validation the test file (the official split: no seed moves it). MNIST, KMNIST and
Fashion-MNIST have 10 classes; a label beyond them is refused, naming the file.

``fashion-mnist`` needs no argument: it looks in ``$SCALESEARCH_DATA/fashion-mnist`` and then where Debian's
``dataset-fashion-mnist`` package installs the files (/usr/share/datasets/fashion-mnist).

Images are 28x28 grayscale, repeated to 3 channels; the proxies' base resolution is 32 px (EfficientNet-style
networks downsample by 32). Clothes keep their label when mirrored, digits do not: flips only for Fashion-MNIST.
"""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np
import torch

from scalesearch.core.errors import DataError
from scalesearch.train.datasets import Dataset, register_source, resize_uint8
from scalesearch.train.idx import read_idx

FILES = {  # role: the file's name in every MNIST-format distribution (without .gz)
    "train_images": "train-images-idx3-ubyte",
    "train_labels": "train-labels-idx1-ubyte",
    "val_images": "t10k-images-idx3-ubyte",
    "val_labels": "t10k-labels-idx1-ubyte",
}
CLASSES = 10
BASE_RESOLUTION = 32
DEBIAN_FASHION = Path("/usr/share/datasets/fashion-mnist")  # `dpkg -L dataset-fashion-mnist`
DATA_ENV = "SCALESEARCH_DATA"
# Zalando's label order (github.com/zalandoresearch/fashion-mnist, README "Labels")
FASHION_CLASSES = ("T-shirt/top", "Trouser", "Pullover", "Dress", "Coat", "Sandal", "Shirt", "Sneaker", "Bag",
                   "Ankle boot")
DIGIT_CLASSES = tuple(str(i) for i in range(CLASSES))


def _file_in(folder: Path, name: str) -> Path | None:
    """``name`` or ``name.gz`` in ``folder`` (raw first: torchvision keeps both, and raw reads faster)."""
    for candidate in (folder / name, folder / f"{name}.gz"):
        if candidate.is_file():
            return candidate
    return None


def _dataset_folder(place: Path, root: Path) -> Path:
    """The sub-folder of ``root`` a place belongs to (ROOT/MNIST for ROOT/MNIST/raw and ROOT/MNIST)."""
    return place.parent if place.name == "raw" and place.parent != root else place


def find_files(root: Path, kind: str) -> dict[str, Path]:
    """The four files under ``root`` (DIR, DIR/raw or DIR/<Name>/raw), by role. One-line errors: no folder,
    no file, some of the four missing, several datasets under one root."""
    if not root.is_dir():
        raise DataError(f"{kind}: folder {root} does not exist; pass the folder holding the four MNIST-format IDX "
                        f"files ({FILES['train_images']}[.gz], ...)")
    places = [root, root / "raw"]
    try:
        subfolders = sorted(p for p in root.iterdir() if p.is_dir() and not p.name.startswith(".") and p.name != "raw")
        places += [q for p in subfolders for q in (p / "raw", p)]
    except OSError as exc:
        raise DataError(f"{kind}: cannot list {root} ({exc.strerror or exc})") from None
    found = {place: {role: _file_in(place, name) for role, name in FILES.items()} for place in places}
    complete = [place for place, files in found.items() if all(files.values())]
    if len(complete) > 1 and complete[0] not in (root, root / "raw"):
        names = ", ".join(sorted({_dataset_folder(p, root).name for p in complete}))
        if len({_dataset_folder(p, root) for p in complete}) > 1:
            raise DataError(f"{kind}: {root} holds several MNIST-format datasets ({names}); name one, as in "
                            f"{kind}:{_dataset_folder(complete[0], root)}")
    if complete:
        return {role: path for role, path in found[complete[0]].items() if path is not None}
    partial = [(place, files) for place, files in found.items() if any(files.values())]
    if partial:
        place, files = partial[0]
        missing = [FILES[role] for role, path in files.items() if path is None]
        raise DataError(f"{kind}: {place} lacks {', '.join(missing)} (raw or .gz); an MNIST-format dataset is four "
                        "IDX files: copy the missing ones there")
    raise DataError(f"{kind}: no MNIST-format files in {root} (looked in it, raw/, */raw/ and */); expected "
                    f"{', '.join(FILES.values())}, raw or .gz")


def read_split(images: Path, labels: Path) -> tuple[torch.Tensor, torch.Tensor]:
    """uint8 N x 3 x H x W images and int64 labels of one split, checked against each other and the classes."""
    x = read_idx(images, 3)
    y = read_idx(labels, 1)
    if len(x) != len(y):
        raise DataError(f"{images} holds {len(x):,} images but {labels} holds {len(y):,} labels; they must pair "
                        "one to one (a file of another split or dataset?)")
    if len(x) == 0:
        raise DataError(f"{images}: holds no images")
    if x.shape[1] < 8 or x.shape[2] < 8:
        raise DataError(f"{images}: images of {x.shape[1]}x{x.shape[2]} px; at least 8x8 are needed")
    top = int(y.max())
    if top >= CLASSES:
        raise DataError(f"{labels}: label {top} is beyond the {CLASSES} classes of the MNIST format (0-9); is it an "
                        "EMNIST split? Those are not supported")
    images_t = torch.from_numpy(x.copy())[:, None].expand(-1, 3, -1, -1).contiguous()  # the file's bytes are read-only
    return images_t, torch.from_numpy(y.astype(np.int64))


def load_mnist_format(files: dict[str, Path], kind: str, *, name: str, classes: tuple[str, ...], flip: bool,
                      cache_size: int | None) -> Dataset:
    """The dataset of the four ``files`` (as ``find_files`` returns them)."""
    train_x, train_y = read_split(files["train_images"], files["train_labels"])
    val_x, val_y = read_split(files["val_images"], files["val_labels"])
    if train_x.shape[2:] != val_x.shape[2:]:
        raise DataError(f"{kind}: training images are {train_x.shape[2]}x{train_x.shape[3]} px but test images "
                        f"{val_x.shape[2]}x{val_x.shape[3]} px ({files['val_images']}); both splits must match")
    if cache_size is not None:
        train_x, val_x = resize_uint8(train_x, cache_size), resize_uint8(val_x, cache_size)
    return Dataset(name=name, train_x=train_x, train_y=train_y, val_x=val_x, val_y=val_y, classes=classes,
                   base_resolution=BASE_RESOLUTION, flip=flip)


def _is_fashion(folder: Path) -> bool:
    return any("fashion" in part.lower() for part in folder.resolve().parts)


@register_source("mnist", "four MNIST-format IDX files (MNIST, Fashion-MNIST, KMNIST) in DIR, DIR/raw or "
                 "DIR/<Name>[/raw]", argument="DIR")
def mnist(argument: str, *, seed: int, cache_size: int | None) -> Dataset:
    """``seed`` is ignored: the split is the distribution's own. A folder whose path names Fashion-MNIST gets
    its class names and flips."""
    root = Path(argument).expanduser()
    files = find_files(root, "mnist")
    fashion = _is_fashion(files["train_images"].parent)
    return load_mnist_format(files, "mnist", name=f"mnist:{root.name or root}",
                             classes=FASHION_CLASSES if fashion else DIGIT_CLASSES, flip=fashion,
                             cache_size=cache_size)


def fashion_mnist_folder() -> Path:
    """Where ``fashion-mnist`` reads from: $SCALESEARCH_DATA/fashion-mnist when set, else Debian's folder."""
    base = os.environ.get(DATA_ENV, "").strip()
    user = Path(base).expanduser() / "fashion-mnist" if base else None
    for folder in (user, DEBIAN_FASHION):
        if folder is not None and folder.is_dir():
            return folder
    where = f"${DATA_ENV}/fashion-mnist ({user})" if user else f"${DATA_ENV}/fashion-mnist ({DATA_ENV} is not set)"
    raise DataError(f"fashion-mnist: not found in {DEBIAN_FASHION} or {where}; install it with `apt-get install "
                    f"dataset-fashion-mnist`, or put its four IDX files in ${DATA_ENV}/fashion-mnist")


@register_source("fashion-mnist", "Zalando's Fashion-MNIST (60,000 train / 10,000 test, 28x28, 10 classes) "
                 "from Debian's dataset-fashion-mnist or $SCALESEARCH_DATA/fashion-mnist", classes=FASHION_CLASSES)
def fashion_mnist(argument: str, *, seed: int, cache_size: int | None) -> Dataset:
    return load_mnist_format(find_files(fashion_mnist_folder(), "fashion-mnist"), "fashion-mnist", name="fashion-mnist",
                             classes=FASHION_CLASSES, flip=True, cache_size=cache_size)
