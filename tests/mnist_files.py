"""Tiny MNIST-format IDX files for the tests (tests/train/test_mnist.py, tests/search/test_task_defaults.py)."""

from __future__ import annotations

import gzip
import struct
from pathlib import Path

import numpy as np

from scalesearch.train import mnist as mnist_source

NAMES = mnist_source.FILES


def idx_bytes(array: np.ndarray, *, kind: int = 0x08) -> bytes:
    """An IDX file: two zero bytes, the value type, the number of dimensions, each dimension big-endian."""
    return bytes([0, 0, kind, array.ndim]) + b"".join(struct.pack(">I", d) for d in array.shape) + array.tobytes()


def write_mnist(folder: Path, *, train: int = 40, test: int = 20, side: int = 12, gz: bool = False,
                classes: int = 10, seed: int = 0) -> Path:
    """The four files of an MNIST-format dataset in ``folder``: labels cycle through ``classes``; each
    image is its label's pattern plus noise (learnable)."""
    rng = np.random.default_rng(seed)
    folder.mkdir(parents=True, exist_ok=True)
    for split, n in (("train", train), ("val", test)):
        labels = (np.arange(n) % classes).astype(np.uint8)
        protos = rng.integers(0, 256, (classes, side, side))
        images = np.clip(protos[labels] * 0.7 + rng.integers(0, 80, (n, side, side)), 0, 255).astype(np.uint8)
        for role, array in ((f"{split}_images", images), (f"{split}_labels", labels)):
            data = idx_bytes(array)
            path = folder / (NAMES[role] + (".gz" if gz else ""))
            path.write_bytes(gzip.compress(data) if gz else data)
    return folder


