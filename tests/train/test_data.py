"""Every data source on tiny files made here, and every data error the user can hit."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest
import torch

from scalesearch.core.errors import DataError
from scalesearch.train import DEFAULT_DATA, Dataset, datasets as registry, load_data
from scalesearch.train.datasets import register_source, registered_sources, resize_uint8


def test_default_is_300_of_the_digits_with_the_same_validation_images() -> None:
    few, full = load_data(DEFAULT_DATA), load_data("digits")
    assert DEFAULT_DATA == "digits-300" and few.name == "digits-300" and len(few.train_y) == 300
    assert torch.bincount(few.train_y).tolist() == [30] * 10  # stratified
    assert torch.equal(few.val_x, full.val_x) and torch.equal(few.val_y, full.val_y)
    # every kept image is one of the full training set's, with its label
    index = {bytes(x.flatten().tolist()): int(y) for x, y in zip(full.train_x, full.train_y, strict=True)}
    assert all(index.get(bytes(x.flatten().tolist())) == int(y) for x, y in zip(few.train_x, few.train_y,
                                                                                 strict=True))
    assert torch.equal(load_data("digits-300", seed=3).train_x, few.train_x)  # fixed, whatever the seed


def test_jitter_redraws_digits_300_once_at_a_random_size_angle_and_place() -> None:
    jit, few = load_data("digits-300-jitter"), load_data("digits-300")
    assert jit.name == "digits-300-jitter"
    assert torch.equal(jit.train_y, few.train_y) and torch.equal(jit.val_y, few.val_y)  # the same digits
    assert jit.train_x.shape == (300, 3, 32, 32) and jit.val_x.shape == (len(few.val_y), 3, 32, 32)
    assert jit.train_x.dtype == torch.uint8 and torch.equal(jit.train_x[:, 0], jit.train_x[:, 2])
    assert jit.base_resolution == 32 and not jit.flip
    # Redrawn, not merely upsampled: the digit's centre of mass moves from image to image, and pixel noise
    # lights the background (an upsampled clean digit has dark borders).
    ink = jit.train_x[:, 0].float()
    cols = (ink.sum(1) * torch.arange(32)).sum(1) / ink.sum((1, 2))
    assert cols.std() > 1.0
    assert (jit.train_x[:, 0, 0, :] > 0).float().mean() > 0.3
    plain = resize_uint8(few.train_x, 32)
    assert (jit.train_x.float() - plain.float()).abs().mean() > 10
    assert torch.equal(load_data("digits-300-jitter", seed=4).val_x, jit.val_x)  # fixed, whatever the seed


def test_digits_are_embedded_with_a_fixed_split() -> None:
    d = load_data("digits")
    assert d.name == "digits" and d.num_classes == 10 and d.base_resolution == 32
    assert d.train_x.dtype == torch.uint8 and d.train_x.shape[1:] == (3, 8, 8)
    assert len(d.train_y) + len(d.val_y) == 1797 and 350 <= len(d.val_y) <= 370
    assert torch.equal(d.train_x[:, 0], d.train_x[:, 2])  # grayscale repeated to 3 channels
    assert not d.flip  # a mirrored digit is another symbol
    assert set(d.val_y.tolist()) == set(range(10))
    # fixed: the seed does not move the split; cached: the same object comes back
    assert torch.equal(load_data("digits", seed=5).val_y, d.val_y)
    assert load_data("digits") is d


def test_synthetic_is_seeded() -> None:
    a, b, c = load_data("synthetic", seed=1), load_data("synthetic", seed=1), load_data("synthetic", seed=2)
    assert torch.equal(a.train_x, b.train_x)
    assert not torch.equal(a.train_x, c.train_x)
    assert a.train_x.shape[1:] == (3, 32, 32) and a.num_classes == 10


@pytest.mark.parametrize("kind", ["cifar10", "cifar100"])
def test_cifar_pickle_layout(tmp_path: Path, kind: str, make_cifar: Callable) -> None:
    inner = "cifar-10-batches-py" if kind == "cifar10" else "cifar-100-python"
    make_cifar(tmp_path / inner, kind)
    d = load_data(f"{kind}:{tmp_path / inner}")
    files = 5 if kind == "cifar10" else 1
    assert d.train_x.shape == (6 * files, 3, 32, 32) and d.val_x.shape == (6, 3, 32, 32)
    assert d.classes == (("c0", "c1", "c2") if kind == "cifar10" else ("f0", "f1", "f2"))
    # the parent of the extracted folder works too, and cache_size resizes
    d2 = load_data(f"{kind}:{tmp_path}", cache_size=16)
    assert d2.train_x.shape[-2:] == (16, 16) and torch.equal(d2.train_y, d.train_y)


def test_cifar_errors_say_what_to_fix(tmp_path: Path, make_cifar: Callable) -> None:
    with pytest.raises(DataError, match="does not exist"):
        load_data(f"cifar10:{tmp_path / 'nowhere'}")
    root = make_cifar(tmp_path / "c10")
    (root / "data_batch_3").unlink()
    with pytest.raises(DataError, match="lacks data_batch_3"):
        load_data(f"cifar10:{root}")
    make_cifar(root)
    (root / "data_batch_2").write_bytes(b"garbage")
    with pytest.raises(DataError, match="cannot read"):
        load_data(f"cifar10:{root}")


def test_cifar_refuses_pickles_that_are_not_arrays(tmp_path: Path, make_cifar: Callable) -> None:
    import os
    import pickle

    root = make_cifar(tmp_path / "c10")
    (root / "test_batch").write_bytes(pickle.dumps({b"data": os.getcwd}))  # a pickle that names a function
    with pytest.raises(DataError, match="refusing to load"):
        load_data(f"cifar10:{root}")


def test_imagefolder_decodes_once_and_skips_corrupt_files_with_a_note(imagefolder: Path, tmp_path: Path) -> None:
    d = load_data(f"imagefolder:{imagefolder}", cache_size=24)
    assert d.classes == ("blue", "red") and d.train_x.shape[1:] == (3, 24, 24) and d.base_resolution == 64
    assert len(d.train_y) + len(d.val_y) == 20  # the corrupt file is gone
    assert sorted(d.val_y.tolist()) == [0, 0, 1, 1]  # 20% of each class, held out by seed
    assert any("skipped 1 unreadable image" in n and "broken.png" in n for n in d.notes)
    red = d.train_x[d.train_y == 1].float().mean(dim=(0, 2, 3))
    assert red[0] > 150 and red[2] < 50  # colours survive decode, crop and resize
    again = load_data(f"imagefolder:{imagefolder}", cache_size=24)
    assert again is d  # decoded once per process


def test_imagefolder_too_many_unreadable_is_an_error(tmp_path: Path, make_png: Callable) -> None:
    root = tmp_path / "bad"
    for i in range(4):
        make_png(root / "a" / f"{i}.png", (1, 2, 3))
        make_png(root / "b" / f"{i}.png", (3, 2, 1))
    (root / "a" / "x.jpg").write_bytes(b"not a jpeg")
    with pytest.raises(DataError, match=r"1 of 9 images .* unreadable \(a/x.jpg\); nothing was skipped"):
        load_data(f"imagefolder:{root}")


def test_imagefolder_with_one_class_is_a_data_error(tmp_path: Path, make_png: Callable) -> None:
    root = tmp_path / "one"
    for i in range(10):
        make_png(root / "cats" / f"{i}.png", (i, 2, 3))
    with pytest.raises(DataError, match=r"the data has 1 class \('cats'\); a classifier needs at least two") as err:
        load_data(f"imagefolder:{root}")
    assert err.value.exit_code == 3


def test_imagefolder_train_val_layout_and_its_errors(tmp_path: Path, make_png: Callable) -> None:
    root = tmp_path / "tv"
    for split, n in (("train", 3), ("val", 2)):
        for c, colour in (("cat", (250, 0, 0)), ("dog", (0, 250, 0))):
            for i in range(n):
                make_png(root / split / c / f"{i}.png", colour)
    d = load_data(f"imagefolder:{root}", cache_size=8)
    assert (len(d.train_y), len(d.val_y)) == (6, 4) and d.notes == ()

    make_png(root / "val" / "emu" / "0.png", (0, 0, 0))
    with pytest.raises(DataError, match=r"val has classes that .*train lacks \(emu\)"):
        load_data(f"imagefolder:{root}", cache_size=9)

    (root / "val" / "emu" / "0.png").unlink()
    with pytest.raises(DataError, match="class 'emu' in .* has no images"):
        load_data(f"imagefolder:{root}", cache_size=10)


def test_imagefolder_missing_folder(tmp_path: Path) -> None:
    with pytest.raises(DataError, match="does not exist"):
        load_data(f"imagefolder:{tmp_path / 'absent'}")
    (tmp_path / "flat").mkdir()
    with pytest.raises(DataError, match="no class sub-folders"):
        load_data(f"imagefolder:{tmp_path / 'flat'}")


@pytest.mark.parametrize("source", ["mnist", "cifar10", "imagefolder:", "digits:x", ""])
def test_unknown_or_incomplete_sources(source: str) -> None:
    with pytest.raises(DataError) as info:
        load_data(source)
    assert "\n" not in str(info.value)


def test_unknown_source_lists_the_accepted_forms() -> None:
    with pytest.raises(DataError, match=r"'svhn': use digits, digits-300 \(the default\), digits-300-jitter, "
                                        r"synthetic, cifar10:DIR, "
                                        r"cifar100:DIR, imagefolder:DIR, mnist:DIR or fashion-mnist$"):
        load_data("svhn")


def test_every_builtin_source_is_registered_with_a_description() -> None:
    sources = {s.kind: s for s in registered_sources()}
    assert list(sources) == ["digits", "digits-300", "digits-300-jitter", "synthetic", "cifar10", "cifar100",
                             "imagefolder", "mnist", "fashion-mnist"]
    assert all(s.description for s in sources.values())
    assert [k for k, s in sources.items() if s.argument] == ["cifar10", "cifar100", "imagefolder", "mnist"]


def test_load_data_dispatches_through_the_registry(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(registry, "_SOURCES", dict(registry._SOURCES))  # registering below must not outlive the test
    calls: list[tuple[str, int, int | None]] = []
    digits = load_data("digits")

    @register_source("toy", "a registered test source", argument="NAME")
    def toy(argument: str, *, seed: int, cache_size: int | None) -> Dataset:
        calls.append((argument, seed, cache_size))
        return digits

    assert load_data("TOY:abc", seed=3, cache_size=9) is digits and calls == [("abc", 3, 9)]
    with pytest.raises(DataError, match=r"or toy:NAME$"):
        load_data("nosuch")  # the listing of accepted forms is the registry
    with pytest.raises(DataError, match="name its NAME, as in toy:NAME"):
        load_data("toy")
    with pytest.raises(ValueError, match="registered twice"):
        register_source("toy", "again")(toy)


def test_resize_uint8_keeps_range_and_identity() -> None:
    x = torch.randint(0, 256, (5, 3, 8, 8), dtype=torch.uint8)
    assert resize_uint8(x, 8) is x
    up = resize_uint8(x, 20, chunk=2)
    assert up.dtype == torch.uint8 and up.shape == (5, 3, 20, 20)
    flat = torch.full((2, 3, 10, 10), 77, dtype=torch.uint8)
    assert torch.equal(resize_uint8(flat, 4), torch.full((2, 3, 4, 4), 77, dtype=torch.uint8))


@pytest.mark.parametrize("bad", ["strings", "object_array", "unicode_array"])
def test_cifar_batch_with_non_numeric_data_is_a_data_error(tmp_path: Path, make_cifar: Callable, bad: str) -> None:
    import pickle

    import numpy as np
    from typer.testing import CliRunner

    from scalesearch.cli.main import app

    root = make_cifar(tmp_path / "c10")
    rows = ["x" * 3072] * 6
    data = {"strings": rows, "object_array": np.array(rows, dtype=object), "unicode_array": np.array(rows)}[bad]
    batch = {b"data": data, b"labels": [0, 1, 2, 0, 1, 2], b"batch_label": b"data_batch_4"}
    (root / "data_batch_4").write_bytes(pickle.dumps(batch, protocol=2))
    with pytest.raises(DataError, match=r"data_batch_4 holds non-numeric 'data' or labels"):
        load_data(f"cifar10:{root}")
    result = CliRunner().invoke(app, ["train", "--data", f"cifar10:{root}", "--epochs", "1", "--device", "cpu"])
    assert result.exit_code == 3, result.output
    assert result.stderr.strip() == (f"error: cifar10: {root / 'data_batch_4'} holds non-numeric 'data' or labels; "
                                     "expected uint8 pixel rows and integer labels (is it a CIFAR batch?)")
