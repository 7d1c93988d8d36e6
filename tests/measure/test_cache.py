import sqlite3

from scalesearch.measure import CostCache, count


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


def test_corrupt_cache_file_is_not_fatal(tmp_path, tiny_spec):
    path = tmp_path / "costs.sqlite"
    path.write_bytes(b"this is not sqlite" * 100)
    cache = CostCache(path)
    cost = count(tiny_spec, "meta")
    cache.put(cost)
    assert cache.get(cost.architecture, "meta") == cost
    try:
        sqlite3.connect(path).execute("select 1 from costs")
    except sqlite3.DatabaseError:
        pass
