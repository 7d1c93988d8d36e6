import pytest

from scalesearch.core.baselines import RELEASED_EFFICIENTNETS, baseline, baselines
from scalesearch.core.errors import UnknownBaselineError
from scalesearch.core.specio import save_spec
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
}


@pytest.mark.parametrize("name", list(REFERENCE_PARAMS))
def test_parameter_counts_match_reference_exactly(name):
    model = build(baseline(name), device="meta")
    assert sum(p.numel() for p in model.parameters()) == REFERENCE_PARAMS[name]


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
