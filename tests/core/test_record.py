"""The study record: round trips, the first-release refusal, and one owner for every stored key."""

from __future__ import annotations

import ast
from pathlib import Path

import optuna
import pytest
from study_builders import row, run, study_record, trial

from scalesearch.core.errors import SearchError, StorageError
from scalesearch.core.jsonio import dumps
from scalesearch.core.record import (
    Invocation,
    SeedRun,
    StudyRecord,
    TrialRecord,
    add_invocation,
    network_runs,
    stored_settings,
)
from scalesearch.core.runs import ProxyResult, RunStatus
from scalesearch.core.spec import NetSpec

PACKAGE = Path(__file__).resolve().parents[2] / "scalesearch"


def test_study_record_round_trips_through_an_optuna_study(tiny_spec: NetSpec) -> None:
    rec = study_record(tiny_spec, [row(0, 0, (1.0, 1.0, 1.0), 1000, baseline=True, feasible=False),
                                   row(1, 1, (1.2, 1.1, 1.15), 1900)])
    study = optuna.create_study(direction="maximize")
    rec.write(study)
    add_invocation(study, Invocation("2026-11-23T10:00:00+0000", 12.5, 2, False))
    back = StudyRecord.read(study)
    assert back.candidates == rec.candidates and back.networks == rec.networks
    assert back.baseline_spec == tiny_spec and back.target_flops == 1000 and back.fingerprint == rec.fingerprint
    assert back.invocations == (Invocation("2026-11-23T10:00:00+0000", 12.5, 2, False),)
    assert back.candidate_at((1.2, 1.1, 1.15)).index == 1  # type: ignore[union-attr]  # a candidate of the record
    assert back.candidate_at((1.3, 1.1, 1.15)) is None
    assert back.rungs == ((3, 1),)


def test_first_release_study_is_refused_in_one_line() -> None:
    study = optuna.create_study()
    study.set_user_attr("groups", [])  # what 0.1 wrote
    with pytest.raises(SearchError, match="written by scalesearch 0.1 .*rerun the search") as err:
        StudyRecord.read(study, "old")
    assert "\n" not in str(err.value)
    with pytest.raises(SearchError, match="another tool"):
        StudyRecord.read(optuna.create_study())


def test_a_study_from_before_the_rungs_is_refused_in_one_line(tiny_spec: NetSpec) -> None:
    study = optuna.create_study()
    study_record(tiny_spec, [row(0, 0, (1.0, 1.0, 1.0), 1000, baseline=True)]).write(study)
    study.set_user_attr("scalesearch_format", 2)  # sweep + confirm stages, before rungs and references
    with pytest.raises(SearchError, match=r"record format 2 \(an earlier scalesearch\), this version reads 3: "
                                          r"rerun the search") as err:
        StudyRecord.read(study, "before")
    assert "\n" not in str(err.value)


def test_trial_record_round_trips_with_plain_filter_attrs(tiny_spec: NetSpec) -> None:
    rec = study_record(tiny_spec, [row(0, 0, (1.0, 1.0, 1.0), 1000, baseline=True), row(1, 1, (1.2, 1.1, 1.15), 1900)])
    runs = (run(0, 0.9), run(1, 0.8, reused="trial 4"), run(2, 0.0, RunStatus.DIVERGED))
    t = trial(rec, 1, (0, 1, 2), runs, seed_param=False)
    back = TrialRecord.read(t)
    assert back == TrialRecord(1, 1, (0, 1, 2), 0, "test", runs)
    assert t.user_attrs["accuracy"] == pytest.approx(0.85) and t.user_attrs["status"] == "ok"
    assert (t.user_attrs["flops"], t.user_attrs["group"], t.user_attrs["network"]) == (1900, 1, 1)
    assert network_runs([t]) == {0: {1: list(runs)}}


def test_non_finite_numbers_are_stored_as_null_and_read_back_as_nan() -> None:
    result = ProxyResult(RunStatus.DIVERGED, 0.0, loss=float("inf"), val_loss=float("nan"), seed=3)
    text = dumps(SeedRun(result).to_dict())
    assert "Infinity" not in text and "NaN" not in text
    import json

    back = SeedRun.from_dict(json.loads(text))
    assert back.status is RunStatus.DIVERGED and back.seed == 3 and back.result.loss != back.result.loss


def _user_attr_literals(path: Path) -> list[str]:
    """String keys passed to set_user_attr(...) or read from .user_attrs[...] / .user_attrs.get(...)."""
    found = []
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute):
            target = node.func
            if target.attr == "set_user_attr" or (target.attr == "get" and isinstance(target.value, ast.Attribute)
                                                  and target.value.attr == "user_attrs"):
                if node.args and isinstance(node.args[0], ast.Constant):
                    found.append(f"{path.name}:{node.lineno}")
        if isinstance(node, ast.Subscript) and isinstance(node.value, ast.Attribute) \
                and node.value.attr == "user_attrs" and isinstance(node.slice, ast.Constant):
            found.append(f"{path.name}:{node.lineno}")
    return found


def test_no_module_but_record_spells_a_stored_key() -> None:
    offenders = [hit for path in sorted(PACKAGE.rglob("*.py")) if path.name != "record.py"
                 for hit in _user_attr_literals(path)]
    assert offenders == []
    assert _user_attr_literals(PACKAGE / "core" / "record.py")  # the check sees keys where they are


def test_a_record_without_a_cost_is_a_flops_record(tiny_spec):
    import dataclasses

    from study_builders import TARGET

    from scalesearch.core.record import CandidateRow

    rec = study_record(tiny_spec, [row(0, 0, (1.0, 1.0, 1.0), 1000, baseline=True)])
    assert (rec.cost, rec.target) == ("flops", TARGET)
    latency = dataclasses.replace(rec, settings={**rec.settings, "cost": "latency", "target": 5.0})
    assert (latency.cost, latency.target) == ("latency", 5.0)
    old = {k: v for k, v in rec.candidates[0].to_dict().items() if k != "latency_ms"}  # written before latency
    assert CandidateRow.from_dict(old).latency_ms is None


# -- a damaged record: one line naming the field -------------------------------------------------------------

def _stored(tiny_spec: NetSpec) -> optuna.Study:
    study = optuna.create_study(study_name="shape", direction="maximize")
    study_record(tiny_spec, [row(0, 0, (1.0, 1.0, 1.0), 1000, baseline=True),
                             row(1, 1, (1.2, 1.1, 1.15), 1900)]).write(study)
    return study


@pytest.mark.parametrize("key, value, says", [
    ("candidates", [{"index": 0}], "field 'candidates[0].alpha' is missing"),
    ("candidates", [], "field 'candidates' is [], not a list of 1 or more"),
    ("networks", [{"index": 0, "proxy_key": "p", "spec": {}, "members": [0]}], "field 'networks[0].spec' is not a "
                                                                               "network spec (spec: missing field"),
    ("networks", [{"index": 0, "proxy_key": 7, "spec": {}, "members": [0]}], "field 'networks[0].proxy_key' is 7"),
    ("baseline_spec", "tiny", "field 'baseline_spec' is not a network spec"),
    ("settings", {"w": 1.0}, "field 'settings.target_flops' is missing"),
    ("settings", {"w": float("nan"), "target_flops": 10}, "field 'settings.w' is nan, not a finite number"),
    ("settings", {"w": 1.0, "target_flops": 10, "rungs": [[2, 0]]}, "field 'settings.rungs[0][1]' is 0"),
    ("settings", {"w": 1.0, "target_flops": 10, "cost": "joules"}, "field 'settings.cost' is 'joules', not one of"),
    ("invocations", [{"finished_at": "t", "seconds": 1.0, "workers": 1, "interrupted": "no"}],
     "field 'invocations[0].interrupted' is 'no', not true or false"),
])
def test_a_study_record_of_the_wrong_shape_is_one_line_naming_the_field(tiny_spec: NetSpec, key: str, value: object,
                                                                        says: str) -> None:
    study = _stored(tiny_spec)
    StudyRecord.read(study, "shape")  # sound before the damage
    study.set_user_attr(key, value)
    with pytest.raises(StorageError) as err:
        StudyRecord.read(study, "shape")
    message = str(err.value)
    assert err.value.exit_code == 4 and "\n" not in message
    assert message.startswith(f"study 'shape': study record: {says}"), message
    assert message.endswith("move the study folder aside (or, in a shared storage, pick another --study name) and "
                            "rerun the search; finished proxy runs come back from the proxy-run cache (unless the "
                            "search ran with --no-cache)")


def test_settings_that_are_no_mapping_are_damage_not_a_study_to_write_again(tiny_spec: NetSpec) -> None:
    study = _stored(tiny_spec)
    assert stored_settings(study) is not None
    study.set_user_attr("settings", "oops")
    with pytest.raises(StorageError, match="field 'settings' is 'oops', not a mapping"):
        stored_settings(study)
    assert stored_settings(optuna.create_study()) is None  # nothing written yet: the record is written then


@pytest.mark.parametrize("change, says", [
    (lambda r: {**r, "accuracy": 7.5}, "field 'results[0].accuracy' is 7.5, not a fraction in [0, 1]"),
    (lambda r: {**r, "history": [0.5, float("inf")]}, "field 'results[0].history[1]' is inf"),
    (lambda r: {**r, "status": "won"}, "field 'results[0].status' is 'won', not one of ok, diverged, oom, pruned"),
    (lambda r: {**r, "seed": -1}, "field 'results[0].seed' is -1, not an integer >= 0"),
    (lambda r: {**r, "reused": 3}, "field 'results[0].reused' is 3, not text"),
])
def test_a_trial_record_of_the_wrong_shape_is_one_line_naming_the_field(tiny_spec: NetSpec, change, says: str) -> None:
    rec = study_record(tiny_spec, [row(0, 0, (1.0, 1.0, 1.0), 1000, baseline=True), row(1, 1, (1.2, 1.1, 1.15), 1900)])
    t = trial(rec, 1, (0,), (run(0, 0.9),), seed_param=False)
    attrs = dict(t.user_attrs)
    attrs["results"] = [change(attrs["results"][0])]
    damaged = optuna.trial.create_trial(state=t.state, params=t.params, distributions=t.distributions,
                                        user_attrs=attrs, value=t.value)
    with pytest.raises(StorageError) as err:
        TrialRecord.read(damaged)
    assert str(err.value).startswith(f"trial {damaged.number}: trial record: {says}"), str(err.value)
    assert "\n" not in str(err.value)
