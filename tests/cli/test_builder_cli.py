"""Builders on the command line: flops breaks a builder's module down by its children and says what it achieved;
each way a builder fails is one line, exit 2, naming it; SCALESEARCH_DEBUG=1 shows the user's traceback; --help
says that naming a builder runs its code."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from typer.testing import CliRunner

from scalesearch.cli.main import app

runner = CliRunner()
ROOT = Path(__file__).resolve().parents[2]
RESNET = str(ROOT / "examples" / "cifar_resnet.py") + ":cifar_resnet"
MOBILENET = str(ROOT / "examples" / "mobilenet_v2.py") + ":mobilenet_v2"


def run(*args: str, env: dict[str, str] | None = None):
    return runner.invoke(app, list(args), env=env)


def test_flops_of_a_builder_breaks_it_down_by_top_level_child():
    result = run("flops", "--baseline", RESNET, "--json")
    assert result.exit_code == 0, result.output
    data = json.loads(result.stdout)
    parts = {p["name"]: p for p in data["cost"]["parts"]}
    assert list(parts) == ["stem", "stage1", "stage2", "stage3", "pool", "classifier"]
    assert sum(p["flops"] for p in parts.values()) == data["cost"]["flops"] == 41_218_688
    assert data["cost"]["params"] == 272_474 and data["spec"]["kind"] == "builder" and "achieved" not in data


def test_flops_of_a_scaled_builder_says_what_it_measured():
    result = run("flops", "--baseline", RESNET, "--alpha", "1.2", "--beta", "1.1", "--gamma", "1.15", "--json")
    assert result.exit_code == 0, result.output
    data = json.loads(result.stdout)
    achieved = data["achieved"]
    assert data["spec"]["depth"] == 1.2 and data["spec"]["resolution"] == 36
    assert achieved["params_ratio"] == round(data["cost"]["params"] / 272_474, 6)
    assert achieved["flops_ratio"] == round(data["cost"]["flops"] / 41_218_688, 6)
    table = run("flops", "--baseline", RESNET, "--depth", "2")
    assert table.exit_code == 0 and "cifar_resnet(2.0, 1.0, 10)" in table.output
    assert "measured against the builder at d=w=1" in table.output and "conv/linear layers x" in table.output


def test_image_size_is_a_builders_base_resolution():
    result = run("flops", "--baseline", MOBILENET, "--image-size", "64", "--resolution", "1.5", "--width", "0.5",
                 "--json")
    assert result.exit_code == 0, result.output
    spec = json.loads(result.stdout)["spec"]
    assert spec["resolution"] == 96 and spec["width"] == 0.5


@pytest.fixture
def broken(tmp_path: Path) -> Path:
    path = tmp_path / "broken.py"
    path.write_text("from torch import nn\n\n\ndef grows(depth, width, num_classes):\n"
                    "    if width < 1:\n        raise ValueError('width below 1 is not supported here')\n"
                    "    return nn.Sequential(nn.Flatten(), nn.Linear(3 * 8 * 8, num_classes))\n\n\n"
                    "grows.image_size = 8\n\n\ndef flat(depth, width, num_classes):\n"
                    "    return nn.Conv2d(3, num_classes, 1)\n\n\nflat.image_size = 8\n")
    return path


@pytest.mark.parametrize(("args", "message"), [
    (["--baseline", "nowhere/net.py:f"], "error: builder nowhere/net.py:f: file nowhere/net.py not found"),
    (["--baseline", "{b}:missing"], "error: builder {b}:missing: broken.py has no function 'missing' (it defines "
                                    "grows, flat)"),
    (["--baseline", "{b}:grows", "--width", "0.5"], "error: builder {b}:grows raised ValueError: width below 1 is "
                                                    "not supported here (called at depth 1, width 0.5, 1000 classes)"),
    (["--baseline", "{b}:flat"], "error: builder {b}:flat: its output for a (2, 3, 8, 8) input is shape (2, 1000, 8, "
                                 "8), not (batch, num_classes) = (2, 1000)"),
    (["--baseline", "{b}:grows", "--depth", "1e300"], "would build about 1e+300 conv and linear layers"),
])
def test_builder_errors_are_one_line_exit_2(broken, args, message):
    args = [a.format(b=broken) for a in args]
    result = run("flops", *args)
    assert result.exit_code == 2, result.output
    assert message.format(b=broken) in result.stderr and len(result.stderr.strip().splitlines()) == 1
    assert "Traceback" not in result.output


def test_scalesearch_debug_shows_the_users_traceback(broken):
    quiet = run("flops", "--baseline", f"{broken}:grows", "--width", "0.5")
    loud = run("flops", "--baseline", f"{broken}:grows", "--width", "0.5", env={"SCALESEARCH_DEBUG": "1"})
    assert "Traceback" not in quiet.stderr and loud.exit_code == 2
    assert "Traceback" in loud.stderr and "broken.py" in loud.stderr and "raise ValueError" in loud.stderr
    assert loud.stderr.strip().splitlines()[-1].startswith("error: builder ")


def test_help_says_naming_a_builder_runs_its_code():
    for command in ("flops", "grid", "scale", "train", "compare"):
        text = " ".join(run(command, "--help").output.replace("│", " ").split())  # the help's text, unboxed
        assert "file.py:function" in text and "imports and runs its code" in text, command


def test_train_scale_and_compare_take_a_builder(tmp_path):
    trained = run("train", "--baseline", MOBILENET, "--image-size", "32", "--width", "0.5", "--data", "synthetic",
                  "--epochs", "1", "--batch-size", "16", "--train-subset", "32", "--bn-recalibration", "0", "--json")
    assert trained.exit_code == 0, trained.output
    result = json.loads(trained.stdout)["result"]
    assert result["status"] == "ok" and result["proxy_resolution"] == 32 and result["proxy_params"] > 0
    scaled = run("scale", "--baseline", RESNET, "--strategy", "uniform", "--phi", "0:1", "--out", str(tmp_path),
                 "--json")
    assert scaled.exit_code == 0, scaled.output
    models = json.loads(scaled.stdout)["models"]
    assert models[1]["builder_call"].startswith("cifar_resnet(") and models[1]["params_ratio"] > 1
    assert Path(models[0]["spec_file"]).name == "family.py" and not list(tmp_path.rglob("*.yaml"))
