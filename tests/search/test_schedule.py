"""The scheduler's decisions, each on a study built by hand with optuna.trial.create_trial: no training,
no sleeps, no processes."""

from __future__ import annotations

import optuna
import pytest
from optuna.trial import TrialState
from study_builders import row, run, study_record, trial

from scalesearch.record import Stage, StudyRecord
from scalesearch.runs import RunStatus
from scalesearch.search.schedule import Action, Budget, Work, confirm_targets, next_action, snapshot, tally
from scalesearch.spec import NetSpec

GRID = Budget(sampler="grid", seeds=1, confirm=2, confirm_seeds=3)


@pytest.fixture
def record(tiny_spec: NetSpec) -> StudyRecord:
    """An infeasible baseline (network 0) and five candidates on four networks (1 and 2 share network 1)."""
    return study_record(tiny_spec, [
        row(0, 0, (1.0, 1.0, 1.0), 1000, feasible=False, baseline=True),
        row(1, 1, (1.2, 1.0, 1.3), 2000), row(2, 1, (1.3, 1.0, 1.3), 2000),
        row(3, 2, (1.0, 1.4, 1.0), 2000), row(4, 3, (2.0, 1.0, 1.0), 2000), row(5, 4, (1.0, 1.0, 1.4), 2000),
    ])


def decide(record: StudyRecord, trials: list[optuna.trial.FrozenTrial], budget: Budget = GRID,
           offset: int = 0) -> Action:
    return next_action(budget, record, tally(trials), offset)


def done(record: StudyRecord, candidate: int, acc: float, seed: int = 0, **kw: object) -> optuna.trial.FrozenTrial:
    return trial(record, candidate, [seed], [run(seed, acc)], **kw)  # type: ignore[arg-type]


def test_an_empty_study_starts_with_the_baseline(record: StudyRecord) -> None:
    assert decide(record, []) == Action("run", Work(0, (0,), Stage.SWEEP))


def test_a_copy_comes_before_new_training(record: StudyRecord) -> None:
    # Candidate 1 trained network 1; candidate 2 only copies that result, so it goes first.
    trials = [done(record, 0, 0.5), done(record, 1, 0.8)]
    assert decide(record, trials) == Action("run", Work(2, (0,), Stage.SWEEP))


def test_a_network_in_training_is_left_to_its_trial(record: StudyRecord) -> None:
    trials = [done(record, 0, 0.5), trial(record, 1, [0], state=TrialState.RUNNING)]
    # Candidate 2 would only wait for candidate 1's run: the next network is picked instead.
    assert decide(record, trials).work == Work(3, (0,), Stage.SWEEP)
    # Workers with other offsets spread over the free networks.
    picks = {decide(record, trials, offset=k).work.candidate for k in range(3)}  # type: ignore[union-attr]
    assert picks == {3, 4, 5}


def test_a_waiting_trial_is_taken_first(record: StudyRecord) -> None:
    trials = [trial(record, 3, [0], state=TrialState.WAITING)]
    assert decide(record, trials) == Action("run")


def test_a_failed_pair_is_run_again(record: StudyRecord) -> None:
    trials = [done(record, c, 0.5 + c / 10) for c in (0, 1, 2, 3, 5)] + [trial(record, 4, [0], state=TrialState.FAIL)]
    assert decide(record, trials) == Action("run", Work(4, (0,), Stage.SWEEP))


def test_only_running_work_left_means_wait(record: StudyRecord) -> None:
    trials = [done(record, c, 0.5) for c in (0, 1, 2, 3, 5)] + [trial(record, 4, [0], state=TrialState.RUNNING)]
    assert decide(record, trials) == Action("wait")


def test_confirm_goes_to_the_leading_feasible_networks(record: StudyRecord) -> None:
    accs = {0: 0.99, 1: 0.7, 2: 0.7, 3: 0.9, 4: 0.6, 5: 0.8}  # the infeasible baseline scores best
    trials = [done(record, c, a) for c, a in accs.items()]
    tl = tally(trials)
    assert confirm_targets(GRID, record, tl) == [2, 4]  # networks of candidates 3 and 5, never the baseline
    assert decide(record, trials) == Action("run", Work(3, (1,), Stage.CONFIRM))
    confirmed = trials + [done(record, c, accs[c], seed=s, stage=Stage.CONFIRM) for c in (3, 5) for s in (1, 2)]
    assert decide(record, confirmed) == Action("done")


def test_confirm_runs_reorder_the_top_and_pull_the_next_network_in(record: StudyRecord) -> None:
    accs = {0: 0.5, 1: 0.7, 2: 0.7, 3: 0.9, 4: 0.6, 5: 0.8}
    trials = [done(record, c, a) for c, a in accs.items()]
    # Candidate 3's extra seeds come out poor: its mean drops below candidates 5 and 1.
    trials += [done(record, 3, 0.4, seed=s, stage=Stage.CONFIRM) for s in (1, 2)]
    assert confirm_targets(GRID, record, tally(trials)) == [4, 1]
    assert decide(record, trials).work == Work(5, (1,), Stage.CONFIRM)


def test_confirm_touches_at_most_twice_the_confirm_count(record: StudyRecord) -> None:
    one = Budget(sampler="grid", seeds=1, confirm=1, confirm_seeds=2)
    trials = [done(record, c, 0.5 + c / 100) for c in range(6)]
    trials += [done(record, 5, 0.1, seed=1, stage=Stage.CONFIRM), done(record, 4, 0.1, seed=1, stage=Stage.CONFIRM)]
    assert confirm_targets(one, record, tally(trials)) == []  # two networks already confirmed: the room is spent
    assert decide(record, trials, one) == Action("done")


def test_tpe_budget_counts_feasible_sweep_trials_only(record: StudyRecord) -> None:
    tpe = Budget(sampler="tpe", seeds=2, confirm=0, n_trials=2)
    assert decide(record, [], tpe) == Action("run", Work(None, (0, 1), Stage.SWEEP))
    infeasible = optuna.trial.create_trial(state=TrialState.PRUNED, user_attrs={"status": "infeasible"})
    one = [trial(record, 3, [0, 1], [run(0, 0.8), run(1, 0.8)], seed_param=False), infeasible]
    assert decide(record, one, tpe).work == Work(None, (0, 1), Stage.SWEEP)
    running = one + [trial(record, 4, [0, 1], state=TrialState.RUNNING, seed_param=False)]
    assert decide(record, running, tpe) == Action("wait")


def test_snapshot_counts_runs_and_names_the_ranked_leader(record: StudyRecord) -> None:
    trials = [done(record, 0, 0.99), done(record, 3, 0.9), trial(record, 4, [0], state=TrialState.RUNNING),
              trial(record, 5, [0], [run(0, 0.0, RunStatus.DIVERGED)])]
    shot = snapshot(GRID, record, tally(trials))
    assert (shot.done, shot.total, shot.running) == (3, 6 + 2 * 2, 1)
    assert shot.leader is not None and shot.leader.candidate.index == 3  # not the infeasible baseline
