"""`scalesearch train` through Typer's runner: JSON, the table, and one-line errors with exit codes."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from typer.testing import CliRunner

from scalesearch.cli.main import app
from scalesearch.core.spec import NetSpec
from scalesearch.core.specio import save_spec

runner = CliRunner()
FAST = ["--data", "synthetic", "--epochs", "1", "--base-resolution", "16", "--proxy-width", "1", "--threads", "1",
        "--batch-size", "64", "--device", "cpu"]


@pytest.fixture
def tiny_file(tiny_spec: NetSpec, tmp_path: Path) -> str:
    path = tmp_path / "tiny.yaml"
    save_spec(tiny_spec, path)
    return str(path)


def test_json_is_the_only_stdout(tiny_file: str) -> None:
    result = runner.invoke(app, ["train", "--baseline", tiny_file, *FAST, "--seed", "2", "--json"])
    assert result.exit_code == 0, result.output
    out = json.loads(result.stdout)
    assert out["result"]["status"] == "ok" and out["result"]["seed"] == 2 and out["data"] == "synthetic"
    assert out["result"]["proxy_resolution"] == 16 and len(out["result"]["history"]) == 1
    assert out["config"]["lr"] == 0.1  # the optimizer's default, resolved


def test_save_writes_the_result_beside_the_table(tiny_file: str, tmp_path: Path) -> None:
    path = tmp_path / "runs" / "one.json"
    result = runner.invoke(app, ["train", "--baseline", tiny_file, *FAST, "--save", str(path)])
    assert result.exit_code == 0, result.output
    saved = json.loads(path.read_text())
    assert saved["result"]["status"] == "ok" and saved["network"] == "tiny"
    assert f"{saved['result']['accuracy']:.2%}" in result.stdout  # the file holds what the table shows


def test_table_and_resolution_multiplier(tiny_file: str) -> None:
    result = runner.invoke(app, ["train", "--baseline", tiny_file, *FAST, "--resolution", "1.5"])
    assert result.exit_code == 0, result.output
    assert "validation top-1" in result.stdout and "24 px" in result.stdout  # 16 px base x 1.5
    assert "never on the proxy" in result.stdout


@pytest.mark.parametrize("args, code, text", [
    (["--data", "nosuch"], 3, "unknown data source 'nosuch'"),
    (["--data", "imagefolder:/definitely/not/here"], 3, "does not exist"),
    (["--epochs", "0"], 2, "proxy epochs = 0"),
    (["--optimizer", "lamb"], 2, "'lamb' is not one of 'sgd', 'adamw'"),
    (["--device", "tpu"], 2, "device 'tpu'"),
])
def test_bad_input_is_one_line_and_an_exit_code(args: list[str], code: int, text: str) -> None:
    result = runner.invoke(app, ["train", *args, "--json"])
    assert result.exit_code == code, result.output
    assert text in result.output and result.stdout == "" and "Traceback" not in result.output


def test_save_below_a_regular_file_is_refused_before_training(tiny_file: str, tmp_path: Path,
                                                              monkeypatch: pytest.MonkeyPatch) -> None:
    def never(*_args, **_kwargs):
        raise AssertionError("trained before checking --save")

    monkeypatch.setattr("scalesearch.cli.train.load_data", never)
    monkeypatch.setattr("scalesearch.cli.train.train_proxy", never)
    (tmp_path / "f").write_text("a file\n")
    path = tmp_path / "f" / "r.json"
    for extra in ([], ["--json"]):
        result = runner.invoke(app, ["train", "--baseline", tiny_file, *FAST, "--save", str(path), *extra])
        assert result.exit_code == 2, result.output
        assert result.stderr.strip() == (f"error: --save {path}: {tmp_path / 'f'} is a file, not a folder; "
                                         "pick another --save")
        assert result.stdout == ""


@pytest.mark.parametrize("json_flag", [[], ["--json"]])
def test_failed_save_after_training_still_prints_the_result(tiny_file: str, tmp_path: Path,
                                                            monkeypatch: pytest.MonkeyPatch,
                                                            json_flag: list[str]) -> None:
    from scalesearch.cli import output

    def full(*_args, **_kwargs):
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(output, "write_text_atomic", full)
    path = tmp_path / "r.json"
    result = runner.invoke(app, ["train", "--baseline", tiny_file, *FAST, "--save", str(path), *json_flag])
    assert result.exit_code == 2, result.output
    assert result.stderr.strip().splitlines()[-1] == f"error: --save {path}: cannot write (No space left on device)"
    assert "Traceback" not in result.output
    if json_flag:
        assert json.loads(result.stdout)["result"]["status"] == "ok"
    else:
        assert "validation top-1" in result.stdout
