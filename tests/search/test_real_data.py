"""A tiny grid on the real Fashion-MNIST files (Debian's dataset-fashion-mnist, which .ci/run installs):
a few hundred images, one short rung, the real trainer. Skipped, with its reason, where the files are absent."""

from __future__ import annotations

import csv
import json
from pathlib import Path

import pytest
from typer.testing import CliRunner

from scalesearch.cli.main import app
from scalesearch.core.errors import DataError
from scalesearch.train.mnist import fashion_mnist_folder

runner = CliRunner()


def _installed() -> str | None:
    try:
        return str(fashion_mnist_folder())
    except DataError as exc:
        return str(exc)


_FOLDER = _installed()
pytestmark = pytest.mark.skipif(
    _FOLDER is None or not Path(_FOLDER).is_dir(),
    reason=f"Fashion-MNIST is not installed ({_FOLDER}); .ci/run installs it with apt-get where it can")


@pytest.mark.slow
def test_a_tiny_grid_on_the_real_fashion_mnist_files(tiny_file: Path, tmp_path: Path) -> None:
    result = runner.invoke(app, [
        "grid", "--baseline", str(tiny_file), "--data", "fashion-mnist", "--alpha", "1.0:2.0:0.2",
        "--beta", "1.0:1.4:0.2", "--gamma", "1.0:1.4:0.2", "--tolerance", "0.1", "--rungs", "3x1",
        "--train-subset", "400", "--val-subset", "200", "--references", "none", "--batch-size", "16",
        "--workers", "1", "--no-cache", "--study", "real", "--out", str(tmp_path), "--no-report", "--json"])
    assert result.exit_code == 0, result.output
    folder = tmp_path / "real"
    rows = list(csv.DictReader((folder / "trials.csv").open()))
    accuracies = [float(r["accuracy_mean"]) for r in rows if r.get("accuracy_mean")]
    assert len(accuracies) >= 5
    # Three epochs on 400 real images: accuracies are fractions, the best network well above chance (10
    # classes) and none perfect.
    assert all(0.0 <= a < 0.99 for a in accuracies) and max(accuracies) > 0.3, accuracies
    best = json.loads((folder / "best.json").read_text())
    assert best["settings"]["data"] == "fashion-mnist"
    assert best["settings"]["proxy"]["train_subset"] == 400 and best["settings"]["proxy"]["val_subset"] == 200
