"""A builder's network in the torch-free core: references, the record, its key, its limits and its scaling."""

from __future__ import annotations

import dataclasses

import pytest

from scalesearch.core import limits
from scalesearch.core.builderspec import BuilderSpec, ModuleFacts, network_from_dict, network_to_dict, parse_reference
from scalesearch.core.errors import FieldError, SizeError, SpecError
from scalesearch.core.record import Network
from scalesearch.core.scaling import scale, scale_builder
from scalesearch.core.settings import StudySettings

FACTS = ModuleFacts(structure="a1b2c3d4e5f60718", params=1000, layers=10, channels=400, widest=64)


def spec(**changes) -> BuilderSpec:
    base = BuilderSpec(name="net", builder="/abs/models.py:net", depth=1.0, width=1.0, resolution=32,
                       num_classes=10, module=FACTS, activations=5000)
    return dataclasses.replace(base, **changes)


@pytest.mark.parametrize(("text", "target", "function", "is_file"), [
    ("examples/cifar_resnet.py:cifar_resnet", "examples/cifar_resnet.py", "cifar_resnet", True),
    ("pkg.models:build", "pkg.models", "build", False),
    ("models:build", "models", "build", False),
    (r"C:\nets\m.py:f", r"C:\nets\m.py", "f", True),
])
def test_references_name_a_file_or_a_module(text, target, function, is_file):
    ref = parse_reference(text)
    assert ref is not None and (ref.target, ref.function, ref.is_file) == (target, function, is_file)
    assert ref.text == text


@pytest.mark.parametrize("text", ["efficientnet-b0", "my-net.yaml", "net.json", "m.py:", ":f", "m.py:1f",
                                  "my net:f", r"C:\specs\x.yaml", "a-b.c:f"])
def test_names_and_spec_files_are_no_references(text):
    assert parse_reference(text) is None


def test_dict_round_trip_keeps_every_field():
    s = scale_builder(spec(), 1.2, 1.1, 1.15, count=lambda d, w, n, px: (FACTS, 7000), coefficients=(1.2, 1.1, 1.15, 1))
    data = network_to_dict(s)
    assert data["kind"] == "builder" and data["scaling"]["alpha"] == 1.2
    assert network_from_dict(data) == s
    record = Network(3, "k", s, (1, 2))
    assert Network.from_dict(record.to_dict()) == record


@pytest.mark.parametrize(("change", "field"), [
    ({"depth": 0.0}, "depth"), ({"width": float("nan")}, "width"), ({"resolution": 4}, "resolution"),
    ({"num_classes": 1}, "num_classes"), ({"builder": "net.yaml"}, "builder"), ({"activations": -1}, "activations"),
])
def test_validation_names_the_field(change, field):
    with pytest.raises(SpecError, match=rf"builder\.{field} ="):
        spec(**change)


def test_from_dict_refuses_unknown_and_missing_fields():
    data = network_to_dict(spec())
    data["depht"] = 1.0
    with pytest.raises(SpecError, match="builder: unknown field 'depht'"):
        network_from_dict(data)
    data = network_to_dict(spec())
    del data["module"]["params"]
    with pytest.raises(SpecError, match="builder.module"):
        network_from_dict(data)


def test_the_key_is_the_structure_and_the_input_size():
    key = spec().architecture_key()
    # Another builder, name and multipliers that make the same module at the same size: the same network.
    assert spec(name="other", builder="pkg.mod:other", depth=2.0, width=0.5).architecture_key() == key
    assert spec(resolution=36).architecture_key() != key
    assert spec(module=dataclasses.replace(FACTS, structure="ffffffffffffffff")).architecture_key() != key


def test_limits_hold_the_counted_module(monkeypatch):
    monkeypatch.setenv("SCALESEARCH_MAX_LAYERS", "9")
    with pytest.raises(SizeError, match="10 conv and linear layers, over the limit of 9"):
        spec()
    monkeypatch.delenv("SCALESEARCH_MAX_LAYERS")
    assert limits.estimate(spec()).activations == 5000
    monkeypatch.setenv("SCALESEARCH_MAX_ACTIVATIONS", "4999")
    assert "5,000 activation elements held" in (limits.over_memory(spec()) or "")


def test_scale_builder_asks_the_builder_and_measures_what_it_got():
    calls = []
    grown = ModuleFacts(structure="0" * 16, params=2500, layers=13, channels=572, widest=72)

    def count(depth, width, classes, px):
        calls.append((depth, width, classes, px))
        return grown, 9000

    s = scale_builder(spec(width=0.5), 1.2, 1.1, 1.15, count=count)
    assert calls == [(1.2, 0.55, 10, 36)]  # the builder's own multipliers times the request; pixels rounded to 4
    r = s.scaling
    assert (s.depth, s.width, s.resolution, s.activations) == (1.2, 0.55, 36, 9000)
    assert (r.depth_achieved, r.width_achieved, r.params_factor, r.resolution_achieved) == (1.3, 1.1, 2.5, 1.125)
    assert s.name == "net-d1.2-w1.1-r1.15"
    proxy = scale_builder(s, width=0.25, image_size=40, num_classes=3, count=count)
    assert calls[-1] == (1.2, 0.1375, 3, 40) and proxy.num_classes == 3


def test_scale_builder_checks_the_request_before_calling():
    with pytest.raises(FieldError, match="depth"):
        scale_builder(spec(), depth=-1.0, count=lambda *a: pytest.fail("called"))


def test_scale_points_a_builder_network_to_scale_network():
    with pytest.raises(SpecError, match="scalesearch.nn.scale_network"):
        scale(spec(), 1.2)


def test_study_settings_store_the_image_size_only_when_set():
    stored = StudySettings(target_flops=10).to_stored()
    assert "image_size" not in stored
    assert StudySettings(target_flops=10, image_size=64).to_stored()["image_size"] == 64
