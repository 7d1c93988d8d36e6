import pytest

from scalesearch.core.kvstore import JsonStore


def test_values_survive_reopening(tmp_path):
    path = tmp_path / "s.sqlite"
    JsonStore(path, "t").put("k", {"a": [1, 2.5, None]})
    again = JsonStore(path, "t")
    assert again.get("k") == {"a": [1, 2.5, None]} and again.get("missing") is None
    assert JsonStore(path, "other").get("k") is None  # tables are separate namespaces


def test_unopenable_store_is_a_no_op(tmp_path):
    (tmp_path / "file").write_text("x")
    store = JsonStore(tmp_path / "file" / "s.sqlite", "t")
    assert not store.available
    store.put("k", 1)
    assert store.get("k") is None


def test_table_name_must_be_an_identifier(tmp_path):
    with pytest.raises(ValueError, match="identifier"):
        JsonStore(tmp_path / "s.sqlite", "t; drop table x")


@pytest.mark.parametrize("raw", ["garbage{", "", "[1, 2", b"\xff\xfe"])
def test_undecodable_value_reads_as_a_miss(tmp_path, capsys, raw):
    import sqlite3

    import scalesearch.core.kvstore as kvstore

    path = tmp_path / "s.sqlite"
    store = JsonStore(path, "t")
    with sqlite3.connect(path) as db:
        db.execute("INSERT INTO t (key, value) VALUES (?, ?)", ("k", raw))
    kvstore._WARNED.discard(str(path))
    assert store.get("k") is None and store.get("k") is None
    assert capsys.readouterr().err.count("ignoring damaged cache entries") == 1  # said once per process
    store.put("k", {"a": 1})  # the next write replaces the damaged entry
    assert store.get("k") == {"a": 1}
