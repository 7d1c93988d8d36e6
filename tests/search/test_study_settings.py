"""The stored study settings: every config field is marked (a new unmarked one is refused), the fingerprint
comes from the marked fields, the stored form is the one earlier studies have (same fingerprint, same default
study name), and the typed read-back takes its defaults from the config."""

from __future__ import annotations

import dataclasses
from pathlib import Path

import pytest

from scalesearch.core.decision import RaceSettings
from scalesearch.core.record import StudyRecord, fingerprint
from scalesearch.core.settings import (
    Pruner,
    Sampler,
    SettingsError,
    StudySettings,
    check_marked,
    runtime_fields,
    runtime_setting,
    study_fields,
    study_setting,
    unmarked,
)
from scalesearch.search.config import RUNTIME_PROXY_FIELDS, SearchConfig
from scalesearch.search.storage import load_study_at
from scalesearch.train import ProxyConfig

ROOT = Path(__file__).resolve().parents[2]
# The example study's baseline (efficientnet-b0) architecture key and its T: the default command's settings.
EXAMPLE_KEY, EXAMPLE_T = "4e3d00ecf51b5f73", 400_000_000


@pytest.mark.parametrize("cls", [SearchConfig, ProxyConfig])
def test_every_config_field_is_marked_study_or_runtime(cls: type) -> None:
    assert unmarked(cls) == []
    assert set(study_fields(cls)) | set(runtime_fields(cls)) == {f.name for f in dataclasses.fields(cls)}
    check_marked(cls)


def test_a_field_added_without_a_mark_is_refused() -> None:
    # A config with one new field nobody marked: the check (run when search/config.py is imported) names it,
    # and so does building the stored settings from it.
    Extended = dataclasses.make_dataclass(
        "Extended", [("new_knob", int, dataclasses.field(default=3))], bases=(SearchConfig,), frozen=True)
    assert unmarked(Extended) == ["new_knob"]
    with pytest.raises(SettingsError, match="new_knob"):
        check_marked(Extended)
    with pytest.raises(SettingsError, match="new_knob"):
        Extended().settings("key", 10)


def test_a_study_field_the_stored_settings_do_not_hold_is_refused() -> None:
    # Marked study but unknown to StudySettings: it would drop out of the fingerprint, so it is refused.
    Extended = dataclasses.make_dataclass(
        "Extended", [("new_knob", int, study_setting(3))], bases=(SearchConfig,), frozen=True)
    with pytest.raises(SettingsError, match="new_knob"):
        Extended().settings("key", 10)
    # Marked runtime: it may differ between runs of one study, and leaves the settings as they were.
    Runtime = dataclasses.make_dataclass(
        "Runtime", [("new_knob", int, runtime_setting(3))], bases=(SearchConfig,), frozen=True)
    assert Runtime().settings("key", 10) == SearchConfig().settings("key", 10)


def test_every_study_field_changes_the_fingerprint() -> None:
    base = SearchConfig()
    changed = {"w": -0.1, "baseline": "efficientnet-b1", "policy": "exact", "alpha": "1.0:1.2:0.1",
               "beta": "1.0:1.2:0.1", "gamma": "1.0:1.2:0.1", "tolerance": 0.1, "constraint": "measured",
               "data": "synthetic", "proxy": ProxyConfig(batch_size=64), "rungs": SearchConfig().rungs[:1],
               "promote": 0.3, "references": ("paper",), "sampler": Sampler.RANDOM, "pruner": Pruner.MEDIAN,
               "dedup": False, "image_size": 64, "seed_base": 1000, "race": RaceSettings(equivalence=2.0)}
    resolved = {"target_flops", "cost", "target", "latency"}  # stored as the plan resolves them
    assert set(changed) == set(study_fields(SearchConfig)) - resolved
    start = fingerprint(base.settings("key", 10))
    for name, value in changed.items():
        extra = {"n_trials": 5} if name == "sampler" else {}
        assert fingerprint(base.replace(**{name: value}, **extra).settings("key", 10)) != start, name
    for name, value in {"workers": 3, "study": "x", "out": Path("elsewhere"), "n_trials": 9,
                        "proxy": ProxyConfig(batch_size=32, device="cpu", threads=2, compile=True,
                                             curve_points=0)}.items():
        assert fingerprint(base.replace(**{name: value}).settings("key", 10)) == start, name
    assert set(RUNTIME_PROXY_FIELDS) == {"device", "threads", "workers", "compile", "eval_batch_size", "curve_points"}


@pytest.mark.parametrize("folder", ["results/example", "results/example/jitter"])
def test_committed_studies_read_back_and_keep_their_fingerprint(folder: str) -> None:
    study = load_study_at(ROOT / folder, None, None)
    record = StudyRecord.read(study, study.study_name)
    typed = StudySettings.from_stored(record.settings)
    assert typed.to_stored() == record.settings
    assert list(typed.to_stored()) == list(record.settings)  # the stored order too
    assert fingerprint(typed.to_stored()) == record.fingerprint
    assert typed.sampler is Sampler.GRID and typed.pruner is Pruner.NONE and typed.rungs == ((10, 2), (20, 2))


def test_the_default_command_resumes_the_example_study() -> None:
    # `scalesearch grid --target-flops 400M` with every other default: the committed example study's settings,
    # so the same name (a rerun of the same command resumes the same study).
    config = SearchConfig(target_flops=EXAMPLE_T)
    settings = config.settings(EXAMPLE_KEY, EXAMPLE_T)
    study = load_study_at(ROOT / "results/example", None, None)
    assert settings == StudyRecord.read(study).settings
    assert config.study_name(settings) == study.study_name == "efficientnet-b0-digits-300-ecd43931"


def test_a_non_flops_cost_is_stored_as_before() -> None:
    extra = {"cost": "latency", "target": 5.0, "cost_unit": "ms", "latency": {"device": "cpu", "threads": 1}}
    settings = SearchConfig().settings("key", 10, extra)
    assert list(settings)[:4] == ["cost", "target", "cost_unit", "latency"]
    assert {k: settings[k] for k in extra} == extra
    typed = StudySettings.from_stored(settings)
    assert (typed.cost, typed.cost_target, typed.latency) == ("latency", 5.0, {"device": "cpu", "threads": 1})
    assert StudySettings.from_stored({"target_flops": 10, "w": -0.07}).cost_target == 10.0


def test_the_read_back_defaults_are_the_configs() -> None:
    # A stored key missing reads as SearchConfig's default: one place for the defaults.
    typed = StudySettings.from_stored({"target_flops": 10, "w": -0.07})
    built = SearchConfig().study_settings("key", 10)
    for f in dataclasses.fields(StudySettings):
        if f.name not in ("baseline_architecture", "proxy", "target_flops"):
            assert getattr(typed, f.name) == getattr(built, f.name), f.name
    assert typed.promote == SearchConfig().promote == 0.5
    assert StudySettings.from_stored({"target_flops": 1, "sampler": "tpe"}).sampler is Sampler.TPE
    assert SearchConfig(sampler="tpe", n_trials=3).sampler is Sampler.TPE  # a string is taken as the member
