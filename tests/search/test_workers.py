"""Several processes on one study: SIGKILL and resume, two local workers, PostgreSQL (two workers)."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
import uuid
from collections import Counter
from pathlib import Path

import optuna
import pytest
import search_fakes
from fake_grid import config as fake_config
from optuna.trial import TrialState

from scalesearch.core.record import TrialRecord
from scalesearch.search.plan import plan
from scalesearch.search.run import run_search
from scalesearch.search.storage import open_storage

HERE = Path(__file__).parent
pytestmark = pytest.mark.slow


def log_lines(log: Path) -> list[list[str]]:
    return [line.split() for line in log.read_text().splitlines()] if log.exists() else []


def candidate(t: optuna.trial.FrozenTrial) -> int:
    rec = TrialRecord.read(t)
    assert rec is not None
    return rec.candidate


def check_exactly_once(study: optuna.Study, n_candidates: int, n_networks: int, log: Path) -> None:
    """Every network trained once (per the trainer's own log), every candidate finished, few duplicates."""
    runs = Counter((arch, res, seed) for arch, res, seed, _ in log_lines(log))
    assert len(runs) == n_networks and set(runs.values()) == {1}
    done = Counter(candidate(t) for t in study.trials if t.state == TrialState.COMPLETE)
    assert sorted(done) == list(range(n_candidates))
    # Independent processes can still pick one candidate at once (most often across machines): such a
    # duplicate is detected and reuses the result. So every network is trained by exactly one trial, and
    # every other trial of it copied that result instead of training.
    trained = Counter(TrialRecord.read(t).network for t in study.trials  # type: ignore[union-attr]  # a complete trial has its record
                      if t.state == TrialState.COMPLETE and any(r.reused is None for r in TrialRecord.read(t).results))
    assert sorted(trained) == list(range(n_networks)) and set(trained.values()) == {1}
    assert sum(done.values()) - n_candidates <= n_candidates // 2  # duplicates stay rare, not one per point


def test_sigkilled_worker_loses_only_its_trial(tiny_file: Path, tmp_path: Path) -> None:
    log = tmp_path / "trained.log"
    env = {**os.environ, "SCALESEARCH_FAKE_LOG": str(log), "SCALESEARCH_FAKE_SLEEP": "1.0"}
    cmd = [sys.executable, str(HERE / "fake_grid.py"), str(tmp_path / "out"), str(tiny_file)]
    proc = subprocess.Popen(cmd, env=env)
    deadline = time.monotonic() + 120
    while len(log_lines(log)) < 2:  # two runs finished; the third has just started its 2 s of "training"
        assert proc.poll() is None and time.monotonic() < deadline, "the search ended before it could be killed"
        time.sleep(0.05)
    time.sleep(0.5)
    proc.send_signal(signal.SIGKILL)
    proc.wait()
    before = log_lines(log)

    cfg = fake_config(tmp_path / "out", str(tiny_file))
    p = plan(cfg)
    study = optuna.load_study(study_name="killed", storage=p.storage_url)
    assert [t.state for t in study.trials].count(TrialState.RUNNING) == 1  # the killed trial, left hanging
    done_before = {candidate(t) for t in study.trials if t.state == TrialState.COMPLETE}

    rerun = subprocess.run(cmd, env={**env, "SCALESEARCH_FAKE_SLEEP": "0"}, timeout=300)
    assert rerun.returncode == 0
    study = optuna.load_study(study_name="killed", storage=p.storage_url)
    states = Counter(t.state for t in study.trials)
    assert states[TrialState.FAIL] == 1 and states[TrialState.RUNNING] == 0
    failed = next(t for t in study.trials if t.state == TrialState.FAIL)
    assert candidate(failed) not in done_before
    retried = [t for t in study.trials if t.system_attrs.get("failed_trial") == failed.number]
    assert len(retried) == 1 and retried[0].state == TrialState.COMPLETE  # re-queued by the heartbeat check
    assert log_lines(log)[: len(before)] == before  # finished runs were not redone
    check_exactly_once(study, len(p.space.candidates), len(p.space.proxy_groups), log)


def test_two_workers_on_one_sqlite_study(tiny_file: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    log = tmp_path / "trained.log"
    monkeypatch.setenv("SCALESEARCH_FAKE_LOG", str(log))
    monkeypatch.setenv("SCALESEARCH_FAKE_SLEEP", "0.5")
    cfg = fake_config(tmp_path / "out", str(tiny_file), workers=2, study="two")
    outcome = run_search(cfg, trainer=search_fakes.fake_train)
    check_exactly_once(outcome.study, len(outcome.plan.space.candidates), len(outcome.plan.space.proxy_groups), log)
    assert len({pid for *_, pid in log_lines(log)}) == 2  # both workers trained


def pg_url() -> str | None:
    url = os.environ.get("SCALESEARCH_TEST_PG_URL")
    if not url and os.environ.get("CI", "").lower() == "true":
        pytest.fail("SCALESEARCH_TEST_PG_URL is not set under CI: .ci/postgres.sh should have started PostgreSQL")
    return url


def test_two_workers_on_one_postgresql_study(tiny_file: Path, tmp_path: Path) -> None:
    url = pg_url()
    if not url:
        pytest.skip("no PostgreSQL: set SCALESEARCH_TEST_PG_URL (bash .ci/postgres.sh prints one)")
    log = tmp_path / "trained.log"
    study = f"pg-{uuid.uuid4().hex[:8]}"
    # Two separate commands, as on two machines, each with one worker process: two workers, one study.
    cmd = [sys.executable, str(HERE / "fake_grid.py"), str(tmp_path / "out"), str(tiny_file), url, "1", study]
    # 1 s per epoch: both commands must be up (seconds of imports on a busy machine) before the work is gone.
    env = {**os.environ, "SCALESEARCH_FAKE_LOG": str(log), "SCALESEARCH_FAKE_SLEEP": "1.0"}
    procs = [subprocess.Popen(cmd, env=env) for _ in range(2)]
    assert [p.wait(timeout=300) for p in procs] == [0, 0]
    p = plan(fake_config(tmp_path / "out", str(tiny_file), storage=url, study=study))
    loaded = optuna.load_study(study_name=study, storage=open_storage(url))
    check_exactly_once(loaded, len(p.space.candidates), len(p.space.proxy_groups), log)
    assert len({pid for *_, pid in log_lines(log)}) >= 2
