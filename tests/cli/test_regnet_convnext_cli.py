"""The RegNet-Y and ConvNeXt baselines through every command that takes a baseline: flops, scale, train and a
grid dry run (issue 21), as the EfficientNet family goes through them."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from typer.testing import CliRunner

from scalesearch.cli.main import app
from scalesearch.core.specio import load_spec

runner = CliRunner()
TINY_TRAIN = ["--data", "synthetic", "--epochs", "1", "--base-resolution", "32", "--proxy-width", "0.25",
              "--train-subset", "128", "--batch-size", "32", "--threads", "1", "--device", "cpu", "--json"]


def run(*args: str):
    return runner.invoke(app, list(args))


def test_flops_of_regnety_400mf_is_fvcores_count_with_a_breakdown() -> None:
    result = run("flops", "--baseline", "regnety-400mf", "--json")
    assert result.exit_code == 0, result.output
    cost = json.loads(result.stdout)["cost"]
    assert (cost["params"], cost["flops"], cost["conv_linear_flops"]) == (4_344_144, 410_406_088, 401_842_848)
    assert [p["name"] for p in cost["parts"]] == ["stem", "stages.0", "stages.1", "stages.2", "stages.3", "pool",
                                                  "classifier"]


def test_scale_convnext_tiny_writes_specs_that_load_back(tmp_path: Path) -> None:
    result = run("scale", "--baseline", "convnext-tiny", "--phi", "0:1", "--alpha", "1.2", "--beta", "1.1",
                 "--gamma", "1.15", "--counter", "meta", "--out", str(tmp_path), "--json")
    assert result.exit_code == 0, result.output
    data = json.loads(result.stdout)
    phi1 = load_spec(next(tmp_path.glob("scale-convnext-tiny-*/phi1.yaml")))
    assert [(s.channels, s.layers) for s in phi1.stages] == [(104, 4), (208, 4), (424, 11), (848, 4)]
    assert phi1.resolution == 256 and phi1.stem.patchify and phi1.head.layer_norm
    assert data["reference_arguments"] == []  # the torchvision/timm table is for EfficientNet-B0 families


def test_scale_regnet_with_its_policy_keeps_whole_groups(tmp_path: Path) -> None:
    result = run("scale", "--baseline", "regnety-800mf", "--phi", "1", "--strategy", "dwr", "--policy", "regnet",
                 "--counter", "meta", "--out", str(tmp_path), "--json")
    assert result.exit_code == 0, result.output
    spec = load_spec(next(tmp_path.glob("scale-regnety-800mf-*/phi1.yaml")))
    assert spec.scaling.policy == "regnet" and spec.stem.channels == 32  # pycls keeps the stem
    assert all(s.bottleneck % s.group_width == 0 for s in spec.stages)


@pytest.mark.parametrize("baseline, policy", [("regnety-800mf", "regnet"), ("convnext-tiny", "efficientnet")])
def test_train_a_tiny_proxy_on_synthetic_data(baseline: str, policy: str) -> None:
    result = run("train", "--baseline", baseline, "--policy", policy, *TINY_TRAIN)
    assert result.exit_code == 0, result.output
    out = json.loads(result.stdout)["result"]
    assert out["status"] == "ok" and out["proxy_resolution"] == 32 and 0 <= out["accuracy"] <= 1


def test_a_convnext_proxy_below_32_px_is_one_line() -> None:
    result = run("train", "--baseline", "convnext-tiny", *TINY_TRAIN[:-1], "--base-resolution", "16")
    assert result.exit_code == 2 and "Traceback" not in result.output
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0] == (
        "error: scaling convnext-tiny: spec.resolution = 16: too small for this network, whose downsampling leaves "
        "no pixel before the classifier: it needs at least 32 px")


GRID = ["--baseline", "regnety-400mf", "--data", "synthetic", "--alpha", "1.0:1.4:0.2", "--beta", "1.0:1.2:0.1",
        "--gamma", "1.0:1.2:0.1", "--tolerance", "0.1", "--references", "none", "--dry-run", "--json"]


def test_grid_dry_run_on_regnety_400mf(tmp_path: Path) -> None:
    # Twice the baseline's cost is the default target; 800M is about that (410M multiply-adds).
    result = run("grid", *GRID, "--target-flops", "800M", "--out", str(tmp_path))
    assert result.exit_code == 0, result.output
    rows = json.loads(result.stdout)
    assert rows[0]["flops"] == 410_406_088 and len(rows) > 2
    assert all(1.8 <= r["alpha"] * r["beta"] ** 2 * r["gamma"] ** 2 <= 2.2 + 1e-9 for r in rows[1:])
    assert all(1.5 < r["flops"] / 410_406_088 < 3 for r in rows[1:])  # measured on the rounded RegNets
    assert not any(tmp_path.iterdir())  # trains nothing, writes nothing


def test_grid_refuses_a_target_below_a_tenth_of_the_regnet(tmp_path: Path) -> None:
    result = run("grid", *GRID, "--target-flops", "40M", "--out", str(tmp_path))
    assert result.exit_code == 2 and result.stdout == ""
    assert "under 1/10 of regnety-400mf's own cost" in result.stderr
