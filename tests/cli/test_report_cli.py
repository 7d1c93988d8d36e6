"""`scalesearch report` through Typer's runner: the files, --json, and one-line errors for bad input."""

from __future__ import annotations

import json
import re
from pathlib import Path

import optuna
import pytest
from report_studies import make_study
from typer.testing import CliRunner

from scalesearch.cli.main import app
from scalesearch.core.spec import NetSpec

runner = CliRunner()


def run(*args: str):
    return runner.invoke(app, list(args))


def one_line_error(result, code: int) -> str:
    assert result.exit_code == code, result.output
    assert "Traceback" not in result.output
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("error: "), result.stderr
    return lines[0]


@pytest.fixture
def study(tmp_path: Path, tiny_spec: NetSpec) -> Path:
    optuna.logging.set_verbosity(optuna.logging.ERROR)
    return make_study(tmp_path / "tiny-study", tiny_spec)


def test_report_writes_and_lists_the_files(study: Path) -> None:
    result = run("report", str(study))
    assert result.exit_code == 0, result.output
    assert "index.html" in result.stdout and "noise:" in result.stdout
    assert (study / "report" / "index.html").is_file() and (study / "report" / "leaders.png").is_file()


def test_json_is_only_json(study: Path, tmp_path: Path) -> None:
    result = run("report", str(study), "--json", "--out", str(tmp_path / "elsewhere"))
    assert result.exit_code == 0, result.output
    data = json.loads(result.stdout)
    assert [Path(p).name for p in data["files"]][-2:] == ["index.html", "summary.md"]
    assert data["finished"] is True and "verdict" in data["noise"]
    assert all(Path(p).parent == tmp_path / "elsewhere" for p in data["files"])


def test_shared_storage_by_name(study: Path, tmp_path: Path) -> None:
    url = f"sqlite:///{study / 'study.db'}"
    result = run("report", "--storage", url, "--study", "tiny-study", "--out", str(tmp_path / "r"), "--json")
    assert result.exit_code == 0, result.output
    assert (tmp_path / "r" / "index.html").is_file()
    line = one_line_error(run("report", "--storage", url, "--study", "nope", "--out", str(tmp_path / "r")), 2)
    assert "--study 'nope': not in" in line and "tiny-study" in line


def test_a_running_study_says_so(tmp_path: Path, tiny_spec: NetSpec) -> None:
    folder = make_study(tmp_path / "live", tiny_spec, running=True)
    result = run("report", str(folder))
    assert result.exit_code == 0, result.output
    assert "not finished" in result.stderr


def test_not_a_study_folder(tmp_path: Path) -> None:
    (tmp_path / "plain").mkdir()
    line = one_line_error(run("report", str(tmp_path / "plain")), 2)
    assert "is not a study folder (no study.db)" in line and str(tmp_path / "plain") in line
    assert "no such folder" in one_line_error(run("report", str(tmp_path / "missing")), 2)


def test_a_study_with_nothing_finished(tmp_path: Path, tiny_spec: NetSpec) -> None:
    folder = make_study(tmp_path / "empty", tiny_spec, trained=False)
    line = one_line_error(run("report", str(folder)), 5)
    assert "no finished proxy run yet" in line and str(folder) in line


def test_a_study_of_an_older_format(tmp_path: Path) -> None:
    folder = tmp_path / "old"
    folder.mkdir()
    old = optuna.create_study(study_name="old", storage=f"sqlite:///{folder / 'study.db'}")
    old.set_user_attr("groups", [])  # what scalesearch 0.1 stored
    line = one_line_error(run("report", str(folder)), 5)
    assert "written by scalesearch 0.1" in line and str(folder) in line


def test_not_a_database(tmp_path: Path) -> None:
    folder = tmp_path / "junk"
    folder.mkdir()
    (folder / "study.db").write_text("not sqlite\n")
    line = one_line_error(run("report", str(folder)), 4)
    assert "cannot open study storage" in line


# --- the family a report draws is its own study's (issue 22) ---------------------------------------------------

def with_best(folder: Path) -> Path:
    """best.json as grid writes it, for `scale --from`."""
    from scalesearch.report.outputs import write_outputs

    s = optuna.load_study(study_name="tiny-study", storage=f"sqlite:///{folder / 'study.db'}")
    write_outputs(s, folder, storage="sqlite", command="scalesearch grid", finished=True, seconds=1.0)
    return folder


def test_report_draws_its_own_studys_family_and_says_which(study: Path, tmp_path: Path) -> None:
    best = json.loads((with_best(study) / "best.json").read_text())
    spec = tmp_path / "tiny.yaml"
    spec.write_text(json.dumps(best["baseline_spec"]))
    coefficients = ["--alpha", str(best["alpha"]), "--beta", str(best["beta"]), "--gamma", str(best["gamma"])]
    # A decoy beside the study: `scale` with the leader's coefficients and the default --out (the parent).
    decoy = run("scale", "--baseline", str(spec), *coefficients, "--phi", "0:3", "--counter", "meta",
                "--out", str(study.parent), "--json")
    assert decoy.exit_code == 0, decoy.output
    decoy_dir = Path(json.loads(decoy.stdout)["summary_csv"]).parent
    assert decoy_dir.parent == study.parent

    result = run("report", str(study), "--json")  # no family of its own yet: the decoy is not drawn
    assert result.exit_code == 0, result.output
    data = json.loads(result.stdout)
    assert "family.png" not in [Path(f).name for f in data["files"]]
    assert not any("family" in note for note in data["notes"])

    own = run("scale", "--from", str(study), "--phi", "0:1", "--counter", "meta", "--json")  # into the study
    assert own.exit_code == 0, own.output
    own_summary = Path(json.loads(own.stdout)["summary_csv"])
    assert own_summary.parent.parent == study and own_summary.parent.name == decoy_dir.name

    result = run("report", str(study))
    assert result.exit_code == 0, result.output
    assert f"note: family.png drawn from {own_summary} (phi 0, 1)" in result.stderr
    assert (study / "report" / "family.png").is_file()


def test_a_report_drawn_again_is_the_same_bytes(study: Path) -> None:
    # `scalesearch report results/example` must leave the committed files as they are.
    assert run("report", str(study)).exit_code == 0
    first = {p.name: p.read_bytes() for p in (study / "report").iterdir()}
    assert run("report", str(study)).exit_code == 0
    assert {p.name: p.read_bytes() for p in (study / "report").iterdir()} == first


def test_the_committed_example_report_is_reproduced(tmp_path: Path) -> None:
    # The README's own `scale --phi 0:3 ...` writes results/scale-...-efficientnet/ beside results/example: the
    # report of the example keeps drawing the example's own family (phi 0-4), and its page and table come out
    # as committed. (The PNGs depend on matplotlib's version and fonts; their drawing is the same code.)
    import shutil

    example = Path(__file__).resolve().parents[2] / "results" / "example"
    copy = tmp_path / "results" / "example"
    shutil.copytree(example, copy, ignore=shutil.ignore_patterns("jitter", "compare"))
    decoy = tmp_path / "results" / "scale-efficientnet-b0-a1-b1.2-g1.15-efficientnet"
    decoy.mkdir()
    (decoy / "summary.csv").write_text("phi,flops_ratio\n0,1\n")  # not even drawable: must not be looked at
    result = run("report", str(copy), "--json")
    assert result.exit_code == 0, result.output
    notes = json.loads(result.stdout)["notes"]
    assert any(n.startswith(f"family.png drawn from {copy / decoy.name / 'summary.csv'} (phi 0, 1, 2, 3, 4)")
               for n in notes), notes
    def text(path: Path) -> str:  # the plots are embedded as data URIs: their bytes are matplotlib's, not ours
        return re.sub(r"data:image/[a-z+]+;base64,[A-Za-z0-9+/=]+", "data:image", path.read_text())

    for name in ("index.html", "summary.md"):
        assert text(copy / "report" / name) == text(example / "report" / name), name
