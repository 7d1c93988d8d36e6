"""Every issue-2 command through Typer's runner, bad inputs included."""

import json

import pandas as pd
import pytest
from typer.testing import CliRunner

from scalesearch import __version__
from scalesearch.cli.main import app
from scalesearch.core.baselines import baselines
from scalesearch.core.specio import load_spec, save_spec

runner = CliRunner()


def run(*args: str):
    return runner.invoke(app, list(args))


def test_version_and_help():
    assert run("--version").output == f"scalesearch {__version__}\n"
    out = run("--help").output
    for command in ("baselines", "flops", "scale", "train", "grid"):
        assert f" {command} " in out


def test_baselines_json_lists_all_with_exact_costs(tmp_path):
    save = tmp_path / "b.csv"
    result = run("baselines", "--counter", "meta", "--json", "--save", str(save))
    assert result.exit_code == 0, result.output
    rows = {r["name"]: r for r in json.loads(result.stdout)}
    assert rows["efficientnet-b0"]["params"] == 5_288_548
    assert rows["efficientnet-b7"]["flops"] == 37_745_884_192  # meta: conv+linear multiply-adds
    assert len(pd.read_csv(save)) == len(rows) == len(baselines()) == 15
    assert (rows["regnety-400mf"]["params"], rows["regnety-800mf"]["params"], rows["convnext-tiny"]["params"]) == (
        4_344_144, 6_432_512, 28_589_128)


def test_baselines_table_states_the_convention():
    result = run("baselines", "--counter", "meta")
    assert result.exit_code == 0
    assert "multiply-adds" in result.output and "efficientnet-b0" in result.output


def test_flops_default_b0():
    result = run("flops", "--json")
    assert result.exit_code == 0, result.output
    data = json.loads(result.stdout)
    assert data["cost"]["flops"] == 401_659_392 and data["cost"]["conv_linear_flops"] == 385_814_752
    assert [p["name"] for p in data["cost"]["parts"]][:2] == ["stem", "stages.0"]


def test_flops_table_has_breakdown_and_units():
    result = run("flops", "--baseline", "mobilenet-v2", "--width", "0.5", "--image-size", "96")
    assert result.exit_code == 0, result.output
    for text in ("stages.6", "total", "multiply-adds", "96x96"):
        assert text in result.output


def test_flops_with_coefficients_equals_explicit_multipliers():
    a = json.loads(run("flops", "--alpha", "1.2", "--beta", "1.1", "--gamma", "1.15", "--phi", "2",
                       "--counter", "meta", "--json").stdout)
    b = json.loads(run("flops", "--depth", "1.44", "--width", "1.21", "--resolution", "1.3225",
                       "--counter", "meta", "--json").stdout)
    assert a["cost"]["flops"] == b["cost"]["flops"] > 401_659_392  # both scaled up from B0, identically
    assert a["spec"]["scaling"]["phi"] == 2.0 and a["cost"]["counter"] == "meta"


def test_flops_on_a_spec_file(tmp_path, tiny_spec):
    path = save_spec(tiny_spec, tmp_path / "mine.yaml")
    result = run("flops", "--baseline", str(path), "--json")
    assert result.exit_code == 0, result.output
    assert json.loads(result.stdout)["cost"]["resolution"] == 32


def test_scale_writes_specs_and_summary(tmp_path):
    result = run("scale", "--phi", "0:2", "--alpha", "1.2", "--beta", "1.1", "--gamma", "1.15",
                 "--out", str(tmp_path), "--counter", "meta", "--json")
    assert result.exit_code == 0, result.output
    data = json.loads(result.stdout)
    summary = pd.read_csv(data["summary_csv"])
    assert list(summary["phi"]) == [0.0, 1.0, 2.0]
    assert list(summary["target_ratio"]) == [1.0, 2.0, 4.0]
    assert summary["flops_ratio"].iloc[0] == 1.0
    assert summary["flops_ratio"].iloc[1] > 2.0  # ceil rounding overshoots 2^phi (docs/measurements.md)
    spec = load_spec(summary["spec_file"].iloc[1])
    assert spec.scaling.alpha == 1.2 and spec.scaling.policy == "efficientnet"
    assert spec.resolution == 256
    refs = data["reference_arguments"]
    assert refs[1]["width_mult"] == 1.1 and refs[1]["depth_mult"] == 1.2


def test_scale_table_and_reference_arguments(tmp_path):
    result = run("scale", "--phi", "1", "--alpha", "1.2", "--beta", "1.1", "--gamma", "1.15",
                 "--out", str(tmp_path), "--counter", "meta", "--format", "json")
    assert result.exit_code == 0, result.output
    assert "2^phi" in result.output and "torchvision" in result.output
    assert list(tmp_path.glob("*/phi1.json"))


def test_scale_down_with_negative_phi(tmp_path):
    result = run("scale", "--phi=-2", "--alpha", "1.2", "--beta", "1.1", "--gamma", "1.15",
                 "--out", str(tmp_path), "--counter", "meta", "--json")
    assert result.exit_code == 0, result.output
    row = json.loads(result.stdout)["models"][0]
    assert row["flops_ratio"] < 0.5 and row["layers"] >= 7


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["flops", "--baseline", "efficientnet-b9"], "did you mean efficientnet-b7"),
        (["flops", "--baseline", "missing.yaml"], "spec file not found"),
        (["flops", "--width", "0"], "multipliers must be positive"),
        (["flops", "--depth", "-1"], "multipliers must be positive"),
        (["flops", "--alpha", "1.2"], "--beta, --gamma missing"),
        (["flops", "--alpha", "1.2", "--beta", "1", "--gamma", "1", "--width", "2"], "cannot be combined"),
        (["flops", "--alpha", "0", "--beta", "1", "--gamma", "1"], "--alpha 0.0: must be a positive number"),
        (["flops", "--image-size", "4"], "--image-size 4: must be an integer number of pixels >= 8"),
        (["flops", "--counter", "thop"], "'--counter': 'thop' is not one of 'fvcore', 'meta'"),
        (["flops", "--depth", "x"], "'--depth'"),
        (["flops", "--nope"], "No such option: --nope"),
        (["scale", "--phi", "0:x", "--alpha", "1.2", "--beta", "1.1", "--gamma", "1.15"],
         "--phi '0:x': does not parse"),
        (["scale", "--phi", "1"], "--alpha, --beta, --gamma missing"),
        (["scale", "--phi", "1", "--alpha", "1.2", "--beta", "1.1", "--gamma", "1.15", "--policy", "floor"],
         "'--policy': 'floor' is not one of 'efficientnet', 'nearest'"),
        (["scale", "--phi", "1", "--alpha", "1.2", "--beta", "1.1", "--gamma", "1.15", "--format", "xml"],
         "'--format': 'xml' is not one of 'yaml', 'json'"),
        (["baselines", "--save", "out.txt"], ".csv or .json"),
        (["scale", "--phi", "1", "--target-flops", "2G", "--strategy", "paper"], "--phi and --target-flops together"),
        (["scale", "--target-flops", "2G", "--target-params", "20M", "--strategy", "paper"], "give one budget"),
        (["scale", "--strategy", "paper"], "--phi missing"),
        (["scale", "--phi", "1", "--strategy", "papr"], "did you mean 'paper'"),
        (["scale", "--phi", "1", "--strategy", "paper", "--alpha", "1.2"], "--strategy conflicts with --alpha"),
        (["scale", "--strategy", "paper", "--target-flops", "100M", "--counter", "meta"],
         "--target-flops '100,000,000 multiply-adds': below the baseline's cost: efficientnet-b0 at phi 0 costs "
         "385,814,752 multiply-adds"),
        (["scale", "--strategy", "paper", "--target-latency", "400M"], "--target-latency '400M': has no time unit"),
        (["scale", "--strategy", "paper", "--target-flops", "5ms"], "--target-flops '5ms': is a duration"),
        (["scale", "--strategy", "paper", "--target-latency", "5ms", "--latency-device", "cuda:3"],
         "--latency-device: device 'cuda:3'"),
        (["scale", "--strategy", "paper", "--phi", "1", "--max-resolution", "16"], "--max-resolution 16: must be"),
        (["flops", "--latency", "--latency-batch", "0"], "--latency-batch 0: must be an integer >= 1"),
        (["flops", "--latency", "--latency-dtype", "fp16"], "fp16 needs an accelerator"),
        (["flops", "--latency", "--latency-mode", "infer"], "'--latency-mode': 'infer' is not one of"),
        (["flops", "--latency", "--latency-device", "tpu"], "--latency-device: device 'tpu': use"),
    ],
)
def test_bad_input_is_one_line_and_nonzero(args, message, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    result = run(*args)
    assert result.exit_code == 2
    assert result.stderr.strip().startswith("error: ") and message in result.stderr
    assert "Traceback" not in result.output and len(result.stderr.strip().splitlines()) == 1


def test_scale_with_a_strategy_and_a_cap(tmp_path):
    result = run("scale", "--strategy", "paper", "--phi", "3:4", "--max-resolution", "300", "--counter", "meta",
                 "--out", str(tmp_path), "--json")
    assert result.exit_code == 0, result.output
    data = json.loads(result.stdout)
    assert (data["alpha"], data["beta"], data["gamma"], data["strategy"]) == (1.2, 1.1, 1.15, "paper")
    assert [m["resolution_px"] for m in data["models"]] == [300, 300]
    assert all(m["max_resolution"] == 300 and m["flops_ratio"] < 2 ** m["phi"] for m in data["models"])
    spec = load_spec(data["models"][0]["spec_file"])
    assert spec.scaling.strategy == "paper" and spec.scaling.max_resolution == 300 and spec.scaling.flops_factor
    table = " ".join(run("scale", "--strategy", "paper", "--phi", "3", "--max-resolution", "300", "--counter",
                         "meta", "--out", str(tmp_path)).output.split())
    assert "300*" in table and "capped at --max-resolution 300" in table and "strategy paper" in table


def test_scale_solves_phi_for_a_budget(tmp_path):
    result = run("scale", "--alpha", "1.2", "--beta", "1.1", "--gamma", "1.15", "--target-flops", "2G",
                 "--counter", "meta", "--out", str(tmp_path), "--json")
    assert result.exit_code == 0, result.output
    data = json.loads(result.stdout)
    sol = data["solution"]
    assert sol["value"] <= 2e9 < sol["next_value"] and sol["next_phi"] == pytest.approx(sol["phi"] + 0.01)
    assert [m["phi"] for m in data["models"]] == [sol["phi"]]
    table = run("scale", "--alpha", "1.2", "--beta", "1.1", "--gamma", "1.15", "--target-flops", "2G",
                "--counter", "meta", "--out", str(tmp_path)).output
    assert "chosen" in table and "next step" in table and f"{sol['phi']:g}" in table


def test_scale_solves_phi_for_a_latency_budget(tiny_spec, tmp_path):
    path = save_spec(tiny_spec, tmp_path / "tiny.yaml")
    args = ["scale", "--baseline", str(path), "--alpha", "1.2", "--beta", "1.1", "--gamma", "1.15",
            "--target-latency", "20ms", "--latency-threads", "1", "--counter", "meta", "--out", str(tmp_path)]
    result = run(*args, "--json")
    assert result.exit_code == 0, result.output
    sol = json.loads(result.stdout)["solution"]
    assert sol["unit"] == "ms" and sol["value"] <= 20 < sol["next_value"] and sol["latency"]["threads"] == 1
    table = " ".join(run(*args).output.split())
    assert "within 20.00 ms" in table and "p10-p90" in table and "same machine" in table


def test_flops_latency_is_timed_and_stated(tiny_spec, tmp_path):
    path = save_spec(tiny_spec, tmp_path / "tiny.yaml")
    result = run("flops", "--baseline", str(path), "--latency", "--latency-threads", "1", "--json")
    assert result.exit_code == 0, result.output
    lat = json.loads(result.stdout)["cost"]["latency"]
    assert lat["median_ms"] > 0 and lat["threads"] == 1 and lat["device"] == "cpu" and lat["device_name"]
    table = run("flops", "--baseline", str(path), "--latency", "--latency-threads", "1", "--retime").output
    assert "p10-p90" in table and "1 thread(s)" in table and "same machine" in table


def test_absent_latency_device_names_the_present_ones():
    import torch

    if torch.cuda.is_available():
        pytest.skip("a CUDA GPU is present")
    result = run("flops", "--latency", "--latency-device", "cuda:1")
    assert result.exit_code == 2 and "devices here: cpu" in result.stderr
    assert len(result.stderr.strip().splitlines()) == 1


def test_malformed_spec_file_names_field_and_line(tmp_path):
    path = tmp_path / "bad.yaml"
    path.write_text("name: x\nstem: {channels: 32}\nstages:\n  - {block: mbconv, channels: 16, layers: 0}\n")
    result = run("flops", "--baseline", str(path))
    assert result.exit_code == 2
    assert "line 4" in result.stderr and "stage.layers = 0" in result.stderr
