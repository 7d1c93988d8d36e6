"""The MNIST-format sources (mnist:DIR, fashion-mnist) and the strict IDX reader, on tiny files made here."""

from __future__ import annotations

import gzip
import shutil
from pathlib import Path

import numpy as np
import pytest
import torch
from mnist_files import idx_bytes, write_mnist
from typer.testing import CliRunner

from scalesearch.cli.main import app
from scalesearch.core.errors import DataError
from scalesearch.train import load_data, mnist as mnist_source
from scalesearch.train.datasets import stratified_subset
from scalesearch.train.idx import read_idx

NAMES = mnist_source.FILES


def error(fn: object, *args: object) -> str:
    with pytest.raises(DataError) as info:
        fn(*args)  # type: ignore[operator]
    text = str(info.value)
    assert "\n" not in text
    return text


# -- the reader ------------------------------------------------------------------------------------------

@pytest.mark.parametrize("gz", [False, True])
def test_reader_returns_exactly_what_the_file_holds(tmp_path: Path, gz: bool) -> None:
    images = np.arange(2 * 3 * 4, dtype=np.uint8).reshape(2, 3, 4)
    path = tmp_path / "x"
    path.write_bytes(gzip.compress(idx_bytes(images)) if gz else idx_bytes(images))
    out = read_idx(path, 3)
    assert out.shape == (2, 3, 4) and np.array_equal(out, images)


def test_reader_refuses_every_defect_naming_the_file(tmp_path: Path) -> None:
    good = idx_bytes(np.zeros((3, 4, 4), dtype=np.uint8))
    cases = {
        "wrong-magic": (b"\x08\x03" + good[2:], "not an IDX file"),
        "not-idx": (b"%PDF-1.4 not an image file at all", "not an IDX file"),
        "tiny": (b"\x00\x00", "too short for an IDX header"),
        "float-type": (idx_bytes(np.zeros((3, 4, 4), dtype=np.uint8), kind=0x0D), "value type 0x0d"),
        "labels-as-images": (idx_bytes(np.zeros(5, dtype=np.uint8)), "1 dimension(s); images have 3"),
        "truncated": (good[:-7], "truncated: 57 bytes where a 3 x 4 x 4 IDX file has 64"),
        "header-cut": (good[:9], "truncated in its header"),
        "trailing": (good + b"\x00", "longer than its header says"),
    }
    for name, (data, expected) in cases.items():
        path = tmp_path / name
        path.write_bytes(data)
        text = error(read_idx, path, 3)
        assert str(path) in text and expected in text, (name, text)


def test_reader_refuses_corrupted_and_truncated_gzip(tmp_path: Path) -> None:
    packed = gzip.compress(idx_bytes(np.zeros((50, 8, 8), dtype=np.uint8)))
    cut = tmp_path / "cut.gz"
    cut.write_bytes(packed[: len(packed) // 2])
    assert "corrupted or truncated gzip" in error(read_idx, cut, 3)
    bad = tmp_path / "bad.gz"
    bad.write_bytes(packed[:10] + bytes(b ^ 0xFF for b in packed[10:30]) + packed[30:])
    assert "corrupted or truncated gzip" in error(read_idx, bad, 3)
    assert "cannot read" in error(read_idx, tmp_path / "absent", 3)


# -- mnist:DIR -----------------------------------------------------------------------------------------

@pytest.mark.parametrize("layout", ["flat", "raw", "torchvision"])
@pytest.mark.parametrize("gz", [False, True])
def test_mnist_dir_reads_each_layout_raw_or_gzip(tmp_path: Path, layout: str, gz: bool) -> None:
    folder = {"flat": tmp_path, "raw": tmp_path / "raw", "torchvision": tmp_path / "MNIST" / "raw"}[layout]
    write_mnist(folder, gz=gz)
    d = load_data(f"mnist:{tmp_path}")
    assert (len(d.train_y), len(d.val_y)) == (40, 20) and d.num_classes == 10
    assert d.train_x.shape == (40, 3, 12, 12) and d.train_x.dtype == torch.uint8
    assert torch.equal(d.train_x[:, 0], d.train_x[:, 2]) and d.base_resolution == 32
    assert d.classes == tuple("0123456789") and not d.flip  # digits: a mirrored 2 is not a 2
    assert d.train_y.tolist() == [i % 10 for i in range(40)]


def test_a_fashion_folder_gets_its_class_names_and_flips(tmp_path: Path) -> None:
    write_mnist(tmp_path / "FashionMNIST" / "raw")
    d = load_data(f"mnist:{tmp_path}")
    assert d.classes[0] == "T-shirt/top" and d.classes[-1] == "Ankle boot" and d.flip


def test_mnist_dir_errors_are_one_line_naming_what_to_do(tmp_path: Path) -> None:
    assert "does not exist" in error(load_data, f"mnist:{tmp_path / 'nowhere'}")
    (tmp_path / "empty").mkdir()
    assert "no MNIST-format files" in error(load_data, f"mnist:{tmp_path / 'empty'}")

    one_missing = write_mnist(tmp_path / "partial")
    (one_missing / NAMES["val_labels"]).unlink()
    assert f"lacks {NAMES['val_labels']}" in error(load_data, f"mnist:{one_missing}")

    both = tmp_path / "both"
    write_mnist(both / "MNIST" / "raw")
    write_mnist(both / "KMNIST" / "raw")
    text = error(load_data, f"mnist:{both}")
    assert "several MNIST-format datasets (KMNIST, MNIST)" in text and f"mnist:{both / 'KMNIST'}" in text

    mismatch = write_mnist(tmp_path / "mismatch")
    (mismatch / NAMES["train_labels"]).write_bytes(idx_bytes(np.zeros(39, dtype=np.uint8)))
    text = error(load_data, f"mnist:{mismatch}")
    assert "40 images" in text and "39 labels" in text and NAMES["train_labels"] in text

    beyond = write_mnist(tmp_path / "beyond")
    labels = np.array([0, 1, 2, 12] * 5, dtype=np.uint8)
    (beyond / NAMES["val_labels"]).write_bytes(idx_bytes(labels))
    text = error(load_data, f"mnist:{beyond}")
    assert "label 12 is beyond the 10 classes" in text and NAMES["val_labels"] in text

    sizes = write_mnist(tmp_path / "sizes")
    write_mnist(tmp_path / "other", side=14)
    shutil.copy(tmp_path / "other" / NAMES["val_images"], sizes / NAMES["val_images"])
    assert "12x12 px but test images 14x14 px" in error(load_data, f"mnist:{sizes}")

    cut = write_mnist(tmp_path / "cut", gz=True)
    packed = (cut / f"{NAMES['train_images']}.gz").read_bytes()
    (cut / f"{NAMES['train_images']}.gz").write_bytes(packed[:-40])
    assert "corrupted or truncated gzip" in error(load_data, f"mnist:{cut}")


# -- fashion-mnist -----------------------------------------------------------------------------------

def test_fashion_mnist_reads_scalesearch_data_first(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    write_mnist(tmp_path / "fashion-mnist", gz=True, train=30)
    monkeypatch.setenv("SCALESEARCH_DATA", str(tmp_path))
    d = mnist_source.fashion_mnist("", seed=0, cache_size=None)
    assert d.name == "fashion-mnist" and len(d.train_y) == 30 and d.flip and d.classes[1] == "Trouser"


def test_fashion_mnist_absent_says_both_ways_to_get_it(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(mnist_source, "DEBIAN_FASHION", tmp_path / "not-installed")
    monkeypatch.setenv("SCALESEARCH_DATA", str(tmp_path / "data"))
    with pytest.raises(DataError) as info:
        mnist_source.fashion_mnist("", seed=0, cache_size=None)
    text = str(info.value)
    assert "apt-get install dataset-fashion-mnist" in text and "$SCALESEARCH_DATA/fashion-mnist" in text
    assert str(tmp_path / "data" / "fashion-mnist") in text and "\n" not in text


# -- subsets ---------------------------------------------------------------------------------------------

def test_stratified_subset_keeps_each_class_share_and_is_fixed() -> None:
    shuffle = torch.randperm(1000, generator=torch.Generator().manual_seed(1))
    y = torch.tensor([0] * 600 + [1] * 300 + [2] * 100)[shuffle]
    pick = stratified_subset(y, 100, torch.Generator().manual_seed(0))
    assert len(pick) == 100 and len(set(pick.tolist())) == 100 and torch.equal(pick, pick.sort().values)
    assert torch.bincount(y[pick]).tolist() == [60, 30, 10]
    assert torch.equal(pick, stratified_subset(y, 100, torch.Generator().manual_seed(0)))
    assert not torch.equal(pick, stratified_subset(y, 100, torch.Generator().manual_seed(1)))
    odd = stratified_subset(y, 7, torch.Generator().manual_seed(0))
    assert len(odd) == 7 and set(torch.bincount(y[odd], minlength=3).tolist()) <= {0, 1, 2, 3, 4, 5}
    assert torch.equal(stratified_subset(y, 5000, torch.Generator()), torch.arange(1000))


def test_subsets_too_small_for_the_classes_are_data_errors(tmp_path: Path) -> None:
    d = load_data(f"mnist:{write_mnist(tmp_path)}")
    d.check_subsets(10, 10)
    d.check_subsets(None, None)
    assert "--val-subset 0 is empty" in error(d.check_subsets, None, 0)
    assert "--train-subset 5 cannot hold one image of each of the 10 classes" in error(d.check_subsets, 5, None)


# -- through the CLI -------------------------------------------------------------------------------------

runner = CliRunner()


def test_train_on_an_mnist_folder_with_a_validation_subset(tmp_path: Path) -> None:
    write_mnist(tmp_path / "data", train=64, test=40)
    args = ["train", "--data", f"mnist:{tmp_path / 'data'}", "--epochs", "1", "--batch-size", "16",
            "--base-resolution", "16", "--threads", "1", "--val-subset", "20", "--json"]
    result = runner.invoke(app, args)
    assert result.exit_code == 0, result.output
    assert '"accuracy"' in result.output


@pytest.mark.parametrize("extra, expected", [
    (["--val-subset", "0"], "--val-subset 0 is empty"),
    (["--train-subset", "3"], "--train-subset 3 cannot hold one image of each of the 10 classes"),
])
def test_empty_or_too_small_subsets_exit_3(tmp_path: Path, extra: list[str], expected: str) -> None:
    write_mnist(tmp_path / "data")
    result = runner.invoke(app, ["train", "--data", f"mnist:{tmp_path / 'data'}", "--epochs", "1",
                                 "--threads", "1", *extra])
    assert result.exit_code == 3, result.output
    assert expected in result.output and "Traceback" not in result.output


def _damage(folder: Path, defect: str) -> None:
    if defect == "a file missing":
        (folder / NAMES["train_labels"]).unlink()
    elif defect == "not IDX":
        (folder / NAMES["val_images"]).write_bytes(b"<html>a download error page</html>")
    elif defect == "truncated gzip":
        path = folder / NAMES["train_images"]
        path.with_name(path.name + ".gz").write_bytes(gzip.compress(path.read_bytes())[:-30])
        path.unlink()
    elif defect == "counts disagree":
        (folder / NAMES["val_labels"]).write_bytes(idx_bytes(np.zeros(7, dtype=np.uint8)))
    elif defect == "label beyond the classes":
        (folder / NAMES["train_labels"]).write_bytes(idx_bytes(np.full(40, 10, dtype=np.uint8)))


@pytest.mark.parametrize("defect, expected", [
    ("no folder", "does not exist"), ("a file missing", "lacks train-labels-idx1-ubyte"),
    ("not IDX", "not an IDX file"), ("truncated gzip", "corrupted or truncated gzip"),
    ("counts disagree", "holds 7 labels"), ("label beyond the classes", "label 10 is beyond the 10 classes"),
])
def test_bad_mnist_folders_are_one_line_exit_3(tmp_path: Path, defect: str, expected: str) -> None:
    folder = tmp_path / "data"
    if defect != "no folder":
        write_mnist(folder)
        _damage(folder, defect)
    result = runner.invoke(app, ["train", "--data", f"mnist:{folder}", "--epochs", "1", "--threads", "1"])
    assert result.exit_code == 3, result.output
    lines = [line for line in result.output.splitlines() if line.strip()]
    assert len(lines) == 1 and lines[0].startswith("error:") and expected in lines[0], result.output
