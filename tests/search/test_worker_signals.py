"""How a worker stops, in one process: a signal interrupts a trial's objective once and nowhere else, a dead
worker's trials are reclaimed for the others, exit codes are told in words. (The same with real processes,
Ctrl-C, SIGKILL of a worker or of the parent: test_workers.py.)"""

from __future__ import annotations

import signal
from pathlib import Path

import optuna
import pytest
import search_fakes
from optuna.trial import TrialState
from study_builders import row, study_record

from scalesearch.core.record import TrialRecord
from scalesearch.core.spec import NetSpec
from scalesearch.search.config import SearchConfig
from scalesearch.search.run import run_search
from scalesearch.search.storage import open_storage
from scalesearch.search.workers import Interrupts, exit_text, reclaim

SIG = signal.SIGUSR1  # stands for SIGINT/SIGTERM here, so pytest's own Ctrl-C handling stays untouched


def test_a_signal_outside_a_trial_asks_to_stop_and_raises_nothing() -> None:
    guard = Interrupts()
    before = signal.getsignal(SIG)
    with guard.installed((SIG,)):
        signal.raise_signal(SIG)  # e.g. while Optuna tells the storage a result: must not be cut there
        assert guard.requested
        ran = []
        with pytest.raises(KeyboardInterrupt):  # the next trial does not start
            guard.interruptible(ran.append)(1)
        assert ran == []
    assert signal.getsignal(SIG) is before


def test_the_first_signal_interrupts_the_objective_later_ones_are_ignored() -> None:
    guard = Interrupts()
    reached = []

    def objective(_: object) -> float:
        signal.raise_signal(SIG)  # Ctrl-C mid-training
        reached.append(True)
        return 1.0

    with guard.installed((SIG,)):
        with pytest.raises(KeyboardInterrupt):
            guard.interruptible(objective)(None)
        signal.raise_signal(SIG)  # the parent's SIGTERM after the terminal's SIGINT: nothing happens
        signal.raise_signal(SIG)
    assert reached == [] and guard.requested


def test_ctrl_c_in_an_inline_search_fails_the_trial_and_leaves_none_running(small_config: SearchConfig) -> None:
    def interrupted(*args: object, **kwargs: object) -> object:
        if interrupted.calls == 2:  # type: ignore[attr-defined]
            signal.raise_signal(signal.SIGINT)
        interrupted.calls += 1  # type: ignore[attr-defined]
        return search_fakes.fake_train(*args, **kwargs)  # type: ignore[arg-type]

    interrupted.calls = 0  # type: ignore[attr-defined]
    before = signal.getsignal(signal.SIGINT)
    outcome = run_search(small_config, trainer=interrupted)  # type: ignore[arg-type]
    assert outcome.interrupted and not outcome.complete
    states = [t.state for t in outcome.study.trials]
    # The third training stops its trial. A trial whose network was already trained reuses that result without
    # training, and which candidates come first depends on this process's id (workers.offset), so two or more
    # trials completed before it.
    assert states.count(TrialState.COMPLETE) >= 2 and states.count(TrialState.FAIL) == 1
    assert states[-1] == TrialState.FAIL
    assert TrialState.RUNNING not in states
    assert signal.getsignal(signal.SIGINT) is before  # Ctrl-C is pytest's again
    resumed = run_search(small_config, trainer=search_fakes.fake_train)
    assert resumed.complete and not resumed.interrupted


@pytest.mark.filterwarnings("ignore:Heartbeat of storage")  # trials asked by hand, not through optimize
def test_a_dead_workers_trials_are_reclaimed_and_queued_again(tiny_spec: NetSpec, tmp_path: Path) -> None:
    storage = open_storage(f"sqlite:///{tmp_path / 'study.db'}", heartbeat_interval=60, grace_period=600)
    study = optuna.create_study(storage=storage, study_name="r")
    record = study_record(tiny_spec, [row(0, 0, (1.0, 1.0, 1.0), 1000), row(1, 1, (1.2, 1.0, 1.0), 1200)])
    for i, tag in enumerate(["host:w0:11", "host:w1:22"]):
        trial = study.ask()
        TrialRecord(i, i, (0,), 0, tag).write(trial, record.candidates[i])
    assert reclaim(study, storage, "host:w1:22") == 1
    by_state = {t.state: t for t in study.trials}
    assert by_state[TrialState.RUNNING].number == 0  # a live worker's trial is left alone
    assert by_state[TrialState.FAIL].number == 1
    queued = by_state[TrialState.WAITING]
    assert queued.system_attrs["failed_trial"] == 1 and TrialRecord.read(queued).candidate == 1  # type: ignore[union-attr]
    assert reclaim(study, storage, "host:w1:22") == 0  # nothing left of it


def test_exit_codes_in_words() -> None:
    assert exit_text(5) == "exited with code 5"
    assert exit_text(-signal.SIGKILL) == "was killed by SIGKILL"
    assert exit_text(-200) == "was killed by signal 200"
