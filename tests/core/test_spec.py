import dataclasses

import pytest

from scalesearch.core.errors import SpecError
from scalesearch.core.scaling import scale
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
        dataclasses.replace(tiny_spec, activation="swish")
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


# -- the RegNet-Y and ConvNeXt fields ---------------------------------------------------------------------

@pytest.mark.parametrize(
    ("kwargs", "field", "why"),
    [
        ({"block": "regnet_y"}, "group_width", "needs the channels per group"),
        ({"block": "regnet_y", "group_width": 3}, "group_width", "must divide the bottleneck width 16"),
        ({"block": "regnet_y", "group_width": 32}, "group_width", "must divide the bottleneck width 16"),
        ({"block": "regnet_y", "group_width": 8, "expansion": 4}, "group_width", "bottleneck width 4"),
        ({"block": "regnet_y", "group_width": -8}, "group_width", "integer >= 0"),
        ({"block": "regnet_y", "group_width": 8.0}, "group_width", "integer >= 0"),
        ({"block": "mbconv", "group_width": 8}, "group_width", "only regnet_y stages"),
        ({"block": "convnext", "layer_scale": -1e-6}, "layer_scale", r"must lie in \[0.0, 1.0\]"),
        ({"block": "convnext", "layer_scale": "1e-6"}, "layer_scale", "must be a number"),
        ({"block": "convnext", "se_ratio": 0.25}, "se_ratio", "no squeeze-excite"),
        ({"block": "bottleneck", "layer_scale": 1e-6}, "layer_scale", "only convnext stages"),
    ],
)
def test_new_block_fields_refuse_bad_values_in_one_line(kwargs, field, why):
    args = {"channels": 16, "layers": 1} | kwargs
    with pytest.raises(SpecError, match=rf"^stage\.{field} = .*{why}") as err:
        StageSpec(**args)
    assert "\n" not in str(err.value)


@pytest.mark.parametrize(
    ("make", "field", "why"),
    [
        (lambda: StemSpec(channels=8, kernel=4, stride=2, patchify=True), "stem.stride", "equals its kernel"),
        (lambda: StemSpec(channels=8, kernel=4, stride=4, patchify=True, max_pool=True), "stem.max_pool",
         "no max pool"),
        (lambda: StemSpec(channels=8, patchify="yes"), "stem.patchify", "true or false"),
        (lambda: HeadSpec(layer_norm=1), "head.layer_norm", "true or false"),
    ],
)
def test_stem_and_head_fields_refuse_bad_values(make, field, why):
    with pytest.raises(SpecError, match=rf"^{field} = .*{why}"):
        make()


def test_a_resolution_the_downsampling_eats_is_refused():
    # A 4x4 patchify stem and three 2x2 downsamplings need 32 px: at 31 the last stage has no pixel left.
    stages = tuple(StageSpec(block="convnext", channels=8, layers=1, kernel=7, stride=s, expansion=4)
                   for s in (1, 2, 2, 2))
    make = lambda px: NetSpec(name="c", stem=StemSpec(channels=8, kernel=4, stride=4, patchify=True),  # noqa: E731
                              stages=stages, resolution=px)
    assert make(32).resolution == 32
    with pytest.raises(SpecError, match=r"^spec\.resolution = 31: too small for this network, whose downsampling "
                                        r"leaves no pixel before the classifier: it needs at least 32 px$"):
        make(31)
    with pytest.raises(SpecError, match=r"^scaling c: spec\.resolution = 8: .* at least 32 px$"):
        scale(make(32), image_size=8)


def test_new_kinds_round_trip_through_a_dict():
    from scalesearch.core.baselines import baseline

    for name in ("regnety-400mf", "regnety-800mf", "convnext-tiny"):
        spec = baseline(name)
        assert from_dict(to_dict(spec)) == spec
    data = to_dict(baseline("convnext-tiny"))
    assert data["stem"]["patchify"] is True and data["head"]["layer_norm"] is True
    assert data["stages"][0]["layer_scale"] == 1e-6 and "group_width" not in data["stages"][0]
    assert to_dict(baseline("regnety-800mf"))["stages"][0]["group_width"] == 16


def test_kind_specific_fields_are_written_only_when_set(tiny_spec):
    # Spec files and architecture keys of networks without the new fields stay what they were before them.
    data = to_dict(tiny_spec)
    assert set(data["stem"]) == {"channels", "kernel", "stride", "max_pool"}
    assert set(data["head"]) == {"channels"}
    assert all("group_width" not in s and "layer_scale" not in s for s in data["stages"])
