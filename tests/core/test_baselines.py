import pytest

from scalesearch.core.baselines import RELEASED_EFFICIENTNETS, baseline, baselines, regnet_widths
from scalesearch.core.errors import UnknownBaselineError
from scalesearch.core.specio import save_spec
from scalesearch.measure import count
from scalesearch.nn import build

# torchvision's architectures, 1000 classes (docs/measurements.md); MobileNetV1 1.0-224 is the standard 4.2M.
REFERENCE_PARAMS = {
    "efficientnet-b0": 5_288_548,
    "efficientnet-b1": 7_794_184,
    "efficientnet-b2": 9_109_994,
    "efficientnet-b3": 12_233_232,
    "efficientnet-b4": 19_341_616,
    "efficientnet-b5": 30_389_784,
    "efficientnet-b6": 43_040_704,
    "efficientnet-b7": 66_347_960,
    "mobilenet-v2": 3_504_872,
    "resnet-50": 25_557_032,
    "efficientnetv2-s": 21_458_488,
    # torchvision's documented num_params (RegNet_Y_400MF_Weights, RegNet_Y_800MF_Weights, ConvNeXt_Tiny_Weights)
    "regnety-400mf": 4_344_144,
    "regnety-800mf": 6_432_512,
    "convnext-tiny": 28_589_128,
}
# torchvision's documented GFLOPS (the weights' "_ops", 3 decimals; the model docs' table rounds them to 0.4,
# 0.83, 4.46): multiply-adds of the conv and linear layers, the figure fvcore's conv+linear count is (ResNet-50:
# 4.089 there, 4,089,184,256 here). fvcore's total also counts the norms (docs/measurements.md).
DOCUMENTED_GFLOPS = {"regnety-400mf": 0.402, "regnety-800mf": 0.834, "convnext-tiny": 4.456}


@pytest.mark.parametrize("name", list(REFERENCE_PARAMS))
def test_parameter_counts_match_reference_exactly(name):
    model = build(baseline(name), device="meta")
    assert sum(p.numel() for p in model.parameters()) == REFERENCE_PARAMS[name]


@pytest.mark.parametrize("name", list(DOCUMENTED_GFLOPS))
def test_regnet_and_convnext_flops_match_torchvisions_documented_gflops(name):
    cost = count(baseline(name), "meta")  # conv + linear multiply-adds, as fvcore's conv+linear (tests/measure)
    assert cost.conv_linear_flops / 1e9 == pytest.approx(DOCUMENTED_GFLOPS[name], rel=0.02)
    assert round(cost.conv_linear_flops / 1e9, 3) == DOCUMENTED_GFLOPS[name]  # in fact to the documented digits


def test_regnet_widths_follow_the_quantized_linear_rule():
    # torchvision's regnet_y_400mf and regnet_y_800mf build these stages from (d, w_0, w_a, w_m). 800MF's
    # widths 56, 136 and 776 are not whole groups of 16: the group-width step moves them to 64, 144 and 784.
    assert regnet_widths(16, 48, 27.89, 2.09) == [(48, 1), (104, 3), (208, 6), (440, 6)]
    assert regnet_widths(14, 56, 38.84, 2.4) == [(56, 1), (136, 3), (320, 8), (776, 2)]
    assert [(s.channels, s.layers, s.group_width) for s in baseline("regnety-800mf").stages] == [
        (64, 1, 16), (144, 3, 16), (320, 8, 16), (784, 2, 16)]


def test_mobilenet_v1_is_the_standard_4_2m():
    n = sum(p.numel() for p in build(baseline("mobilenet-v1"), device="meta").parameters())
    assert round(n / 1e6, 1) == 4.2
    assert n == 4_231_976  # conv + BN + FC, as in the common implementations


def test_registry_lists_every_baseline():
    names = baselines()
    assert names[0] == "efficientnet-b0"
    assert set(REFERENCE_PARAMS) | {"mobilenet-v1"} == set(names)


@pytest.mark.parametrize("name", list(RELEASED_EFFICIENTNETS))
def test_released_models_use_the_released_settings(name):
    width, depth, px, dropout = RELEASED_EFFICIENTNETS[name]
    spec = baseline(name)
    assert spec.resolution == px and spec.dropout == dropout
    assert spec.scaling.width == width and spec.scaling.depth == depth


def test_unknown_name_suggests_close_names():
    with pytest.raises(UnknownBaselineError, match="did you mean efficientnet-b7"):
        baseline("efficientnet-b9")
    with pytest.raises(UnknownBaselineError, match="known:"):
        baseline("zzz")


def test_a_spec_file_works_wherever_a_name_does(tmp_path, tiny_spec):
    path = save_spec(tiny_spec, tmp_path / "mine.yaml")
    assert baseline(str(path)) == tiny_spec
