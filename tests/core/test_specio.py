import os

import pytest
from hang_guard import no_hang

from scalesearch.core.errors import SpecError
from scalesearch.core.specio import load_spec, save_spec


@pytest.mark.parametrize("suffix", [".yaml", ".yml", ".json"])
def test_round_trip_through_files(tmp_path, tiny_spec, suffix):
    path = save_spec(tiny_spec, tmp_path / f"net{suffix}")
    assert load_spec(path) == tiny_spec


def test_scaled_spec_round_trip_keeps_the_record(tmp_path):
    from scalesearch.core.baselines import baseline
    from scalesearch.core.scaling import scale

    spec = scale(baseline("efficientnet-b0"), 1.2, 1.1, 1.15, coefficients=(1.2, 1.1, 1.15, 1.0))
    assert load_spec(save_spec(spec, tmp_path / "s.yaml")) == spec


def test_json_floats_without_a_dot_load_back(tmp_path, tiny_spec):
    # json writes 1e-05 where YAML 1.1, which reads the files, wants a dot: the loader takes both.
    spec = tiny_spec.__class__(**{**tiny_spec.__dict__, "dropout": 1e-05})
    path = save_spec(spec, tmp_path / "net.json")
    assert '"dropout": 1e-05' in path.read_text()
    assert load_spec(path) == spec


@pytest.mark.parametrize("name", ["regnety-800mf", "convnext-tiny"])
@pytest.mark.parametrize("suffix", [".yaml", ".json"])
def test_regnet_and_convnext_specs_round_trip_through_files(tmp_path, name, suffix):
    from scalesearch.core.baselines import baseline
    from scalesearch.core.scaling import scale

    for spec in (baseline(name), scale(baseline(name), 1.2, 0.7, 1.15, policy="regnet")):
        assert load_spec(save_spec(spec, tmp_path / f"net{suffix}")) == spec


def test_a_bad_group_width_in_a_file_names_field_and_line(tmp_path):
    path = tmp_path / "bad.yaml"
    path.write_text(
        "name: x\nstem: {channels: 32}\nstages:\n"
        "  - {block: regnet_y, channels: 48, layers: 1, group_width: 8}\n"
        "  - block: regnet_y\n    channels: 104\n    layers: 2\n    group_width: 16\n"
    )
    with pytest.raises(SpecError, match=r"line 8: stages\[1\]: stage\.group_width = 16: must divide the bottleneck "
                                        r"width 104 \(channels / expansion\)$"):
        load_spec(path)


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


def _bomb(field: str) -> str:
    """Nine levels of nine aliases: 9**9 strings once expanded, a few hundred bytes on disk."""
    lines = ["a: &a [" + ", ".join(['"x"'] * 9) + "]"]
    for prev, cur in zip("abcdefgh", "bcdefghi", strict=True):
        lines.append(f"{cur}: &{cur} [" + ", ".join([f"*{prev}"] * 9) + "]")
    rest = "stem: {channels: 8}\nstages: [{block: conv, channels: 8, layers: 1}]\n"
    return "\n".join(lines) + f"\n{field}: *i\n" + rest


@pytest.mark.parametrize("field", ["name", "resolution", "activation"])
def test_yaml_alias_bomb_is_refused_quickly_in_one_short_line(tmp_path, field):
    path = tmp_path / "bomb.yaml"
    path.write_text(_bomb(field))
    # The work is bounded by the loader's own count of expanded values (the error says it stopped there); the
    # alarm only turns a hang into a failure, far above the milliseconds this takes.
    with no_hang("an alias bomb", 60), pytest.raises(SpecError, match="aliases expand to more than") as info:
        load_spec(path)
    assert len(str(info.value)) < 300 and "\n" not in str(info.value) and str(path) in str(info.value)


def test_self_referring_alias_and_deep_nesting_are_spec_errors(tmp_path):
    path = tmp_path / "odd.yaml"
    path.write_text("name: &a [*a]\n")
    with pytest.raises(SpecError, match="refers to a node that contains it"):
        load_spec(path)
    path.write_text("name: " + "[" * 5000 + "]" * 5000 + "\n")
    with pytest.raises(SpecError, match="nested too deeply"):
        load_spec(path)


def test_oversized_file_is_refused_before_parsing(tmp_path):
    path = tmp_path / "big.yaml"
    path.write_text("# padding\n" * 150_000)
    with pytest.raises(SpecError, match=r"big\.yaml: larger than 1 MB"):
        load_spec(path)


def test_long_values_are_previewed_not_echoed(tmp_path):
    path = tmp_path / "long.yaml"
    path.write_text(f"name: x\nactivation: {'y' * 5000}\nstem: {{channels: 8}}\n"
                    f"stages: [{{block: conv, channels: 8, layers: 1}}]\nresolution: [{', '.join(['7'] * 5000)}]\n")
    with pytest.raises(SpecError, match=r"line 2: spec\.activation = 'y+\.\.\.y+': must be one of") as info:
        load_spec(path)
    assert len(str(info.value)) < 300
    path.write_text("name: x\nstem: {channels: 8}\nstages: [{block: conv, channels: 8, layers: 1}]\n"
                    f"resolution: [{', '.join(['7'] * 5000)}]\n")
    with pytest.raises(SpecError, match=r"spec\.resolution = \[7, 7, 7, 7, 7, 7, \.\.\.\]: must be an integer") as info:
        load_spec(path)
    assert len(str(info.value)) < 300


def test_non_utf8_file_is_a_spec_error_naming_it(tmp_path):
    path = tmp_path / "latin1.yaml"
    path.write_bytes("name: caf\xe9\n".encode("latin-1"))
    with pytest.raises(SpecError, match=r"latin1\.yaml: not UTF-8 text \(byte 0xe9 at offset 9\)"):
        load_spec(path)


def test_folder_and_special_file_are_spec_errors_naming_them(tmp_path):
    with pytest.raises(SpecError, match=r": is a folder, not a spec file"):
        load_spec(tmp_path)
    fifo = tmp_path / "pipe.yaml"
    os.mkfifo(fifo)  # reading it would block forever
    with pytest.raises(SpecError, match=r"pipe\.yaml: not a regular file"):
        load_spec(fifo)


def test_unreadable_file_is_a_spec_error_naming_it(tmp_path, tiny_spec, monkeypatch):
    path = save_spec(tiny_spec, tmp_path / "locked.yaml")
    path.chmod(0)
    if os.geteuid() == 0:  # root reads any file: make the read fail as it would for anyone else
        def denied(*_args, **_kwargs):
            raise PermissionError(13, "Permission denied")

        monkeypatch.setattr(type(path), "open", denied)
    try:
        with pytest.raises(SpecError, match=r"locked\.yaml: cannot read the spec file \(Permission denied\)"):
            load_spec(path)
    finally:
        path.chmod(0o644)


def test_unreadable_baseline_is_one_line_through_the_cli(tmp_path):
    from typer.testing import CliRunner

    from scalesearch.cli.main import app

    path = tmp_path / "latin1.yaml"
    path.write_bytes(b"name: caf\xe9\n")
    result = CliRunner().invoke(app, ["flops", "--baseline", str(path)])
    assert result.exit_code == 2, result.output
    assert "not UTF-8 text" in result.stderr and len(result.stderr.strip().splitlines()) == 1
    assert "Traceback" not in result.output
