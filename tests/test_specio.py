import pytest

from scalesearch.errors import SpecError
from scalesearch.specio import load_spec, save_spec


@pytest.mark.parametrize("suffix", [".yaml", ".yml", ".json"])
def test_round_trip_through_files(tmp_path, tiny_spec, suffix):
    path = save_spec(tiny_spec, tmp_path / f"net{suffix}")
    assert load_spec(path) == tiny_spec


def test_scaled_spec_round_trip_keeps_the_record(tmp_path):
    from scalesearch.baselines import baseline
    from scalesearch.scaling import scale

    spec = scale(baseline("efficientnet-b0"), 1.2, 1.1, 1.15, coefficients=(1.2, 1.1, 1.15, 1.0))
    assert load_spec(save_spec(spec, tmp_path / "s.yaml")) == spec


def test_missing_file(tmp_path):
    with pytest.raises(SpecError, match="spec file not found"):
        load_spec(tmp_path / "nope.yaml")


def test_bad_suffix(tmp_path, tiny_spec):
    with pytest.raises(SpecError, match=r"\.yaml, \.yml or \.json"):
        save_spec(tiny_spec, tmp_path / "net.txt")


def test_malformed_yaml_names_the_line(tmp_path):
    path = tmp_path / "bad.yaml"
    path.write_text("name: x\nstem: {channels: 32\nstages:\n")
    with pytest.raises(SpecError, match=r"bad\.yaml: line 3: not valid YAML"):
        load_spec(path)


def test_invalid_field_names_field_and_line(tmp_path):
    path = tmp_path / "bad.yaml"
    path.write_text(
        "name: x\nstem: {channels: 32}\nstages:\n"
        "  - {block: mbconv, channels: 16, layers: 1}\n"
        "  - block: mbconv\n    channels: 24\n    layers: 0\n"
    )
    with pytest.raises(SpecError, match=r"line 7: stages\[1\]: stage\.layers = 0"):
        load_spec(path)


def test_unknown_field_in_json_names_the_line(tmp_path):
    path = tmp_path / "bad.json"
    path.write_text('{"name": "x",\n "stem": {"channels": 32},\n "stages": [\n  {"block": "conv", "channels": 8,'
                    ' "layers": 1, "kernal": 3}]}\n')
    with pytest.raises(SpecError, match=r"line 4: stages\[0\]: unknown field 'kernal'"):
        load_spec(path)
