"""Size limits: absurd sizes are refused in one line before anything is built or counted; real networks are
not; work on real tensors beyond the memory limits is counted on the meta device or refused before any
allocation; a bad limit variable is one line naming it."""

from __future__ import annotations

import concurrent.futures
import os
import resource
import subprocess
import sys
from pathlib import Path

import pytest
import yaml
from typer.testing import CliRunner

from scalesearch.cli.main import app
from scalesearch.core.baselines import baseline, baselines
from scalesearch.core.errors import SizeError, SpecError, UsageError
from scalesearch.core.limits import LIMITS, check, check_memory, estimate, limit, over_memory
from scalesearch.core.scaling import compound, scale
from scalesearch.core.specio import load_spec, save_spec

runner = CliRunner()
COEFFS = ["--alpha", "1.2", "--beta", "1.1", "--gamma", "1.15"]
ROOT = Path(__file__).resolve().parents[2]


@pytest.mark.parametrize("args, limit_name", [
    (["flops", "--depth", "1e300", "--counter", "meta"], "SCALESEARCH_MAX_LAYERS"),
    (["flops", *COEFFS, "--phi", "60", "--counter", "meta"], "SCALESEARCH_MAX_LAYERS"),
    (["flops", "--image-size", "100000"], "SCALESEARCH_MAX_RESOLUTION"),
    (["flops", "--width", "1e300"], "SCALESEARCH_MAX_CHANNELS"),
    (["scale", "--phi", "60", *COEFFS], "SCALESEARCH_MAX_LAYERS"),
    (["scale", "--phi", "0:60", *COEFFS], "phi26' is too big to build or count"),
    (["scale", "--phi", "0:1000", *COEFFS], "at most 64"),
])
def test_absurd_sizes_are_one_line(args: list[str], limit_name: str, tmp_path: Path) -> None:
    result = runner.invoke(app, [*args, *(["--out", str(tmp_path)] if args[0] == "scale" else [])])
    assert result.exit_code == 2, result.output
    assert limit_name in result.stderr and len(result.stderr.strip().splitlines()) == 1
    assert not list(tmp_path.iterdir())  # scale wrote nothing: every member is a spec before any counting


@pytest.mark.parametrize("field, value", [("layers", 1_000_000_000), ("channels", 1_000_000_000),
                                          ("kernel", 1_000_000_001), ("stride", 10**30)])
def test_spec_file_with_absurd_stage_is_refused_with_its_line(field: str, value: int, tmp_path: Path) -> None:
    data = yaml.safe_load((save_spec(baseline("efficientnet-b0"), tmp_path / "b0.yaml")).read_text())
    data["stages"][2][field] = value
    path = tmp_path / "big.yaml"
    path.write_text(yaml.safe_dump(data, sort_keys=False))
    with pytest.raises(SpecError, match=r"big.yaml.*too big to build or count"):
        load_spec(path)


@pytest.mark.parametrize("field, value, variable", [("resolution", 1_000_000_000, "SCALESEARCH_MAX_RESOLUTION"),
                                                    ("num_classes", 10**30, "SCALESEARCH_MAX_CHANNELS")])
def test_spec_file_with_absurd_top_level_field_is_refused(field: str, value: int, variable: str,
                                                          tmp_path: Path) -> None:
    data = yaml.safe_load((save_spec(baseline("efficientnet-b0"), tmp_path / "b0.yaml")).read_text())
    data[field] = value
    (tmp_path / "big.yaml").write_text(yaml.safe_dump(data, sort_keys=False))
    with pytest.raises(SpecError, match=variable):
        load_spec(tmp_path / "big.yaml")


def test_expanded_channels_count_towards_the_widest_layer(monkeypatch: pytest.MonkeyPatch) -> None:
    from scalesearch.core.spec import NetSpec, StageSpec, StemSpec

    stages = (StageSpec(block="mbconv", channels=100, layers=2, expansion=6),
              StageSpec(block="bottleneck", channels=400, layers=1, expansion=4))  # bottleneck: 100 wide inside
    spec = NetSpec(name="wide", stem=StemSpec(channels=16), stages=stages, resolution=32, num_classes=10)
    assert estimate(spec).channels == 600  # the second mbconv expands 100 to 600
    monkeypatch.setenv("SCALESEARCH_MAX_CHANNELS", "500")
    with pytest.raises(SpecError, match="600 channels in its widest layer, over the limit of 500"):
        check(spec)


def test_every_registered_baseline_is_well_inside_the_limits() -> None:
    for name in baselines():
        spec = baseline(name)
        check(spec)  # raises if not
        assert over_memory(spec) is None, name  # counted by fvcore on real tensors
        assert estimate(spec).activations < LIMITS["activations"][1] / 2, name


@pytest.mark.parametrize("name, multipliers", [
    ("resnet-50", (4, 1, 1)), ("resnet-50", (1, 2, 1)), ("resnet-50", (1, 1, 2)),
    ("resnet-50", compound(1.2, 1.1, 1.15, 4)), ("efficientnetv2-s", compound(1.2, 1.1, 1.15, 6)),
    ("mobilenet-v1", compound(1.2, 1.1, 1.15, 8)), ("efficientnet-b7", compound(1.2, 1.1, 1.15, 8)),
])
def test_networks_people_build_are_not_refused(name: str, multipliers: tuple[float, float, float]) -> None:
    spec = scale(baseline(name), *multipliers)  # refused before, by an estimate up to 30x too large
    check(spec)


def test_the_issue_networks_are_counted_for_real() -> None:
    # ResNet-50 x4 depth, x2 width, 448 px and compound phi 4 all fit a real forward pass: fvcore counts them.
    for m in ((4, 1, 1), (1, 2, 1), (1, 1, 2), compound(1.2, 1.1, 1.15, 4)):
        assert over_memory(scale(baseline("resnet-50"), *m)) is None


def test_a_structural_limit_can_be_raised(monkeypatch: pytest.MonkeyPatch) -> None:
    b0 = baseline("efficientnet-b0")
    with pytest.raises(SpecError, match="SCALESEARCH_MAX_RESOLUTION"):
        scale(b0, image_size=10_000)
    monkeypatch.setenv("SCALESEARCH_MAX_RESOLUTION", "20000")
    assert scale(b0, image_size=10_000).resolution == 10_000


def test_memory_limits_name_the_size_the_batch_and_the_variable(monkeypatch: pytest.MonkeyPatch) -> None:
    b0 = baseline("efficientnet-b0")  # 6,748,036 activation elements, 5,288,548 parameters
    check_memory(b0, batch=100)
    with pytest.raises(SpecError, match=r"too big to time in memory: 2e\+09 activation elements held "
                                        r"\(6,748,036 per image x batch 100 x 3 kept for the backward pass\), "
                                        r"over the limit of 1e\+09 \(SCALESEARCH_MAX_ACTIVATIONS\)"):
        check_memory(b0, batch=100, training=True, doing="time")
    monkeypatch.setenv("SCALESEARCH_MAX_PARAMS", "5e6")
    assert over_memory(b0) == "5,288,548 parameters, over the limit of 5,000,000 (SCALESEARCH_MAX_PARAMS)"
    monkeypatch.setenv("SCALESEARCH_MAX_ACTIVATIONS", "1e12")
    monkeypatch.setenv("SCALESEARCH_MAX_PARAMS", "1e12")
    check_memory(b0, batch=100, training=True)


@pytest.mark.parametrize("value", ["inf", "-inf", "1e400", "nan", "lots", "0", "-5", "0.5", "1e19"])
def test_a_bad_limit_value_is_one_line_naming_the_variable(value: str, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("SCALESEARCH_MAX_ACTIVATIONS", value)
    with pytest.raises(UsageError, match="SCALESEARCH_MAX_ACTIVATIONS=.*not a usable limit"):
        limit("activations")
    with pytest.raises(UsageError, match="SCALESEARCH_MAX_ACTIVATIONS"):  # on every spec, used or not
        baseline("efficientnet-b0")
    result = runner.invoke(app, ["flops", "--counter", "meta"])
    assert result.exit_code == 2 and "Traceback" not in result.output
    assert result.stderr.count("\n") == 1 and "SCALESEARCH_MAX_ACTIVATIONS" in result.stderr


def test_an_empty_limit_variable_means_the_default(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("SCALESEARCH_MAX_LAYERS", " ")
    monkeypatch.setenv("SCALESEARCH_MAX_PARAMS", "2.5e9")
    assert limit("layers") == LIMITS["layers"][1] and limit("params") == 2_500_000_000


def test_training_beyond_the_memory_limit_is_refused_before_anything_is_built(
        monkeypatch: pytest.MonkeyPatch) -> None:
    from scalesearch.train import ProxyConfig, proxy, train_proxy

    monkeypatch.setattr(proxy, "build", lambda *a, **k: pytest.fail("built a network"))
    data = proxy.load_data("synthetic")
    with pytest.raises(SpecError, match=r"-proxy' is too big to train in memory: .* x batch 10,000,000,000 x 3"):
        train_proxy(baseline("efficientnet-b0"), data, ProxyConfig(batch_size=10**10, device="cpu"))
    with pytest.raises(SpecError, match=r"too big to evaluate in memory: .* x batch 10,000,000,000\)"):
        train_proxy(baseline("efficientnet-b0"), data, ProxyConfig(eval_batch_size=10**10, device="cpu"))


# -- hostile input in a real process under a 6 GB address-space cap -------------------------------------

CAP = 6 * 2**30
HANG = 120  # seconds: a guard against hangs only; each of these answers in seconds (most of it importing torch)


def _cap() -> None:
    resource.setrlimit(resource.RLIMIT_AS, (CAP, CAP))


def _bomb() -> str:
    """Nine levels of nine aliases: 9**9 strings once expanded, a few hundred bytes on disk."""
    lines = ["a: &a [" + ", ".join(['"x"'] * 9) + "]"]
    for prev, cur in zip("abcdefgh", "bcdefghi", strict=True):
        lines.append(f"{cur}: &{cur} [" + ", ".join([f"*{prev}"] * 9) + "]")
    return "\n".join(lines) + "\nname: *i\nstem: {channels: 8}\nstages: [{block: conv, channels: 8, layers: 1}]\n"


def _b0_file(folder: Path, name: str, change: dict[str, object], stage: int | None = None) -> str:
    data = yaml.safe_load(save_spec(baseline("efficientnet-b0"), folder / "b0.yaml").read_text())
    (data if stage is None else data["stages"][stage]).update(change)
    path = folder / name
    path.write_text(yaml.safe_dump(data, sort_keys=False))
    return str(path)


def _hostile(folder: Path) -> list[tuple[list[str], dict[str, str], str]]:
    """(arguments, environment, what the one error line must name)."""
    (folder / "bomb.yaml").write_text(_bomb())
    return [
        (["flops", "--depth", "1e300"], {}, "SCALESEARCH_MAX_LAYERS"),
        (["flops", *COEFFS, "--phi", "60", "--counter", "meta"], {}, "SCALESEARCH_MAX_LAYERS"),
        (["flops", "--width", "1e300"], {}, "SCALESEARCH_MAX_CHANNELS"),
        (["flops", "--image-size", "1000000000"], {}, "SCALESEARCH_MAX_RESOLUTION"),
        (["flops", "--baseline", _b0_file(folder, "layers.yaml", {"layers": 10**9}, 2)], {}, "SCALESEARCH_MAX_LAYERS"),
        (["flops", "--baseline", _b0_file(folder, "channels.yaml", {"channels": 10**9}, 2)], {},
         "SCALESEARCH_MAX_CHANNELS"),
        (["flops", "--baseline", _b0_file(folder, "res.yaml", {"resolution": 10**9})], {},
         "SCALESEARCH_MAX_RESOLUTION"),
        (["flops", "--baseline", str(folder / "bomb.yaml")], {}, "aliases expand to more than"),
        (["flops", "--latency", "--latency-batch", str(10**12)], {}, "SCALESEARCH_MAX_ACTIVATIONS"),
        (["flops", "--latency", "--latency-threads", "1000"], {}, "--latency-threads 1000"),
        (["scale", "--phi", "60", *COEFFS, "--out", str(folder / "out")], {}, "SCALESEARCH_MAX_LAYERS"),
        (["train", "--data", "synthetic", "--batch-size", str(10**12), "--device", "cpu"], {},
         "SCALESEARCH_MAX_ACTIVATIONS"),
        (["flops"], {"SCALESEARCH_MAX_LAYERS": "inf"}, "SCALESEARCH_MAX_LAYERS='inf'"),
        (["flops"], {"SCALESEARCH_MAX_ACTIVATIONS": "1e400"}, "SCALESEARCH_MAX_ACTIVATIONS='1e400'"),
    ]


def _run(args: list[str], env: dict[str, str], cache: Path) -> subprocess.CompletedProcess[str]:
    full = {**os.environ, "SCALESEARCH_CACHE_DIR": str(cache), "PYTHONPATH": str(ROOT), "COLUMNS": "80", **env}
    return subprocess.run([sys.executable, "-m", "scalesearch.cli.main", *args], capture_output=True, text=True,
                          env=full, preexec_fn=_cap, timeout=HANG, cwd=cache)


def test_torch_imports_under_the_address_space_cap(tmp_path: Path) -> None:
    result = subprocess.run([sys.executable, "-c", "import torch, fvcore.nn; print(torch.zeros(3).sum().item())"],
                            capture_output=True, text=True, preexec_fn=_cap, timeout=HANG)
    assert result.returncode == 0 and result.stdout.strip() == "0.0", result.stderr[-2000:]


@pytest.mark.slow
def test_hostile_inputs_are_one_line_under_a_6gb_address_space(tmp_path: Path) -> None:
    cases = _hostile(tmp_path)
    with concurrent.futures.ThreadPoolExecutor(max_workers=3) as pool:  # each process mostly imports torch
        results = list(pool.map(lambda case: _run(case[0], case[1], tmp_path), cases))
    for (args, env, names), result in zip(cases, results, strict=True):
        shown = (" ".join(args)[-120:], env)
        assert result.returncode == 2, (shown, result.returncode, result.stderr[-2000:])
        lines = result.stderr.strip().splitlines()
        assert len(lines) == 1 and lines[0].startswith("error: ") and names in lines[0], (shown, result.stderr[-2000:])
        assert "Traceback" not in result.stdout + result.stderr
    assert not (tmp_path / "out").exists()


def test_a_size_error_from_scaling_is_its_own_message() -> None:
    # A valid network beyond a limit is not "an invalid spec": the one line names the size and the variable.
    with pytest.raises(SizeError) as caught:
        scale(baseline("efficientnet-b0"), depth=1e6)
    assert str(caught.value).startswith("spec ") and "SCALESEARCH_MAX_LAYERS" in str(caught.value)
    assert "invalid spec" not in str(caught.value)


def test_scale_says_which_members_were_counted_on_the_meta_device(monkeypatch: pytest.MonkeyPatch,
                                                                   tmp_path: Path) -> None:
    monkeypatch.setenv("SCALESEARCH_MAX_ACTIVATIONS", "1e6")  # B0 (6.7e6 at 224 px) and above: meta
    monkeypatch.setenv("SCALESEARCH_CACHE_DIR", str(tmp_path / "cache"))
    result = runner.invoke(app, ["scale", "--phi", "0,1", *COEFFS, "--counter", "fvcore", "--out", str(tmp_path)])
    assert result.exit_code == 0, result.output
    assert "phi 0, 1: counted on the meta device" in " ".join(result.stdout.split())
