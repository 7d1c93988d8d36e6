import dataclasses
import json
import sqlite3

import pytest

from scalesearch.measure import CostCache, count, measure


def test_costs_survive_a_new_process_cache(tmp_path, tiny_spec):
    path = tmp_path / "costs.sqlite"
    cost = count(tiny_spec, "fvcore")
    CostCache(path).put(cost)
    fresh = CostCache(path)  # as a later run would open it
    assert fresh.get(tiny_spec.architecture_key(), "fvcore") == cost
    assert fresh.get(tiny_spec.architecture_key(), "meta") is None


def test_key_carries_versions_so_upgrades_recount(tiny_spec):
    key = CostCache.key(tiny_spec.architecture_key(), "fvcore")
    assert "torch" in key and "fvcore" in key and tiny_spec.architecture_key() in key


def test_unwritable_cache_degrades_to_memory(tmp_path, tiny_spec):
    blocker = tmp_path / "file"
    blocker.write_text("not a folder")
    cache = CostCache(blocker / "sub" / "costs.sqlite")
    cost = count(tiny_spec, "meta")
    cache.put(cost)
    assert cache.get(cost.architecture, "meta") == cost


def test_corrupt_cache_file_is_not_fatal_and_is_left_alone(tmp_path, tiny_spec):
    path = tmp_path / "costs.sqlite"
    junk = b"this is not sqlite" * 100
    path.write_bytes(junk)
    cache = CostCache(path)
    cost = count(tiny_spec, "meta")
    cache.put(cost)
    assert cache.get(cost.architecture, "meta") == cost  # served from memory
    # Nothing was written over the user's file, and nothing reached disk: a new process counts again.
    assert path.read_bytes() == junk
    assert CostCache(path).get(cost.architecture, "meta") is None


@pytest.mark.parametrize("raw", ["garbage{", "{}", "[1, 2, 3]", '{"flops": "many"}', "null"])
def test_damaged_entry_is_a_miss_and_measure_recounts(tmp_path, tiny_spec, raw):
    path = tmp_path / "costs.sqlite"
    CostCache(path)  # creates the table
    key = CostCache.key(tiny_spec.architecture_key(), "meta")
    with sqlite3.connect(path) as db:
        db.execute("INSERT OR REPLACE INTO costs (key, value) VALUES (?, ?)", (key, raw))
    assert CostCache(path).get(tiny_spec.architecture_key(), "meta") is None
    expected = count(tiny_spec, "meta")
    got = measure(tiny_spec, "meta", cache=path)
    assert (got.flops, got.params, got.activations, got.architecture) == (
        expected.flops, expected.params, expected.activations, expected.architecture)
    assert CostCache(path).get(tiny_spec.architecture_key(), "meta") == got  # the recount replaced the entry


def test_entry_of_another_network_is_a_miss(tmp_path, tiny_spec):
    path = tmp_path / "costs.sqlite"
    cost = count(tiny_spec, "meta")
    wrong = dataclasses.replace(cost, architecture="0" * 16)
    with sqlite3.connect(CostCache(path).path) as db:
        db.execute("INSERT OR REPLACE INTO costs (key, value) VALUES (?, ?)",
                   (CostCache.key(cost.architecture, "meta"), json.dumps(wrong.to_dict())))
    assert CostCache(path).get(cost.architecture, "meta") is None
