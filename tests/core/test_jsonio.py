"""The one JSON / atomic-write / timestamp helper."""

from __future__ import annotations

import json
import os
import re
import stat
from enum import StrEnum
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from scalesearch.core.errors import UsageError
from scalesearch.core.jsonio import (
    check_output,
    dumps,
    json_safe,
    output_problem,
    timestamp,
    write_bytes_atomic,
    write_json,
    write_text_atomic,
)


class Colour(StrEnum):
    RED = "red"


def test_non_finite_numbers_become_null_everywhere() -> None:
    data = {"nan": float("nan"), "inf": float("inf"), "ninf": -float("inf"), "deep": [{"x": (np.float32("nan"),)}]}
    text = dumps(data)
    assert json.loads(text) == {"nan": None, "inf": None, "ninf": None, "deep": [{"x": [None]}]}
    assert "NaN" not in text and "Infinity" not in text


def test_numpy_pandas_enums_and_paths_become_plain_json() -> None:
    frame = pd.DataFrame({"rank": pd.array([1, None], dtype="Int64"), "v": [np.int64(3), np.int64(4)]})
    assert json_safe(frame.to_dict(orient="records")) == [{"rank": 1, "v": 3}, {"rank": None, "v": 4}]
    assert json_safe({"c": Colour.RED, "p": Path("a/b"), "b": True, "f": np.float64(0.5)}) == {
        "c": "red", "p": "a/b", "b": True, "f": 0.5}


def test_atomic_write_replaces_whole_files_and_leaves_no_temporaries(tmp_path: Path) -> None:
    target = tmp_path / "sub" / "best.json"
    write_json(target, {"a": 1})
    write_json(target, {"a": float("nan")})
    assert json.loads(target.read_text()) == {"a": None} and target.read_text().endswith("\n")
    assert [p.name for p in target.parent.iterdir()] == ["best.json"]


def test_a_failed_write_keeps_the_old_file(tmp_path: Path) -> None:
    target = tmp_path / "trials.csv"
    write_text_atomic(target, "old\n")

    with pytest.raises(TypeError):
        write_text_atomic(target, 123)  # type: ignore[arg-type]  # fails inside the temporary file
    assert target.read_text() == "old\n" and len(list(tmp_path.iterdir())) == 1


def test_timestamp_is_iso_8601_with_offset() -> None:
    assert re.fullmatch(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d[+-]\d{4}", timestamp())
    assert timestamp(0).startswith("1970-01-01") or timestamp(0).startswith("1969-12-31")


def test_atomic_files_get_the_usual_mode(tmp_path: Path) -> None:
    mask = os.umask(0o022)
    try:
        path = write_text_atomic(tmp_path / "index.html", "<p>x</p>\n")
    finally:
        os.umask(mask)
    assert path.stat().st_mode & 0o777 == 0o644  # not mkstemp's private 0600


# -- only a regular file or a new path is written (a FIFO, a link or a device node is never replaced) ---------

def test_output_problem_names_what_is_there(tmp_path: Path) -> None:
    os.mkfifo(tmp_path / "pipe")
    (tmp_path / "real").write_text("x\n")
    (tmp_path / "link").symlink_to(tmp_path / "real")
    assert output_problem(tmp_path / "new") is None and output_problem(tmp_path / "real") is None
    assert output_problem(tmp_path / "pipe").startswith("is a named pipe (FIFO)")
    assert output_problem(tmp_path / "link").startswith("is a symbolic link")
    assert output_problem(tmp_path).startswith("is a folder")
    # Looked at only, never written: the machine's /dev/null is a device node.
    assert output_problem(Path("/dev/null")).startswith("is a device")
    with pytest.raises(UsageError, match=r"^/dev/null: is a device: only a regular file or a new path is written$"):
        check_output(Path("/dev/null"))


@pytest.mark.parametrize("write", [lambda p: write_text_atomic(p, "new\n"), lambda p: write_json(p, {"a": 1}),
                                   lambda p: write_bytes_atomic(p, b"new")])
def test_a_fifo_or_a_link_is_refused_and_left_as_it_was(tmp_path: Path, write) -> None:
    pipe, real, link = tmp_path / "pipe", tmp_path / "real", tmp_path / "link"
    os.mkfifo(pipe)
    real.write_text("old\n")
    link.symlink_to(real)
    for path in (pipe, link):
        with pytest.raises(UsageError, match="only a regular file or a new path is written"):
            write(path)
    assert stat.S_ISFIFO(os.lstat(pipe).st_mode) and link.is_symlink() and real.read_text() == "old\n"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["link", "pipe", "real"]  # no temporary left
    write(real)  # a regular file is replaced as before
    assert real.read_text() != "old\n"
