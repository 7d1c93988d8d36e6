"""The one ranking: score, seed summaries, feasibility, rank, leaders and the noise verdict."""

from __future__ import annotations

import math

import pytest
from study_builders import TARGET, row, run

from scalesearch.core.errors import UsageError
from scalesearch.core.ranking import leader, leading_networks, noise_verdict, per_seed, rank, score, summarise
from scalesearch.core.runs import RunStatus


def test_score_is_accuracy_at_the_target() -> None:
    assert score(0.8, 4e8, 4e8) == pytest.approx(0.8)


@pytest.mark.parametrize("acc, flops, target, w", [(0.9, 8e8, 4e8, -0.07), (0.5, 1e8, 4e8, -0.07),
                                                   (0.77, 6.3e8, 4e8, -0.15), (0.6, 2e9, 1e9, 0.0)])
def test_score_formula(acc: float, flops: float, target: float, w: float) -> None:
    assert score(acc, flops, target, w) == pytest.approx(acc * math.exp(w * math.log(flops / target)))


def test_doubling_flops_costs_about_five_percent() -> None:
    assert score(1.0, 8e8, 4e8) / score(1.0, 4e8, 4e8) == pytest.approx(2 ** -0.07)


def test_target_only_scales_scores_never_reorders() -> None:
    a, b = (0.91, 9e8), (0.89, 6e8)
    for target in (1e8, 4e8, 3e9):
        assert (score(*a, target) > score(*b, target)) == (score(*a, 4e8) > score(*b, 4e8))


@pytest.mark.parametrize("flops, target", [(4e8, 0), (0, 4e8), (4e8, -1)])
def test_score_rejects_non_positive_costs(flops: float, target: float) -> None:
    with pytest.raises(UsageError, match="must be > 0"):
        score(0.5, flops, target)


def test_each_seed_counts_once_and_a_trained_result_wins_over_copies() -> None:
    runs = [run(0, 0.9, reused="trial 3"), run(0, 0.9), run(0, 0.9, reused="cache"), run(1, 0.7),
            run(2, 0.5, RunStatus.PRUNED), run(2, 0.8)]
    chosen = per_seed(runs)
    assert sorted(chosen) == [0, 1, 2]
    assert chosen[0].reused is None and chosen[2].status is RunStatus.OK
    s = summarise(runs)
    assert (s.status, s.seeds) == ("ok", 3)
    assert s.accuracy_mean == pytest.approx((0.9 + 0.7 + 0.8) / 3)  # copies of seed 0 not averaged in
    assert s.seconds == pytest.approx(3.0)  # training done here; the copies cost nothing


def test_summary_without_an_ok_seed_reports_the_worst_status() -> None:
    assert summarise([run(0, 0.0, RunStatus.DIVERGED), run(1, 0.0, RunStatus.OOM)]).status == "diverged"
    pruned = summarise([run(0, 0.4, RunStatus.PRUNED)])
    assert pruned.status == "pruned" and pruned.accuracy_mean == pytest.approx(0.4)
    assert summarise([]).status == "pending" and math.isnan(summarise([]).accuracy_mean)


def test_infeasible_baseline_shows_its_score_but_never_ranks_or_leads() -> None:
    rows = [row(0, 0, (1.0, 1.0, 1.0), 500, feasible=False, baseline=True), row(1, 1, (1.2, 1.1, 1.15), 1000),
            row(2, 2, (2.0, 1.0, 1.0), 1100)]
    ranked = rank(rows, {0: [run(0, 0.99)], 1: [run(0, 0.8)], 2: [run(0, 0.7)]}, TARGET, -0.07)
    assert [r.candidate.index for r in ranked] == [1, 2, 0]
    assert [r.rank for r in ranked] == [1, 2, None]
    assert ranked[2].score > ranked[0].score  # the best score of all, and still no answer
    assert leader(ranked).candidate.index == 1  # type: ignore[union-attr]  # candidate 1 leads
    assert leading_networks(ranked, 5) == [1, 2]


def test_members_of_one_network_share_accuracy_and_differ_by_flops() -> None:
    rows = [row(0, 0, (1.0, 1.0, 1.0), 1000, baseline=True), row(1, 1, (1.2, 1.0, 1.3), 2000),
            row(2, 1, (1.3, 1.0, 1.3), 1900)]
    ranked = rank(rows, {0: [run(0, 0.5)], 1: [run(0, 0.9)]}, TARGET, -0.07)
    assert [r.candidate.index for r in ranked] == [2, 1, 0]  # the cheaper member leads
    assert ranked[0].summary == ranked[1].summary
    assert leading_networks(ranked, 2) == [1, 0]  # one network once


def test_noise_verdict_compares_distinct_networks() -> None:
    rows = [row(0, 0, (1.0, 1.0, 1.0), 1000, baseline=True), row(1, 1, (1.2, 1.0, 1.3), 1000),
            row(2, 1, (1.3, 1.0, 1.3), 1000), row(3, 2, (1.4, 1.0, 1.3), 1000)]
    tight = {0: [run(s, 0.80 + d) for s, d in enumerate((0, .005, -.005))],
             1: [run(s, 0.95 + d) for s, d in enumerate((0, .005, -.005))],
             2: [run(s, 0.90 + d) for s, d in enumerate((0, .005, -.005))]}
    verdict = noise_verdict(rank(rows, tight, TARGET, -0.07))
    assert verdict.exceeds is True and verdict.runner_up == (1.4, 1.0, 1.3)  # not the leader's sibling
    noisy = {**tight, 2: [run(s, 0.95 + d) for s, d in enumerate((0, .03, -.03))]}
    assert noise_verdict(rank(rows, noisy, TARGET, -0.07)).exceeds is False
    single = {n: rs[:1] for n, rs in tight.items()}
    assert noise_verdict(rank(rows, single, TARGET, -0.07)).exceeds is None
    assert noise_verdict(rank(rows, {}, TARGET, -0.07)).verdict == "no finished candidate yet"


def test_three_seed_mean_beats_a_lucky_single_seed_only_by_its_mean() -> None:
    rows = [row(0, 0, (1.0, 1.0, 1.0), 1000, baseline=True), row(1, 1, (1.2, 1.0, 1.3), 1000),
            row(2, 2, (1.4, 1.0, 1.3), 1000)]
    runs = {0: [run(0, 0.5)], 1: [run(0, 0.93), run(1, 0.85), run(2, 0.86)], 2: [run(0, 0.90)]}
    ranked = rank(rows, runs, TARGET, -0.07)
    assert [r.network for r in ranked[:2]] == [2, 1]  # 0.90 (1 seed) vs mean 0.88 (3 seeds)
    assert ranked[1].summary.seeds == 3 and ranked[0].summary.seeds == 1


def test_the_cost_switch_scores_latency_as_the_formula_says() -> None:
    import dataclasses

    # Equal FLOPs and accuracy; the second candidate has half the first's latency.
    rows = [dataclasses.replace(row(0, 0, (1.0, 1.0, 1.0), 1000, baseline=True), latency_ms=9.0),
            dataclasses.replace(row(1, 1, (1.2, 1.1, 1.15), 2000), latency_ms=12.0),
            dataclasses.replace(row(2, 2, (1.3, 1.0, 1.2), 2000), latency_ms=6.0)]
    runs = {n: [run(0, 0.9)] for n in range(3)}
    w = -0.07
    by_flops = {r.candidate.index: r.score for r in rank(rows, runs, TARGET, w)}
    assert by_flops[1] == pytest.approx(by_flops[2])  # FLOPs cannot tell them apart
    by_latency = {r.candidate.index: r for r in rank(rows, runs, 5.0, w, "latency")}
    assert by_latency[2].score / by_latency[1].score == pytest.approx(0.5 ** w)  # half the latency: (1/2)^w
    assert by_latency[2].score == pytest.approx(score(0.9, 6.0, 5.0, w)) and by_latency[2].rank == 1
    assert {r.candidate.index: r.score for r in rank(rows, runs, 1.0, w, "activations")}[1] == pytest.approx(
        score(0.9, 10, 1.0, w))


def test_a_latency_cost_without_measured_latency_is_one_clear_error() -> None:
    from scalesearch.core.errors import SearchError

    with pytest.raises(SearchError, match="no latency cost"):
        rank([row(0, 0, (1.0, 1.0, 1.0), 1000, baseline=True)], {0: [run(0, 0.9)]}, 5.0, -0.07, "latency")
