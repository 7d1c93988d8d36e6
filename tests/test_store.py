import pytest

from scalesearch.store import JsonStore


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
