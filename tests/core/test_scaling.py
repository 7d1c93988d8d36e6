import math

import pytest

from scalesearch.core.baselines import baseline
from scalesearch.core.errors import FieldError
from scalesearch.core.scaling import POLICIES, compound, fit_groups, make_divisible, policy, scale
from scalesearch.core.spec import BlockKind


def test_compound_is_powers():
    d, w, r = compound(1.2, 1.1, 1.15, 2)
    assert (d, w, r) == pytest.approx((1.44, 1.21, 1.3225))
    assert compound(1.2, 1.1, 1.15, 0) == (1.0, 1.0, 1.0)
    d, w, r = compound(1.2, 1.1, 1.15, -1)
    assert d == pytest.approx(1 / 1.2)


@pytest.mark.parametrize("bad", [0.0, -1.2, math.inf, math.nan])
@pytest.mark.parametrize("position", [0, 1, 2])
def test_compound_rejects_bad_coefficients_by_field(bad, position):
    coefficients = [1.2, 1.1, 1.15]
    coefficients[position] = bad
    with pytest.raises(FieldError, match="must be a positive number") as info:
        compound(*coefficients, 1)
    assert info.value.field == ("alpha", "beta", "gamma")[position]


@pytest.mark.parametrize(("phi", "problem"), [(math.inf, "finite"), (5000, "too large")])
def test_compound_rejects_phi_it_cannot_use(phi, problem):
    with pytest.raises(FieldError, match=problem) as info:
        compound(1.2, 1.1, 1.15, phi)
    assert info.value.field == "phi"


@pytest.mark.parametrize(
    ("channels", "width", "expected"),
    [
        (32, 1.0, 32),
        (32, 1.1, 32),  # 35.2 -> 32; 32 >= 0.9 * 35.2
        (40, 1.1, 48),  # 44 -> 48 (round half up to a multiple of 8)
        (16, 1.4, 24),  # 22.4 -> 24
        (112, 1.2, 136),  # 134.4 -> 136
        (1280, 2.0, 2560),
        (16, 0.25, 8),  # floor: at least 8 channels
        (24, 0.3, 8),
    ],
)
def test_width_rounding_multiple_of_8(channels, width, expected):
    assert POLICIES["efficientnet"].channels(channels, width) == expected


def test_width_rounding_90_percent_guard():
    # 20 x 0.5 = 10 rounds to 8, which is below 90% of 10 -> one more divisor: 16.
    assert POLICIES["efficientnet"].channels(20, 0.5) == 16
    # 44 rounds to 48 (not below), 43 rounds to 40 >= 38.7 -> stays.
    assert POLICIES["efficientnet"].channels(43, 1.0) == 40


def test_depth_ceil_vs_nearest():
    ceil, nearest = POLICIES["efficientnet"], POLICIES["nearest"]
    assert ceil.layers(1, 1.2) == 2 and nearest.layers(1, 1.2) == 1
    assert ceil.layers(3, 1.2) == 4 and nearest.layers(3, 1.2) == 4
    assert ceil.layers(2, 1.1) == 3 and nearest.layers(2, 1.1) == 2
    assert ceil.layers(2, 1.25) == 3 and nearest.layers(2, 1.25) == 3  # 2.5 rounds half up
    # binary float error must not add a layer: 25 * 2.2 is 55.00000000000001 in floating point
    assert ceil.layers(25, 2.2) == 55 and ceil.layers(2, 1.1) == 3


def test_floors_when_scaling_down():
    b0 = baseline("efficientnet-b0")
    small = scale(b0, *compound(1.2, 1.1, 1.15, -6))
    assert all(s.layers >= 1 for s in small.stages)
    assert all(s.channels >= 8 for s in small.stages)
    assert small.stem.channels >= 8 and small.head.channels >= 8
    assert small.resolution >= 32


def test_resolution_divisor_reproduces_released_resolutions():
    pol = POLICIES["efficientnet"]
    assert pol.resolution(224, 1.15) == 256  # 257.6 -> nearest multiple of 4
    for px in (240, 260, 300, 380, 456, 528, 600):
        assert pol.resolution(224, px / 224) == px


def test_scale_records_requested_and_achieved():
    b0 = baseline("efficientnet-b0")
    spec = scale(b0, 1.2, 1.1, 1.15, coefficients=(1.2, 1.1, 1.15, 1.0))
    rec = spec.scaling
    assert rec is not None and rec.base == "efficientnet-b0" and rec.policy == "efficientnet"
    assert (rec.depth, rec.width, rec.resolution) == (1.2, 1.1, 1.15)
    assert rec.depth_achieved == pytest.approx(23 / 16, abs=1e-6)  # ceil gives every 1-layer stage a 2nd layer
    assert rec.resolution_achieved == pytest.approx(256 / 224, abs=1e-6)
    assert (rec.alpha, rec.beta, rec.gamma, rec.phi) == (1.2, 1.1, 1.15, 1.0)
    assert b0.scaling is None and b0.resolution == 224  # input untouched


def test_scale_nearest_policy_is_recorded():
    spec = scale(baseline("efficientnet-b0"), depth=1.2, policy="nearest")
    assert spec.scaling.policy == "nearest"
    # B0 layers 1,2,2,3,3,4,1 x 1.2 = 1.2,2.4,2.4,3.6,3.6,4.8,1.2 -> 1,2,2,4,4,5,1 (ceil would give 23)
    assert [s.layers for s in spec.stages] == [1, 2, 2, 4, 4, 5, 1]


@pytest.mark.parametrize("kwargs", [{"depth": 0}, {"width": -1.0}, {"resolution": math.nan}, {"image_size": 4},
                                    {"image_size": 64.0}])
def test_scale_rejects_bad_multipliers_by_field(kwargs):
    [(field, value)] = kwargs.items()
    with pytest.raises(FieldError) as info:
        scale(baseline("efficientnet-b0"), **kwargs)
    assert info.value.field == field and info.value.value is value


def test_unknown_policy():
    with pytest.raises(FieldError, match="efficientnet, nearest, regnet") as info:
        policy("floor")
    assert (info.value.field, info.value.value) == ("policy", "floor")


# -- RegNet's group widths and the regnet policy ----------------------------------------------------------

@pytest.mark.parametrize(
    ("channels", "expansion", "group_width", "expected"),
    [
        (56, 1, 16, (64, 16)),  # RegNetY-800MF's first stage: 56 is 3.5 groups of 16 -> 64
        (136, 1, 16, (144, 16)),  # and its second: 8.5 groups -> 9
        (104, 1, 8, (104, 8)),  # already whole groups
        (8, 1, 16, (8, 8)),  # narrower than one group: the group width shrinks to the bottleneck
        (72, 2, 16, (96, 16)),  # bottleneck 36: 32 is below 90% of 36 -> 48 (3 groups), channels 2 x 48
        (88, 1, 24, (96, 24)),  # 3.67 groups -> 4
        (60, 1, 24, (72, 24)),  # 2.5 groups -> 3 (ties up)
    ],
)
def test_fit_groups_makes_the_bottleneck_whole_groups(channels, expansion, group_width, expected):
    assert fit_groups(channels, expansion, group_width) == expected


def test_make_divisible_is_torchvisions_rule():
    assert [make_divisible(v, 8) for v in (3, 12, 13, 20, 35.2, 36)] == [8, 16, 16, 24, 32, 40]
    assert make_divisible(10, 8) == 16  # 8 would be below 90% of 10


def test_regnet_policy_rounds_depth_to_nearest_keeps_the_stem_and_has_no_guard():
    base = baseline("regnety-400mf")  # stages (48, 1), (104, 3), (208, 6), (440, 6); stem 32
    spec = scale(base, depth=1.25, width=0.5, policy="regnet")
    assert [s.layers for s in spec.stages] == [1, 4, 8, 8]  # 1.25, 3.75, 7.5, 7.5 to the nearest (ties up)
    assert [s.channels for s in spec.stages] == [24, 56, 104, 224]  # nearest multiple of 8 (52 -> 56, 220 -> 224)
    assert spec.stem.channels == 32 and spec.scaling.policy == "regnet"
    assert POLICIES["regnet"].channels(20, 0.5) == 8  # the efficientnet policy's guard would give 16
    assert scale(base, width=0.5).stem.channels == 16  # the other policies scale the stem


@pytest.mark.parametrize("name", ["regnety-400mf", "regnety-800mf"])
@pytest.mark.parametrize("policy_name", list(POLICIES))
def test_every_scaled_regnet_is_a_whole_number_of_groups(name, policy_name):
    base = baseline(name)
    for step in range(1, 41):  # width 0.1 .. 4.0
        spec = scale(base, width=step / 10, policy=policy_name)  # a StageSpec refuses any other
        for stage in spec.stages:
            assert stage.block is BlockKind.REGNET_Y
            assert stage.bottleneck % stage.group_width == 0 and stage.channels >= 8


def test_scaling_convnext_keeps_its_layers_and_stem_in_step():
    spec = scale(baseline("convnext-tiny"), *compound(1.2, 1.1, 1.15, 1))
    assert [(s.channels, s.layers) for s in spec.stages] == [(104, 4), (208, 4), (424, 11), (848, 4)]
    assert spec.stem.channels == spec.stages[0].channels and spec.stem.patchify and spec.head.layer_norm
    assert all(s.layer_scale == 1e-6 and s.kernel == 7 and s.expansion == 4 for s in spec.stages)
