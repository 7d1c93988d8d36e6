"""An audit or a comparison at a finished grid's own settings trains nothing the grid trained: grid, audit and
compare open the proxy-run cache at one scope (search.runcache.run_scope), so they share its runs. The grid is
the tiny fake-trained study of tests/audit_studies.py, searched with a private cache."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import pytest
from audit_studies import finished_study, tiny

from scalesearch import compare as lib
from scalesearch.audit import AuditConfig, audit, prepare
from scalesearch.core.runs import ProxyResult
from scalesearch.core.spec import NetSpec
from scalesearch.report.table import ranked_study
from scalesearch.search.config import SearchConfig
from scalesearch.search.runcache import ProxyRunCache
from scalesearch.search.schedule import Rung
from scalesearch.search.storage import load_study_at
from scalesearch.train import ProxyConfig, load_data


@dataclass(frozen=True)
class Grid:
    folder: Path  # the finished study
    cache: Path  # the proxy-run cache it stored its runs in


@pytest.fixture(scope="module")
def grid(tmp_path_factory: pytest.TempPathFactory) -> Grid:
    root = tmp_path_factory.mktemp("reuse")
    cache = root / "proxy.sqlite"
    return Grid(folder=finished_study(root, tiny(), study="tiny-reuse", cache_path=cache), cache=cache)


def refuse(spec: NetSpec, data: Any, config: ProxyConfig, **kw: Any) -> ProxyResult:
    raise AssertionError(f"trained {spec.name} seed {kw.get('seed')} at {config.epochs} epochs: the grid had")


def grid_config(g: Grid) -> SearchConfig:
    """The grid's SearchConfig as the study stored it (rungs, data, proxy: what the scope is built from)."""
    record, _, _ = ranked_study(load_study_at(g.folder, None, None))
    s = record.study_settings
    proxy = ProxyConfig(**s.proxy)
    return SearchConfig(data=s.data, proxy=proxy, rungs=tuple(Rung(e, n) for e, n in s.rungs), cache_path=g.cache)


def test_an_audit_at_the_grids_rung_0_fidelity_trains_nothing(grid: Grid) -> None:
    # Every network trained seed 0 for 2 epochs at the study's width in rung 0: all of it is in the cache.
    config = AuditConfig(epochs=2, proxy_width=0.25, seeds=1, resamples=200, cache_path=grid.cache)
    plan = prepare(grid.folder, config)
    assert plan.scope() == grid_config(grid).run_scope(0)
    assert plan.runs_needed == len(plan.sample) >= 3 and plan.runs_to_train == 0
    result = audit(grid.folder, config, trainer=refuse, write=False)
    assert (result.trained, result.cached) == (0, plan.runs_needed)


def test_an_audit_at_the_final_rung_reuses_every_run_the_grid_trained_there(grid: Grid) -> None:
    _, _, runs = ranked_study(load_study_at(grid.folder, None, None))
    final = {n for n, rs in runs[1].items() if rs}
    config = AuditConfig(epochs=4, proxy_width=0.25, seeds=2, resamples=200, cache_path=grid.cache)
    plan = prepare(grid.folder, config)
    assert plan.scope() == grid_config(grid).run_scope(1)
    promoted = {s.network for s in plan.sample} & final
    assert promoted  # the leaders are sampled, and they reached the final rung
    assert {(n, seed) for n in promoted for seed in (0, 1)} <= plan.cached
    assert all(n in final for n, _ in plan.cached)  # nothing else was trained at 4 epochs


def test_a_comparison_at_the_studys_settings_reuses_the_grids_final_runs(grid: Grid) -> None:
    study = load_study_at(grid.folder, None, None)
    record, _, runs = ranked_study(study)
    proxy, seeds = lib.study_proxy(record.settings)  # what `compare --from` takes from the study
    config = lib.CompareConfig(data=record.study_settings.data, proxy=proxy, seeds=seeds, cache_path=grid.cache)
    assert config.cache_settings() == grid_config(grid).run_scope(len(record.rungs) - 1)
    final = sorted(n for n, rs in runs[1].items() if rs)
    rows = [SimpleNamespace(model=f"net{n}", member=SimpleNamespace(spec=record.networks[n].spec)) for n in final]
    data = load_data(config.data)
    assert lib.pending(rows, data, config) == []  # type: ignore[arg-type]
    results = lib.train_rows(rows, data, config, trainer=refuse)  # type: ignore[arg-type]
    assert all(sorted(results[r.model]) == [0, 1] for r in rows)
    # The control: a network the grid trained only at rung 0 is still to train at the final rung's epochs.
    rung0_only = [n for n, rs in runs[0].items() if rs and n not in final]
    assert rung0_only
    other = [SimpleNamespace(model="other", member=SimpleNamespace(spec=record.networks[rung0_only[0]].spec))]
    assert lib.pending(other, data, config) == [("other", 0), ("other", 1)]  # type: ignore[arg-type]


def test_the_scopes_open_the_same_cache_entries(grid: Grid) -> None:
    # The cache keys follow the scope: grid rung, compare and audit at equal settings land on the same key.
    config = grid_config(grid)
    proxy, _ = lib.study_proxy(ranked_study(load_study_at(grid.folder, None, None))[0].settings)
    compare = lib.CompareConfig(data=config.data, proxy=proxy, cache_path=grid.cache)
    a = ProxyRunCache(grid.cache, config.run_scope(1))
    b = ProxyRunCache(grid.cache, compare.cache_settings())
    try:
        assert a._key("k", 0) == b._key("k", 0)
    finally:
        a.close()
        b.close()
