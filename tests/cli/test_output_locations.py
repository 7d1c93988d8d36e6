"""Output locations are checked before any work, and a failed write is one line (never a traceback); a save that
fails after the work still shows the result first."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from typer.testing import CliRunner

from scalesearch.cli import output
from scalesearch.cli.main import app
from scalesearch.errors import UsageError

runner = CliRunner()


def run(*args: str):
    return runner.invoke(app, list(args))


def one_line_error(result, code: int = 2) -> str:
    assert result.exit_code == code, result.output
    assert result.exception is None or isinstance(result.exception, SystemExit), result.exception
    assert "Traceback" not in result.output
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("error: "), result.stderr
    return lines[0]


def never(*_args, **_kwargs):
    raise AssertionError("work started before the output location was checked")


@pytest.fixture
def a_file(tmp_path: Path) -> Path:
    path = tmp_path / "taken"
    path.write_text("not a folder\n")
    return path


def no_access(monkeypatch: pytest.MonkeyPatch) -> None:
    """Root passes every permission check; pretend it does not."""
    monkeypatch.setattr(output.os, "access", lambda *_a, **_k: False)


# --- the helpers ---------------------------------------------------------------------------------------------

def test_check_writable_accepts_missing_folders_and_creates_nothing(tmp_path: Path) -> None:
    target = tmp_path / "a" / "b"
    assert output.check_writable_dir(target, "--out") == target and not (tmp_path / "a").exists()
    assert output.check_writable_file(tmp_path / "c" / "r.json", "--save") == tmp_path / "c" / "r.json"
    assert not (tmp_path / "c").exists()


def test_check_writable_messages(a_file: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    with pytest.raises(UsageError, match=r"^--out .*taken: is a file, not a folder; pick another --out$"):
        output.check_writable_dir(a_file, "--out")
    with pytest.raises(UsageError, match=r"^--out .*taken/x: .*taken is a file, not a folder; pick another --out$"):
        output.check_writable_dir(a_file / "x", "--out")
    with pytest.raises(UsageError, match=r"^--save .*taken/r.json: .*taken is a file, not a folder"):
        output.check_writable_file(a_file / "r.json", "--save")
    with pytest.raises(UsageError, match=r"^--save .*: is a folder, not a file"):
        output.check_writable_file(tmp_path, "--save")
    no_access(monkeypatch)
    with pytest.raises(UsageError, match=r"^--out .*: the folder is not writable; pick another --out$"):
        output.check_writable_dir(tmp_path, "--out")


# --- grid --out ----------------------------------------------------------------------------------------------

@pytest.mark.parametrize("json_flag", [[], ["--json"]])
def test_grid_out_that_is_a_file_is_refused_before_planning(a_file: Path, monkeypatch: pytest.MonkeyPatch,
                                                            json_flag: list[str]) -> None:
    monkeypatch.setattr("scalesearch.cli.grid.plan", never)
    line = one_line_error(run("grid", "--data", "synthetic", "--out", str(a_file), *json_flag))
    assert line == f"error: --out {a_file}: is a file, not a folder; pick another --out"


def test_grid_out_below_a_file_or_unwritable(a_file: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr("scalesearch.cli.grid.plan", never)
    line = one_line_error(run("grid", "--data", "synthetic", "--out", str(a_file / "results")))
    assert line == f"error: --out {a_file / 'results'}: {a_file} is a file, not a folder; pick another --out"
    no_access(monkeypatch)
    line = one_line_error(run("grid", "--data", "synthetic", "--out", str(tmp_path / "r"), "--json"))
    assert line == f"error: --out {tmp_path / 'r'}: {tmp_path} is not writable; pick another --out"


# --- scale --out ---------------------------------------------------------------------------------------------

SCALE = ["scale", "--phi", "1", "--alpha", "1.2", "--beta", "1.1", "--gamma", "1.15"]


def test_scale_out_that_is_a_file_below_a_file_or_unwritable(a_file: Path, tmp_path: Path,
                                                              monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr("scalesearch.cli.scale.scale_family", never)
    line = one_line_error(run(*SCALE, "--out", str(a_file)))
    assert line == f"error: --out {a_file}: is a file, not a folder; pick another --out"
    line = one_line_error(run(*SCALE, "--out", str(a_file / "x"), "--json"))
    assert line == f"error: --out {a_file / 'x'}: {a_file} is a file, not a folder; pick another --out"
    no_access(monkeypatch)
    line = one_line_error(run(*SCALE, "--out", str(tmp_path / "fam")))  # (Click itself checks an existing path)
    assert line == f"error: --out {tmp_path / 'fam'}: {tmp_path} is not writable; pick another --out"


def test_scale_write_that_fails_later_is_one_line(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    def full(*_args, **_kwargs):
        raise OSError(28, "No space left on device")

    monkeypatch.setattr("scalesearch.cli.scale.write_family", full)
    line = one_line_error(run(*SCALE, "--out", str(tmp_path), "--json"))
    assert line.startswith(f"error: --out {tmp_path}") and line.endswith(
        "cannot write the spec files (No space left on device)")


# --- --save of flops and baselines ---------------------------------------------------------------------------

def test_flops_save_below_a_file_is_refused_before_counting(a_file: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr("scalesearch.cli.flops.measure", never)
    for extra in ([], ["--json"]):
        line = one_line_error(run("flops", "--save", str(a_file / "parts.csv"), *extra))
        assert line == (f"error: --save {a_file / 'parts.csv'}: {a_file} is a file, not a folder; "
                        "pick another --save")


def test_baselines_save_unwritable_is_refused_before_counting(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr("scalesearch.cli.baselines.measure", never)
    no_access(monkeypatch)
    line = one_line_error(run("baselines", "--save", str(tmp_path / "b.csv")))
    assert line == f"error: --save {tmp_path / 'b.csv'}: the folder is not writable; pick another --save"
    line = one_line_error(run("baselines", "--save", str(tmp_path / "new" / "b.csv")))
    assert line == f"error: --save {tmp_path / 'new' / 'b.csv'}: {tmp_path} is not writable; pick another --save"


def test_flops_save_that_fails_later_still_prints_the_result(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    def full(*_args, **_kwargs):
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(output, "write_text_atomic", full)
    save = tmp_path / "parts.csv"
    result = run("flops", "--counter", "meta", "--json", "--save", str(save))
    line = one_line_error(result)
    assert line == f"error: --save {save}: cannot write (No space left on device)"
    assert json.loads(result.stdout)["cost"]["flops"] > 0  # the result came first
    result = run("flops", "--counter", "meta", "--save", str(save))
    one_line_error(result)
    assert "multiply-adds" in result.stdout
