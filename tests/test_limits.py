"""Size guards: absurd sizes are refused in one line before anything is built or counted."""

from __future__ import annotations

import time
from pathlib import Path

import pytest
import yaml
from typer.testing import CliRunner

from scalesearch.baselines import baseline, baselines
from scalesearch.cli.main import app
from scalesearch.errors import SpecError
from scalesearch.limits import LIMITS, check, estimate
from scalesearch.specio import load_spec, save_spec

runner = CliRunner()
COEFFS = ["--alpha", "1.2", "--beta", "1.1", "--gamma", "1.15"]


@pytest.mark.parametrize("args, limit", [
    (["flops", "--depth", "1e300", "--counter", "meta"], "SCALESEARCH_MAX_LAYERS"),
    (["flops", *COEFFS, "--phi", "60", "--counter", "meta"], "SCALESEARCH_MAX_LAYERS"),
    (["flops", "--image-size", "100000"], "SCALESEARCH_MAX_RESOLUTION"),
    (["flops", "--width", "1e300"], "SCALESEARCH_MAX_CHANNELS"),
    (["scale", "--phi", "60", *COEFFS], "SCALESEARCH_MAX_LAYERS"),
    (["scale", "--phi", "0:20", *COEFFS], "SCALESEARCH_MAX_ACTIVATIONS"),
    (["scale", "--phi", "0:1000", *COEFFS], "at most 64"),
])
def test_absurd_sizes_are_one_line_within_seconds(args: list[str], limit: str, tmp_path: Path) -> None:
    start = time.perf_counter()
    result = runner.invoke(app, [*args, *(["--out", str(tmp_path)] if args[0] == "scale" else [])])
    assert time.perf_counter() - start < 20  # hung for minutes before
    assert result.exit_code == 2, result.output
    assert limit in result.stderr and len(result.stderr.strip().splitlines()) == 1
    assert not list(tmp_path.iterdir())  # scale wrote nothing


@pytest.mark.parametrize("field, value", [("layers", 1_000_000_000), ("channels", 1_000_000_000)])
def test_spec_file_with_absurd_stage_is_refused_with_its_line(field: str, value: int, tmp_path: Path) -> None:
    data = yaml.safe_load((save_spec(baseline("efficientnet-b0"), tmp_path / "b0.yaml")).read_text())
    data["stages"][2][field] = value
    path = tmp_path / "big.yaml"
    path.write_text(yaml.safe_dump(data, sort_keys=False))
    with pytest.raises(SpecError, match=r"big.yaml.*too big to build or count"):
        load_spec(path)


def test_spec_file_with_absurd_resolution_is_refused(tmp_path: Path) -> None:
    data = yaml.safe_load((save_spec(baseline("efficientnet-b0"), tmp_path / "b0.yaml")).read_text())
    data["resolution"] = 1_000_000_000
    (tmp_path / "big.yaml").write_text(yaml.safe_dump(data, sort_keys=False))
    with pytest.raises(SpecError, match="SCALESEARCH_MAX_RESOLUTION"):
        load_spec(tmp_path / "big.yaml")


def test_every_registered_baseline_is_well_inside_the_limits() -> None:
    for name in baselines():
        check(baseline(name))  # raises if not
        size = estimate(baseline(name))
        assert size.activations < LIMITS["activations"][1] / 2, name


def test_a_limit_can_be_raised(monkeypatch: pytest.MonkeyPatch) -> None:
    from scalesearch.scaling import scale

    b0 = baseline("efficientnet-b0")
    with pytest.raises(SpecError, match="SCALESEARCH_MAX_RESOLUTION"):
        scale(b0, image_size=10_000)
    monkeypatch.setenv("SCALESEARCH_MAX_RESOLUTION", "20000")
    monkeypatch.setenv("SCALESEARCH_MAX_ACTIVATIONS", "1e12")
    assert scale(b0, image_size=10_000).resolution == 10_000
