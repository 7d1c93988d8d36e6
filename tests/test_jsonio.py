"""The one JSON / atomic-write / timestamp helper."""

from __future__ import annotations

import json
import os
import re
from enum import StrEnum
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from scalesearch.jsonio import dumps, json_safe, timestamp, write_json, write_text_atomic


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
