"""scalesearch.compare on a tiny conv baseline: rows at matched FLOPs, the verdict on hand-made inputs,
files, resume after an interrupt, one-line errors. Training is faked here (tests/cli runs it for real)."""

from __future__ import annotations

import json
import math
from pathlib import Path

import pandas as pd
import pytest

from scalesearch import compare as lib
from scalesearch.core.errors import FieldError
from scalesearch.core.runs import ProxyResult, RunStatus
from scalesearch.core.spec import BlockKind, HeadSpec, NetSpec, StageSpec, StemSpec
from scalesearch.measure import measure
from scalesearch.train import ProxyConfig

PAPER = (1.2, 1.1, 1.15)


def compare_spec() -> NetSpec:
    """Plain conv stages of 64 and 96 channels, 4 and 6 layers: fine enough steps of width (multiples of 8) and
    depth for every strategy to land within 10% of 2x its FLOPs; counts in well under a second."""
    return NetSpec(name="tiny-conv", stem=StemSpec(channels=32),
                   stages=(StageSpec(block=BlockKind.CONV, channels=64, layers=4),
                           StageSpec(block=BlockKind.CONV, channels=96, layers=6, stride=2)),
                   head=HeadSpec(channels=128), resolution=64, num_classes=10)


def config(tmp_path: Path, **changes: object) -> lib.CompareConfig:
    values: dict[str, object] = {
        "data": "synthetic", "seeds": 2, "tolerance": 0.1, "phi_resolution": 0.05,
        "proxy": ProxyConfig(epochs=1, batch_size=64, base_resolution=16, threads=1, device="cpu"),
        "cache_path": tmp_path / "proxy.sqlite"}
    values.update(changes)
    return lib.CompareConfig(**values)  # type: ignore[arg-type]  # values: CompareConfig's keywords, mixed types


class FakeTrainer:
    """Accuracy from the network's depth and seed (deterministic); ``stop_after`` raises Ctrl-C on that call."""

    def __init__(self, stop_after: int | None = None) -> None:
        self.calls: list[tuple[str, int]] = []
        self.stop_after = stop_after

    def __call__(self, spec: NetSpec, data: object, proxy: ProxyConfig, *, seed: int = 0) -> ProxyResult:
        if self.stop_after is not None and len(self.calls) == self.stop_after:
            raise KeyboardInterrupt
        self.calls.append((spec.name, seed))
        return ProxyResult(RunStatus.OK, 0.5 + 0.01 * spec.total_layers + 0.001 * seed, epochs_run=1, seconds=0.1,
                           seed=seed)


def test_rows_land_within_the_tolerance_of_the_exact_target(tmp_path: Path) -> None:
    base = compare_spec()
    cfg = config(tmp_path)
    base_cost, rows = lib.match_models(base, PAPER, 1.0, cfg)
    assert [r.model for r in rows] == list(lib.MODELS)
    target = round(base_cost.flops * 2.0**1.0)  # multiply-adds
    for r in rows:
        assert r.target_flops == target
        assert r.member.cost.flops == measure(r.member.spec).flops  # measured on the rounded network
        assert abs(r.member.cost.flops / target - 1) <= cfg.tolerance, r.model
    single = {r.model: r.member.spec.scaling for r in rows}
    assert single["depth-only"].width_achieved == 1 and single["depth-only"].resolution_achieved == 1
    assert single["width-only"].depth_achieved == 1 and single["width-only"].resolution_achieved == 1
    assert single["resolution-only"].depth_achieved == 1 and single["resolution-only"].width_achieved == 1
    assert rows[3].recipe.alpha == 1.2 and rows[3].recipe.strategy is None  # compound: the given coefficients


def test_a_strategy_that_cannot_reach_the_target_is_named(tmp_path: Path) -> None:
    with pytest.raises(FieldError, match="compound cannot reach the target") as err:
        lib.match_models(compare_spec(), (1.0, 1.0, 1.0), 1.0, config(tmp_path))  # never grows
    assert err.value.field == "phi"
    with pytest.raises(FieldError, match=r"(depth|width|resolution)-only cannot reach .* within 0%"):
        lib.match_models(compare_spec(), PAPER, 1.0, config(tmp_path, tolerance=1e-6))


def test_references_choose_the_rows_beside_table_3(tmp_path: Path) -> None:
    _, rows = lib.match_models(compare_spec(), PAPER, 1.0, config(tmp_path, references=()))
    assert [r.model for r in rows] == [*lib.SINGLE, lib.COMPOUND]
    _, rows = lib.match_models(compare_spec(), PAPER, 1.0, config(tmp_path, references=("dwr", "paper")))
    assert [r.model for r in rows] == [*lib.SINGLE, lib.COMPOUND, "paper", "dwr"]  # in table order
    result = lib.compare(compare_spec(), PAPER, 1.0, config(tmp_path, references=()), trainer=FakeTrainer())
    assert [r.planned.model for r in result.rows] == [*lib.SINGLE, lib.COMPOUND]


@pytest.mark.parametrize("changes, text", [({"seeds": 0}, "seeds"), ({"tolerance": 0}, "tolerance"),
                                           ({"references": ("paper", "bogus")}, "references"),
                                           ({"references": ("dwr", "dwr")}, "references")])
def test_bad_settings_name_their_field(tmp_path: Path, changes: dict[str, object], text: str) -> None:
    with pytest.raises(FieldError) as err:
        config(tmp_path, **changes)
    assert err.value.field == text
    with pytest.raises(FieldError, match="must be a number > 0"):
        lib.match_models(compare_spec(), PAPER, 0.0, config(tmp_path))


def test_verdict_beats_when_every_margin_exceeds_two_standard_errors() -> None:
    compound = {0: 0.90, 1: 0.91, 2: 0.92}
    singles = {"depth-only": {0: 0.80, 1: 0.82, 2: 0.81}, "width-only": {0: 0.85, 1: 0.85, 2: 0.86},
               "resolution-only": {0: 0.70, 1: 0.72, 2: 0.71}}
    v = lib.verdict(compound, singles)
    assert v.beats_all is True and all(x.beats for x in v.rows)
    assert v.rows[0].test is not None and math.isclose(v.rows[0].test.margin, 0.10)
    assert "beats every single dimension" in v.summary()


def test_verdict_within_noise_names_the_dimension() -> None:
    compound = {0: 0.90, 1: 0.80, 2: 0.85}
    singles = {"depth-only": {0: 0.70, 1: 0.60, 2: 0.65}, "width-only": {0: 0.86, 1: 0.84, 2: 0.85},
               "resolution-only": {0: 0.60, 1: 0.61, 2: 0.59}}
    v = lib.verdict(compound, singles)
    assert [x.beats for x in v.rows] == [True, False, True]
    assert v.beats_all is False and "(not width-only)" in v.summary()
    assert "does not beat width-only beyond the noise" in v.rows[1].text()


def test_a_row_that_stalls_on_one_seed_widens_only_its_own_comparison() -> None:
    compound = {0: 0.98, 1: 0.97, 2: 0.98}
    singles = {"depth-only": {0: 0.70, 1: 0.96, 2: 0.95}, "width-only": {0: 0.88, 1: 0.87, 2: 0.89},
               "resolution-only": {0: 0.975, 1: 0.97, 2: 0.975}}
    v = lib.verdict(compound, singles)
    # Pooled, depth-only's stall (0.70) would make 2 SE ~0.13 for all three; per comparison width-only's
    # 10 points stand out of its own 1-point noise, and depth-only's does not.
    assert [x.beats for x in v.rows] == [False, True, False]
    assert v.rows[0].test is not None and v.rows[1].test is not None
    assert v.rows[0].test.standard_error > 10 * v.rows[1].test.standard_error


def test_verdict_with_one_seed_is_unknown_and_pairs_only_common_seeds() -> None:
    v = lib.verdict({0: 0.9}, {"depth-only": {0: 0.8}, "width-only": {0: 0.8}, "resolution-only": {1: 0.8}})
    assert v.beats_all is None and "--seeds 2" in v.summary()
    assert v.rows[2].test is None and "no common seed" in v.rows[2].text()


def test_files_are_written_and_parse(tmp_path: Path) -> None:
    result = lib.compare(compare_spec(), PAPER, 1.0, config(tmp_path), trainer=FakeTrainer())
    paths = lib.write_files(result, tmp_path / "out")
    assert sorted(p.name for p in paths.values()) == ["compare.csv", "compare.json", "compare.png"]
    frame = pd.read_csv(paths["csv"])
    assert list(frame["model"]) == list(lib.MODELS) and (abs(frame["flops_ratio_to_target"] - 1) <= 0.1).all()
    data = json.loads(paths["json"].read_text())
    assert data["format"] == lib.COMPARE_FORMAT and data["target_flops"] == result.target_flops
    assert data["config"]["seeds"] == 2 and data["verdict"]["rule"] == lib.RULE and data["device"]
    assert data["rows"][0]["accuracy_by_seed"].keys() == {"0", "1"} and data["wall_seconds"] >= 0
    assert paths["png"].stat().st_size > 1000


def test_an_interrupted_comparison_resumes_and_a_rerun_trains_nothing(tmp_path: Path) -> None:
    cfg = config(tmp_path)
    first = FakeTrainer(stop_after=4)
    with pytest.raises(KeyboardInterrupt):
        lib.compare(compare_spec(), PAPER, 1.0, cfg, trainer=first)
    assert len(first.calls) == 4  # kept in the cache
    second = FakeTrainer()
    result = lib.compare(compare_spec(), PAPER, 1.0, cfg, trainer=second)
    assert not set(second.calls) & set(first.calls)
    # compound and paper build the same network here: its runs are shared, not trained twice
    distinct = len({r.planned.member.spec.architecture_key() for r in result.rows})
    assert len(first.calls) + len(second.calls) == distinct * cfg.seeds
    third = FakeTrainer()
    again = lib.compare(compare_spec(), PAPER, 1.0, cfg, trainer=third)
    assert third.calls == [] and again.trained == 0
    assert [r.mean for r in again.rows] == [r.mean for r in result.rows]
