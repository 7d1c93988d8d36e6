"""`grid --data mnist:DIR` (and fashion-mnist) takes the measured defaults for MNIST-format data, says so in one
line, and lets each option given on the command line win. Runs the real command with the fake trainer."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import search_fakes
from mnist_files import write_mnist
from typer.testing import CliRunner

from scalesearch.cli.main import app
from scalesearch.core.tasks import MNIST_FORMAT
from scalesearch.search import run as search_run
from scalesearch.train import ProxyConfig

runner = CliRunner()
SMALL = ["--alpha", "1.0:2.0:0.2", "--beta", "1.0:1.4:0.2", "--gamma", "1.0:1.4:0.2", "--tolerance", "0.1",
         "--references", "none", "--batch-size", "32", "--workers", "1", "--no-cache", "--no-report", "--json"]


def settings(folder: Path) -> dict:
    return json.loads((folder / "best.json").read_text())["settings"]


@pytest.mark.parametrize("given, expected", [
    ([], {"rungs": [list(r) for r in MNIST_FORMAT.rungs], "promote": MNIST_FORMAT.promote,
          "train_subset": MNIST_FORMAT.train_subset, "val_subset": MNIST_FORMAT.val_subset}),
    (["--rungs", "2x1", "--val-subset", "10"], {"rungs": [[2, 1]], "promote": MNIST_FORMAT.promote,
                                                 "train_subset": MNIST_FORMAT.train_subset, "val_subset": 10}),
])
def test_mnist_format_data_takes_its_measured_defaults(fake_grid: list[bool], tiny_file: Path, tmp_path: Path,
                                                        given: list[str], expected: dict) -> None:
    data = write_mnist(tmp_path / "MNIST")
    result = runner.invoke(app, ["grid", "--baseline", str(tiny_file), "--data", f"mnist:{data}", *SMALL, *given,
                                 "--out", str(tmp_path), "--study", "t"])
    assert result.exit_code == 0, result.output
    s = settings(tmp_path / "t")
    got = {"rungs": s["rungs"], "promote": s["promote"], "train_subset": s["proxy"]["train_subset"],
           "val_subset": s["proxy"]["val_subset"]}
    assert got == expected


def test_other_data_keeps_the_general_defaults(fake_grid: list[bool], tiny_file: Path, tmp_path: Path) -> None:
    result = runner.invoke(app, ["grid", "--baseline", str(tiny_file), "--data", "synthetic", "--rungs", "2x1",
                                 *SMALL, "--out", str(tmp_path), "--study", "t"])
    assert result.exit_code == 0, result.output
    s = settings(tmp_path / "t")
    assert s["proxy"]["train_subset"] is None and "val_subset" not in s["proxy"]  # unset: not in the fingerprint
    assert "measured defaults" not in result.stderr


def test_the_defaults_line_is_said_without_json(fake_grid: list[bool], tiny_file: Path, tmp_path: Path) -> None:
    data = write_mnist(tmp_path / "MNIST")
    result = runner.invoke(app, ["grid", "--baseline", str(tiny_file), "--data", f"mnist:{data}", *SMALL[:-1],
                                 "--rungs", "2x1", "--out", str(tmp_path), "--study", "t"])
    assert result.exit_code == 0, result.output
    line = next(x for x in result.stderr.splitlines() if "measured defaults" in x)
    assert MNIST_FORMAT.flags() in line and "an option given on the command line wins" in line


@pytest.mark.parametrize("data, given, expected", [
    ("mnist", [], MNIST_FORMAT.curve_points),
    ("mnist", ["--curve-points", "3"], 3),
    ("synthetic", [], ProxyConfig().curve_points),
])
def test_the_task_sets_the_validations_per_run_unless_given(monkeypatch: pytest.MonkeyPatch, tiny_file: Path,
                                                             tmp_path: Path, data: str, given: list[str],
                                                             expected: int | None) -> None:
    # --curve-points is a runtime setting (not in best.json's settings): the search's config carries it
    seen: list[int] = []

    def recording_run(config, **kwargs):  # type: ignore[no-untyped-def]
        seen.append(config.proxy.curve_points)
        return search_run.run_search(config, trainer=search_fakes.fake_train, **kwargs)

    monkeypatch.setattr("scalesearch.cli.grid.run_search", recording_run)
    source = f"mnist:{write_mnist(tmp_path / 'MNIST')}" if data == "mnist" else data
    result = runner.invoke(app, ["grid", "--baseline", str(tiny_file), "--data", source, *SMALL, "--rungs", "2x1",
                                 *given, "--out", str(tmp_path), "--study", "t"])
    assert result.exit_code == 0, result.output
    assert seen == [expected] and expected is not None
