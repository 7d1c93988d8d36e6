"""A builder as the search's baseline: the same network written as a spec gives the same candidates at the same
measured cost; the study stores and reads the builder's networks; a tiny real search runs end to end."""

from __future__ import annotations

import json
import os
import textwrap
from pathlib import Path

import pandas as pd
import pytest
import search_fakes
from typer.testing import CliRunner

from scalesearch.cli.main import app
from scalesearch.core.specio import save_spec
from scalesearch.search.run import run_search

runner = CliRunner()
ROOT = Path(__file__).resolve().parents[2]
SMALL = ["--data", "synthetic", "--alpha", "1.0:2.0:0.2", "--beta", "1.0:1.4:0.2", "--gamma", "1.0:1.4:0.2",
         "--tolerance", "0.1"]


def run(*args: str):
    return runner.invoke(app, list(args))


@pytest.fixture
def same_network(tiny_spec, tmp_path: Path) -> tuple[str, str]:
    """(the tiny spec's file, a builder that builds that spec through scalesearch.nn.build at its multipliers)."""
    spec_file = save_spec(tiny_spec, tmp_path / "tiny.yaml")
    builder = tmp_path / "tiny_builder.py"
    builder.write_text(textwrap.dedent(f"""
        import dataclasses

        from scalesearch.core.scaling import scale
        from scalesearch.core.specio import load_spec
        from scalesearch.nn import build

        SPEC = load_spec({str(spec_file)!r})


        def tiny(depth, width, num_classes):
            scaled = scale(SPEC, depth=depth, width=width)  # the grid's rounding policy: efficientnet
            return build(dataclasses.replace(scaled, num_classes=num_classes))


        tiny.image_size = SPEC.resolution
        tiny.num_classes = SPEC.num_classes
    """))
    return str(spec_file), f"{builder}:tiny"


@pytest.mark.slow  # two dry runs: about 25 s of CPU
def test_a_builder_and_the_same_network_as_a_spec_give_the_same_flops_for_every_candidate(same_network, tmp_path):
    spec_file, builder = same_network
    rows = {}
    for name, baseline in (("spec", spec_file), ("builder", builder)):
        result = run("grid", "--baseline", baseline, *SMALL, "--out", str(tmp_path / "res"), "--dry-run", "--json")
        assert result.exit_code == 0, result.output
        rows[name] = json.loads(result.stdout)
    assert len(rows["spec"]) == len(rows["builder"]) > 8
    for s, b in zip(rows["spec"], rows["builder"], strict=True):
        assert (s["alpha"], s["beta"], s["gamma"], s["resolution_px"]) == (b["alpha"], b["beta"], b["gamma"],
                                                                            b["resolution_px"])
        assert (s["flops"], s["params"], s["activations"]) == (b["flops"], b["params"], b["activations"]), s
        assert s["group"] == b["group"]  # the same candidates collapse alike
        # (The proxies may differ: a spec's proxy rounds the candidate's rounded channels x proxy width again, a
        # builder is asked once for width x proxy width.)


@pytest.mark.slow
def test_the_builder_examples_dry_run(tmp_path):
    for example, extra in (("cifar_resnet.py:cifar_resnet", []), ("mobilenet_v2.py:mobilenet_v2",
                                                                   ["--image-size", "32"])):
        result = run("grid", "--baseline", str(ROOT / "examples" / example), *extra, *SMALL, "--out", str(tmp_path),
                     "--dry-run", "--json")
        assert result.exit_code == 0, result.output
        rows = json.loads(result.stdout)
        assert rows[0]["baseline"] and rows[0]["resolution_px"] == 32 and rows[0]["flops_ratio"] == 1.0
        assert all(r["flops"] > rows[0]["flops"] for r in rows[1:])


def test_grid_refuses_image_size_for_a_spec(same_network, tmp_path):
    spec_file, _ = same_network
    result = run("grid", "--baseline", spec_file, "--image-size", "64", *SMALL, "--out", str(tmp_path), "--dry-run")
    assert result.exit_code == 2 and "--image-size 64: sets the input size of a builder's network" in result.stderr


@pytest.mark.slow
def test_a_tiny_search_on_a_builder_then_report_and_scale_from(tmp_path):
    example = str(ROOT / "examples" / "cifar_resnet.py") + ":cifar_resnet"
    study = tmp_path / "res" / "b"
    args = ["grid", "--baseline", example, *SMALL, "--rungs", "1x1,2x1", "--batch-size", "16", "--train-subset",
            "32", "--workers", "1", "--references", "none", "--out", str(tmp_path / "res"), "--study", "b",
            "--no-cache"]
    result = run(*args)
    assert result.exit_code == 0, result.output
    frame = pd.read_csv(study / "trials.csv")
    assert len(frame) >= 8 and set(frame["status"]) <= {"ok", "diverged"}
    best = json.loads((study / "best.json").read_text())
    assert best["baseline_spec"]["kind"] == "builder" and (study / "report" / "index.html").exists()

    assert run("report", str(study)).exit_code == 0  # reads the stored builder networks, imports nothing

    scaled = run("scale", "--from", str(study), "--phi", "0:1", "--json")
    assert scaled.exit_code == 0, scaled.output
    models = json.loads(scaled.stdout)["models"]
    assert [m["builder_call"].split("(")[0] for m in models] == ["cifar_resnet", "cifar_resnet"]
    family = Path(models[0]["spec_file"])
    assert family.name == "family.py" and "def build(phi" in family.read_text()


@pytest.mark.slow
def test_spawned_workers_import_the_builder_from_the_study(small_config, tmp_path, monkeypatch):
    log = tmp_path / "trained.log"
    monkeypatch.setenv("SCALESEARCH_FAKE_LOG", str(log))
    config = small_config.replace(baseline=str(ROOT / "examples" / "cifar_resnet.py") + ":cifar_resnet", workers=2)
    outcome = run_search(config, trainer=search_fakes.building_train)
    assert outcome.complete and not outcome.errors
    assert outcome.plan.study_name.startswith("cifar_resnet-synthetic-")  # named after the builder's function
    pids = {line.split()[-1] for line in log.read_text().splitlines()}
    assert pids and str(os.getpid()) not in pids  # every proxy was built in a worker process
    assert all(n.spec.builder.endswith("cifar_resnet.py:cifar_resnet") for n in outcome.plan.space.networks())
