"""The scheduler's decisions, each on a study built by hand with optuna.trial.create_trial: no training,
no sleeps, no processes."""

from __future__ import annotations

import optuna
import pytest
from optuna.trial import TrialState
from study_builders import row, run, study_record, trial

from scalesearch.core.errors import FieldError
from scalesearch.core.record import StudyRecord
from scalesearch.core.runs import RunStatus
from scalesearch.core.spec import NetSpec
from scalesearch.search.schedule import (
    Action,
    Rung,
    Schedule,
    Work,
    next_action,
    parse_rungs,
    promotions,
    snapshot,
    tally,
)

# 4 ranked networks (the baseline does not rank): rung 1 takes 3 of them (0.3 x 4 -> at least 3), rung 2 all 3.
GRID = Schedule(sampler="grid", rungs=(Rung(3, 1), Rung(6, 3)), promote=0.3)
THREE = Schedule(sampler="grid", rungs=(Rung(3, 1), Rung(6, 2), Rung(12, 2)), promote=0.3)


@pytest.fixture
def record(tiny_spec: NetSpec) -> StudyRecord:
    """An infeasible baseline (network 0) and five candidates on four networks (1 and 2 share network 1)."""
    return study_record(tiny_spec, [
        row(0, 0, (1.0, 1.0, 1.0), 1000, feasible=False, baseline=True),
        row(1, 1, (1.2, 1.0, 1.3), 2000), row(2, 1, (1.3, 1.0, 1.3), 2000),
        row(3, 2, (1.0, 1.4, 1.0), 2000), row(4, 3, (2.0, 1.0, 1.0), 2000), row(5, 4, (1.0, 1.0, 1.4), 2000),
    ])


def decide(record: StudyRecord, trials: list[optuna.trial.FrozenTrial], schedule: Schedule = GRID,
           offset: int = 0) -> Action:
    return next_action(schedule, record, tally(trials), offset)


def done(record: StudyRecord, candidate: int, acc: float, seed: int = 0, **kw: object) -> optuna.trial.FrozenTrial:
    return trial(record, candidate, [seed], [run(seed, acc)], **kw)  # type: ignore[arg-type]  # trial()'s options


def test_an_empty_study_starts_with_the_baseline(record: StudyRecord) -> None:
    assert decide(record, []) == Action("run", Work(0, (0,), 0))


def test_a_copy_comes_before_new_training(record: StudyRecord) -> None:
    # Candidate 1 trained network 1; candidate 2 only copies that result, so it goes first.
    trials = [done(record, 0, 0.5), done(record, 1, 0.8)]
    assert decide(record, trials) == Action("run", Work(2, (0,), 0))


def test_a_network_in_training_is_left_to_its_trial(record: StudyRecord) -> None:
    trials = [done(record, 0, 0.5), trial(record, 1, [0], state=TrialState.RUNNING)]
    # Candidate 2 would only wait for candidate 1's run: the next network is picked instead.
    assert decide(record, trials).work == Work(3, (0,), 0)
    # Workers with other offsets spread over the free networks.
    picks = {decide(record, trials, offset=k).work.candidate for k in range(3)}  # type: ignore[union-attr]  # work is set: free networks remain
    assert picks == {3, 4, 5}


def test_a_waiting_trial_is_taken_first(record: StudyRecord) -> None:
    trials = [trial(record, 3, [0], state=TrialState.WAITING)]
    assert decide(record, trials) == Action("run")


def test_a_failed_pair_is_run_again(record: StudyRecord) -> None:
    trials = [done(record, c, 0.5 + c / 10) for c in (0, 1, 2, 3, 5)] + [trial(record, 4, [0], state=TrialState.FAIL)]
    assert decide(record, trials) == Action("run", Work(4, (0,), 0))


def test_only_running_work_left_means_wait(record: StudyRecord) -> None:
    trials = [done(record, c, 0.5) for c in (0, 1, 2, 3, 5)] + [trial(record, 4, [0], state=TrialState.RUNNING)]
    assert decide(record, trials) == Action("wait")


def test_promotion_goes_to_the_leading_feasible_networks(record: StudyRecord) -> None:
    accs = {0: 0.99, 1: 0.7, 2: 0.7, 3: 0.9, 4: 0.6, 5: 0.8}  # the infeasible baseline scores best
    trials = [done(record, c, a) for c, a in accs.items()]
    # Networks of candidates 3, 5 and 1 (cheaper than 2 on the same network), never the baseline.
    assert promotions(GRID, record, tally(trials)) == [[2, 4, 1]]
    assert decide(record, trials) == Action("run", Work(3, (0,), 1))  # rung 1 starts over at seed 0
    promoted = trials + [done(record, c, accs[c], seed=s, rung=1) for c in (1, 3, 5) for s in (0, 1, 2)]
    assert decide(record, promoted) == Action("done")


def test_nothing_is_promoted_until_the_rung_below_is_complete(record: StudyRecord) -> None:
    trials = [done(record, c, 0.5 + c / 10) for c in (0, 1, 2, 3, 5)]
    trials += [trial(record, 4, [0], state=TrialState.RUNNING)]
    assert promotions(GRID, record, tally(trials)) == []
    assert decide(record, trials) == Action("wait")


def test_each_rung_promotes_from_its_own_results(record: StudyRecord) -> None:
    accs = {0: 0.5, 1: 0.7, 2: 0.7, 3: 0.9, 4: 0.6, 5: 0.8}
    trials = [done(record, c, a) for c, a in accs.items()]
    # Rung 1 takes networks 2 (candidate 3), 4 (candidate 5) and 1 (candidate 1); there 5 comes out ahead.
    trials += [done(record, c, a, seed=s, rung=1) for c, a in ((3, 0.70), (1, 0.75)) for s in (0, 1)]
    half = trials + [done(record, 5, 0.85, seed=0, rung=1)]
    assert promotions(THREE, record, tally(half)) == [[2, 4, 1]]  # rung 1 incomplete: rung 2 undecided
    assert decide(record, half, THREE) == Action("run", Work(5, (1,), 1))
    full = half + [done(record, 5, 0.85, seed=1, rung=1)]
    assert promotions(THREE, record, tally(full)) == [[2, 4, 1], [4, 1, 2]]
    assert decide(record, full, THREE) == Action("run", Work(5, (0,), 2))  # the new leader first


def test_the_final_ranking_puts_the_highest_rung_first(record: StudyRecord) -> None:
    from scalesearch.search.schedule import rows

    accs = {0: 0.5, 1: 0.95, 2: 0.95, 3: 0.9, 4: 0.6, 5: 0.8}
    trials = [done(record, c, a) for c, a in accs.items()]
    # At rung 1 the promoted networks (1: candidates 1/2, 2: candidate 3) fall below candidate 5's rung-0 score.
    trials += [done(record, c, 0.5, seed=s, rung=1) for c in (1, 3) for s in (0, 1, 2)]
    ranked = [(r.candidate.index, r.rung) for r in rows(record, tally(trials)) if r.ranks]
    assert ranked[:3] == [(1, 1), (2, 1), (3, 1)]  # cheaper candidate 1 before 2 (same network, same score)
    assert ranked[3:] == [(5, 0), (4, 0)]


@pytest.mark.parametrize(("text", "message"), [
    ("3x1,3x2", "does not increase"), ("6x2,9x1", "does not increase"), ("3x0", ">= 1"), ("three", "EPOCHSxSEEDS"),
    ("", "EPOCHSxSEEDS")])
def test_bad_rungs_are_one_line_errors(text: str, message: str) -> None:
    with pytest.raises(FieldError, match=message):
        parse_rungs(text)


def test_rungs_parse() -> None:
    assert parse_rungs("4x1, 12x2,24X3") == (Rung(4, 1), Rung(12, 2), Rung(24, 3))


def test_tpe_budget_counts_feasible_sweep_trials_only(record: StudyRecord) -> None:
    tpe = Schedule(sampler="tpe", rungs=(Rung(3, 2),), n_trials=2)
    assert decide(record, [], tpe) == Action("run", Work(None, (0, 1), 0))
    infeasible = optuna.trial.create_trial(state=TrialState.PRUNED, user_attrs={"status": "infeasible"})
    one = [trial(record, 3, [0, 1], [run(0, 0.8), run(1, 0.8)], seed_param=False), infeasible]
    assert decide(record, one, tpe).work == Work(None, (0, 1), 0)
    running = one + [trial(record, 4, [0, 1], state=TrialState.RUNNING, seed_param=False)]
    assert decide(record, running, tpe) == Action("wait")


def test_snapshot_counts_runs_and_names_the_ranked_leader(record: StudyRecord) -> None:
    trials = [done(record, 0, 0.99), done(record, 3, 0.9), trial(record, 4, [0], state=TrialState.RUNNING),
              trial(record, 5, [0], [run(0, 0.0, RunStatus.DIVERGED)])]
    shot = snapshot(GRID, record, tally(trials))
    # 6 candidates at rung 0, then the planned promotion: 3 networks x 3 seeds at rung 1.
    assert (shot.done, shot.total, shot.running) == (3, 6 + 3 * 3, 1)
    assert shot.leader is not None and shot.leader.candidate.index == 3  # not the infeasible baseline
