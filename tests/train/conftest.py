"""Fixtures for proxy-training tests: tiny files in the real on-disk layouts, and a fast config."""

from __future__ import annotations

import pickle
from collections.abc import Callable, Iterator
from pathlib import Path

import numpy as np
import pytest
import torch

from scalesearch.train import ProxyConfig, runtime


@pytest.fixture(autouse=True)
def _restore_torch_threads(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    """A proxy run sets torch's thread count for the whole process (``set_threads``) and remembers the choice
    in ``runtime._threads_set``: the first test that trained with ``threads=1`` left every later test in the
    session on one thread, and any later ``threads=None`` run kept that choice. Put both back. (torch's
    inter-op thread count can be set only once per process, so that one cannot be restored.)"""
    monkeypatch.setattr(runtime, "_threads_set", runtime._threads_set)
    before = torch.get_num_threads()
    yield
    torch.set_num_threads(before)


def write_cifar(root: Path, kind: str = "cifar10", per_file: int = 6, classes: int = 3) -> Path:
    """A CIFAR folder in the python-pickle layout (dicts of bytes keys, N x 3072 uint8 rows)."""
    rng = np.random.default_rng(0)
    root.mkdir(parents=True, exist_ok=True)
    if kind == "cifar10":
        train_files, test_file, label_key = [f"data_batch_{i}" for i in range(1, 6)], "test_batch", b"labels"
        meta_name, meta = "batches.meta", {b"label_names": [f"c{i}".encode() for i in range(classes)]}
    else:
        train_files, test_file, label_key = ["train"], "test", b"fine_labels"
        meta_name, meta = "meta", {b"fine_label_names": [f"f{i}".encode() for i in range(classes)],
                                   b"coarse_label_names": [b"all"]}
    for name in [*train_files, test_file]:
        batch = {b"data": rng.integers(0, 256, (per_file, 3072), dtype=np.uint8),
                 label_key: [int(i % classes) for i in range(per_file)], b"batch_label": name.encode()}
        (root / name).write_bytes(pickle.dumps(batch, protocol=2))
    (root / meta_name).write_bytes(pickle.dumps(meta, protocol=2))
    return root


def write_png(path: Path, colour: tuple[int, int, int], size: tuple[int, int] = (20, 12)) -> None:
    from PIL import Image

    path.parent.mkdir(parents=True, exist_ok=True)
    Image.new("RGB", size, colour).save(path)


@pytest.fixture
def make_cifar() -> Callable[..., Path]:
    return write_cifar


@pytest.fixture
def make_png() -> Callable[..., None]:
    return write_png


@pytest.fixture
def imagefolder(tmp_path: Path) -> Path:
    """Two classes of 10 PNGs each (non-square, so the centre crop is exercised) and one corrupt file."""
    root = tmp_path / "shapes"
    for i in range(10):
        write_png(root / "red" / f"{i}.png", (200 + i, 10, 10))
        write_png(root / "blue" / f"{i}.png", (10, 10, 200 + i), size=(12, 30))
    (root / "blue" / "broken.png").write_bytes(b"\x89PNG\r\n\x1a\n this is not an image")
    return root


@pytest.fixture
def fast() -> ProxyConfig:
    """A config that trains the tiny test net in about a second: 16 px, full width, one thread."""
    return ProxyConfig(epochs=2, batch_size=64, base_resolution=16, proxy_width=1.0, threads=1, device="cpu",
                       bn_recalibration=128, warmup_epochs=0.5)
