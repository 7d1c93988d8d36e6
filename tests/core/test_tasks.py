"""Measured search settings per data source (scalesearch.core.tasks)."""

from __future__ import annotations

from scalesearch.core.tasks import MNIST_FORMAT, sources_with_defaults, task_defaults


def test_mnist_format_sources_have_measured_defaults_and_others_none() -> None:
    assert task_defaults("fashion-mnist") is MNIST_FORMAT
    assert task_defaults("mnist:/data/MNIST") is MNIST_FORMAT and task_defaults(" Fashion-MNIST ") is MNIST_FORMAT
    assert task_defaults("digits-300") is None and task_defaults("cifar10:/x") is None
    assert set(sources_with_defaults()) == {"fashion-mnist", "mnist"}


def test_flags_are_the_command_line_form() -> None:
    assert MNIST_FORMAT.flags() == (f"--train-subset {MNIST_FORMAT.train_subset} --val-subset "
                                    f"{MNIST_FORMAT.val_subset} --rungs "
                                    + ",".join(f"{e}x{s}" for e, s in MNIST_FORMAT.rungs)
                                    + f" --promote {MNIST_FORMAT.promote:g} --curve-points {MNIST_FORMAT.curve_points}")
