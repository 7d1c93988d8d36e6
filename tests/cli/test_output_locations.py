"""Output locations are checked before any work, and a failed write is one line (never a traceback); a save that
fails after the work still shows the result first."""

from __future__ import annotations

import json
import os
import stat
from pathlib import Path

import pytest
from typer.testing import CliRunner

from scalesearch.cli import output
from scalesearch.cli.main import app
from scalesearch.core.errors import UsageError

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


# --- what is at an output path: only a regular file or a new path is written (issue 22) -----------------------

@pytest.fixture
def specials(tmp_path: Path) -> dict[str, Path]:
    """A named pipe and a link (to a regular file) where an output would go: neither may become a file."""
    os.mkfifo(tmp_path / "pipe.csv")
    (tmp_path / "target.csv").write_text("kept\n")
    (tmp_path / "link.csv").symlink_to(tmp_path / "target.csv")
    return {"pipe": tmp_path / "pipe.csv", "link": tmp_path / "link.csv"}


def untouched(specials: dict[str, Path]) -> None:
    assert stat.S_ISFIFO(os.lstat(specials["pipe"]).st_mode)
    assert specials["link"].is_symlink() and specials["link"].read_text() == "kept\n"


@pytest.mark.parametrize("command", [["baselines"], ["flops"], ["train", "--data", "synthetic"]])
@pytest.mark.parametrize("kind", ["pipe", "link"])
def test_save_onto_a_fifo_or_a_link_is_refused_before_any_work(command: list[str], kind: str,
                                                                specials: dict[str, Path],
                                                                monkeypatch: pytest.MonkeyPatch) -> None:
    for name in ("scalesearch.cli.baselines.measure", "scalesearch.cli.flops.measure",
                 "scalesearch.cli.train.load_data"):
        monkeypatch.setattr(name, never)
    path = specials[kind]
    line = one_line_error(run(*command, "--save", str(path)))
    what = "a named pipe (FIFO)" if kind == "pipe" else "a symbolic link"
    assert line == (f"error: --save {path}: is {what}: only a regular file or a new path is written; "
                    "pick another --save")
    untouched(specials)


@pytest.mark.parametrize(("command", "name", "suffixes"), [
    (["baselines"], "out.txt", ".csv or .json"), (["flops"], "parts", ".csv or .json"),
    (["train", "--data", "synthetic"], "run.csv", ".json")])
def test_a_save_suffix_the_command_does_not_write_is_refused_before_any_work(
        command: list[str], name: str, suffixes: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    # `baselines --save out.txt` measured all 12 networks (2 minutes cold) before refusing the suffix.
    for target in ("scalesearch.cli.baselines.measure", "scalesearch.cli.flops.measure",
                   "scalesearch.cli.train.load_data"):
        monkeypatch.setattr(target, never)
    line = one_line_error(run(*command, "--save", str(tmp_path / name), "--json"))
    assert line == f"error: --save {tmp_path / name}: not a {suffixes} file name; pick another --save"
    assert not (tmp_path / name).exists()


def test_scale_refuses_a_fifo_among_the_family_files_before_counting(tmp_path: Path,
                                                                     monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr("scalesearch.cli.scale.scale_family", never)
    folder = tmp_path / "scale-efficientnet-b0-a1.2-b1.1-g1.15-efficientnet"
    folder.mkdir()
    os.mkfifo(folder / "phi1.yaml")
    line = one_line_error(run(*SCALE, "--out", str(tmp_path)))
    assert line == (f"error: --out {folder}: phi1.yaml is a named pipe (FIFO): only a regular file or a new path "
                    "is written; move it away or pick another --out")
    assert stat.S_ISFIFO(os.lstat(folder / "phi1.yaml").st_mode)


def test_report_refuses_a_link_among_its_files_before_drawing(tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
                                                              tiny_spec) -> None:
    from report_studies import make_study

    study = make_study(tmp_path / "tiny-study", tiny_spec)
    monkeypatch.setattr("scalesearch.cli.report.write_report", never)
    (study / "report").mkdir()
    (tmp_path / "mine.html").write_text("mine\n")
    (study / "report" / "index.html").symlink_to(tmp_path / "mine.html")
    line = one_line_error(run("report", str(study)))
    assert line.startswith(f"error: --out {study / 'report'}: index.html is a symbolic link")
    assert (tmp_path / "mine.html").read_text() == "mine\n" and (study / "report" / "index.html").is_symlink()


def test_compare_refuses_a_fifo_among_its_files_before_counting(tmp_path: Path,
                                                                monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr("scalesearch.cli.compare.lib.match_models", never)
    os.mkfifo(tmp_path / "compare.png")
    line = one_line_error(run("compare", "--alpha", "1.2", "--beta", "1.1", "--gamma", "1.15", "--out",
                              str(tmp_path)))
    assert line.startswith(f"error: --out {tmp_path}: compare.png is a named pipe (FIFO)")


def test_an_output_folder_option_is_checked_as_it_is_parsed(a_file: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr("scalesearch.cli.report.load_study_at", never)
    line = one_line_error(run("report", "--out", str(a_file), "--storage", "sqlite:///x.db"))
    assert line == f"error: --out {a_file}: is a file, not a folder; pick another --out"
