import dataclasses

import pytest

from scalesearch.core.errors import SpecError
from scalesearch.core.spec import BlockKind, HeadSpec, NetSpec, StageSpec, StemSpec, from_dict, to_dict


def test_dict_round_trip_keeps_every_field(tiny_spec):
    again = from_dict(to_dict(tiny_spec))
    assert again == tiny_spec
    assert to_dict(again) == to_dict(tiny_spec)


def test_strings_become_enums():
    s = StageSpec(block="fused_mbconv", channels=8, layers=1)
    assert s.block is BlockKind.FUSED_MBCONV


@pytest.mark.parametrize(
    ("kwargs", "field"),
    [
        ({"channels": 0}, "channels"),
        ({"layers": 0}, "layers"),
        ({"kernel": 4}, "kernel"),
        ({"stride": 0}, "stride"),
        ({"expansion": 0.5}, "expansion"),
        ({"se_ratio": 1.5}, "se_ratio"),
        ({"block": "transformer"}, "block"),
        ({"layers": 2.5}, "layers"),
        ({"layers": True}, "layers"),
    ],
)
def test_stage_validation_names_the_field(kwargs, field):
    args = {"block": "mbconv", "channels": 8, "layers": 1} | kwargs
    with pytest.raises(SpecError, match=rf"stage\.{field} ="):
        StageSpec(**args)


def test_net_validation_names_the_field(tiny_spec):
    with pytest.raises(SpecError, match=r"spec\.resolution ="):
        dataclasses.replace(tiny_spec, resolution=4)
    with pytest.raises(SpecError, match=r"spec\.dropout ="):
        dataclasses.replace(tiny_spec, dropout=1.0)
    with pytest.raises(SpecError, match=r"spec\.stages"):
        dataclasses.replace(tiny_spec, stages=())
    with pytest.raises(SpecError, match=r"spec\.activation"):
        dataclasses.replace(tiny_spec, activation="gelu")
    with pytest.raises(SpecError, match=r"stem\.channels"):
        StemSpec(channels=-1)
    with pytest.raises(SpecError, match=r"head\.channels"):
        HeadSpec(channels=-1)


def test_from_dict_reports_unknown_and_missing_fields(tiny_spec):
    data = to_dict(tiny_spec)
    data["stages"][1]["kernal"] = 3
    with pytest.raises(SpecError, match=r"stages\[1\]: unknown field 'kernal'"):
        from_dict(data)
    data = to_dict(tiny_spec)
    del data["stages"][0]["channels"]
    with pytest.raises(SpecError, match=r"stages\[0\]: missing field 'channels'"):
        from_dict(data)
    data = to_dict(tiny_spec)
    data["format"] = 99
    with pytest.raises(SpecError, match="format"):
        from_dict(data)


def test_architecture_key_ignores_names_and_training_settings(tiny_spec):
    renamed = dataclasses.replace(tiny_spec, name="other", dropout=0.5, drop_path=0.3)
    assert renamed.architecture_key() == tiny_spec.architecture_key()
    assert dataclasses.replace(tiny_spec, resolution=40).architecture_key() != tiny_spec.architecture_key()
    assert dataclasses.replace(tiny_spec, num_classes=5).architecture_key() != tiny_spec.architecture_key()


def test_specs_are_frozen(tiny_spec):
    with pytest.raises(dataclasses.FrozenInstanceError):
        tiny_spec.resolution = 64


def test_feature_channels_without_head():
    spec = NetSpec(name="n", stem=StemSpec(channels=8), stages=(StageSpec(block="conv", channels=24, layers=1),))
    assert spec.feature_channels == 24
