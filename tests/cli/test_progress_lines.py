"""Long commands are never silent where stderr is no terminal (a pipe, a CI log, a file): `baselines` (about
2 minutes cold) and `scale` (70 s for a budget) print one plain line per measured network there, as `grid`
does; --json keeps stderr quiet. Typer's runner captures stderr, which is no terminal."""

from __future__ import annotations

import re
from pathlib import Path
from types import SimpleNamespace

import pytest
from typer.testing import CliRunner

from scalesearch.cli.main import app
from scalesearch.core.baselines import baselines
from scalesearch.core.spec import NetSpec
from scalesearch.core.specio import save_spec
from scalesearch.measure import measure

runner = CliRunner()


def fake_measure(spec: NetSpec, counter: str = "fvcore", **_: object) -> SimpleNamespace:
    return SimpleNamespace(flops=1000 * spec.resolution, params=10 * spec.resolution, conv_linear_flops=900)


def test_baselines_prints_a_line_per_network_when_stderr_is_no_terminal(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr("scalesearch.cli.baselines.measure", fake_measure)
    result = runner.invoke(app, ["baselines"])
    assert result.exit_code == 0, result.output
    lines = result.stderr.strip().splitlines()
    n = len(baselines())
    assert lines[0] == f"measuring {n} baselines (fvcore counter; each count is cached for the next run)"
    assert [re.match(r"\[(\d+)/(\d+)\] ", line).groups() for line in lines[1:]] == [  # type: ignore[union-attr]  # no match fails the test
        (str(i), str(n)) for i in range(1, n + 1)]
    assert lines[1] == f"[1/{n}] efficientnet-b0: 224.00K multiply-adds, 2.24K params"
    assert "efficientnet-b0" in result.stdout  # the table itself is on stdout


def test_baselines_json_keeps_stderr_quiet(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr("scalesearch.cli.baselines.measure", fake_measure)
    result = runner.invoke(app, ["baselines", "--json"])
    assert result.exit_code == 0 and result.stderr == ""


@pytest.fixture
def tiny_file(tmp_path: Path, tiny_spec: NetSpec) -> str:
    return str(save_spec(tiny_spec, tmp_path / "tiny.yaml"))


def test_scale_prints_a_line_per_member(tiny_file: str, tmp_path: Path) -> None:
    result = runner.invoke(app, ["scale", "--baseline", tiny_file, "--strategy", "paper", "--phi", "0:2",
                                 "--counter", "meta", "--out", str(tmp_path / "out")])
    assert result.exit_code == 0, result.output
    lines = result.stderr.strip().splitlines()
    assert lines[0] == "scaling tiny: building and measuring 3 network(s)"
    assert [line.split(":")[0] for line in lines[1:]] == ["[1/3] phi 0", "[2/3] phi 1", "[3/3] phi 2"]
    assert all("multiply-adds" in line for line in lines[1:])


def test_scale_with_a_budget_prints_a_line_per_network_it_measures(tiny_file: str, tiny_spec: NetSpec,
                                                                  tmp_path: Path) -> None:
    budget = 5 * measure(tiny_spec, "meta").flops
    result = runner.invoke(app, ["scale", "--baseline", tiny_file, "--strategy", "paper", "--target-flops",
                                 str(budget), "--counter", "meta", "--out", str(tmp_path / "out")])
    assert result.exit_code == 0, result.output
    lines = result.stderr.strip().splitlines()
    assert lines[0].startswith(f"solving phi for tiny within {budget:,} multiply-adds")
    assert len(lines) >= 4 and all(re.match(rf"\[{i}\] phi [0-9.]+: ", line) for i, line in enumerate(lines[1:], 1))
