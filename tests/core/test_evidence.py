"""The evidence behind an answer: rank correlations, per-rung spread and noise, the leaders set (paired over
seeds) and the leader against the reference strategies. Hand-made rows and runs; nothing is trained."""

from __future__ import annotations

import math
import statistics

import numpy as np
import pytest
from study_builders import TARGET, row, run, study_record

from scalesearch.core import evidence
from scalesearch.core.ranking import noise_verdict, rank_rungs
from scalesearch.core.record import StudyRecord
from scalesearch.core.spec import NetSpec

W = -0.07


def rows_and_runs(accs: dict[int, dict[int, list[float]]], refs: dict[int, str] | None = None):
    """accs: rung -> network -> per-seed accuracies; network n is candidate n (all at 2x the target FLOPs:
    equal cost factors, so scores order like accuracies)."""
    refs = refs or {}
    nets = sorted({n for per in accs.values() for n in per})
    cands = [row(n, n, (1.0 + n / 10, 1.0, 1.0), 2 * TARGET, reference=refs.get(n, "")) for n in nets]
    runs = {r: {n: [run(s, a) for s, a in enumerate(v)] for n, v in per.items()} for r, per in accs.items()}
    return rank_rungs(cands, runs, TARGET, W), runs


def test_rung_stats_report_spread_noise_and_agreement() -> None:
    rows, runs = rows_and_runs({
        0: {0: [0.50], 1: [0.60], 2: [0.70], 3: [0.80], 4: [0.40]},
        1: {1: [0.80, 0.82], 2: [0.85, 0.87], 3: [0.90, 0.92]},
    })
    stats = evidence.rung_stats(rows, runs, [(3, 1), (9, 2)])
    assert [s.rung for s in stats] == [0, 1]
    assert stats[0].seed_std is None and stats[0].can_rank is None and stats[0].spearman is None
    one = stats[1]
    assert (one.epochs, one.seeds, one.networks) == (9, 2, 3)
    assert one.spread == pytest.approx(0.91 - 0.81)
    assert one.seed_std == pytest.approx(0.0141421, abs=1e-6)  # every pair differs by 0.02
    assert one.spearman == pytest.approx(1.0) and one.can_rank and not one.saturated
    assert "> 2x the seed std" in one.verdict()


def test_a_rung_within_noise_or_saturated_says_it_cannot_rank() -> None:
    rows, runs = rows_and_runs({0: {1: [0.80, 0.86], 2: [0.82, 0.84], 3: [0.85, 0.80]}})
    noisy = evidence.rung_stats(rows, runs, [(3, 2)])[0]
    assert noisy.can_rank is False and "cannot rank these networks at this budget" in noisy.verdict()
    rows, runs = rows_and_runs({0: {1: [0.990, 0.992], 2: [0.995, 0.997], 3: [1.0, 0.998]}})
    full = evidence.rung_stats(rows, runs, [(3, 2)])[0]
    assert full.saturated and full.can_rank is False and "saturated" in full.verdict()


def test_leaders_are_the_networks_the_paired_test_cannot_separate() -> None:
    # Network 3 leads; network 2 trails by +0.02, -0.01, 0.0 (within noise); network 1 by 0.08-0.12.
    # Seeds move every network together (a good and a bad seed): unpaired, all three would overlap.
    rows, runs = rows_and_runs({0: {
        1: [0.70, 0.78, 0.76], 2: [0.78, 0.91, 0.84], 3: [0.80, 0.90, 0.84]}})
    lead = evidence.leaders(rows, runs)
    assert lead.known and [r.network for r in lead.members] == [3, 2]
    assert lead.recommended is not None and lead.recommended.network == 3
    assert "2 networks are indistinguishable" in lead.note
    assert lead.to_dict()["members"][0]["alpha"] == pytest.approx(1.3)


# A rung of 10 networks 0.3-1 point apart with small noise (+-0.2 points per seed, beside a seed effect that
# moves every network together), and the same rung with an 11th network that stalled on its second seed.
SEED_EFFECT = (0.0, 0.02, -0.015)
OWN_NOISE = ((0.002, -0.002, 0.0), (0.0, 0.002, -0.002), (-0.002, 0.0, 0.002))
CLEAR = {n + 1: [round(m + SEED_EFFECT[s] + OWN_NOISE[n % 3][s], 6) for s in range(3)]
         for n, m in enumerate((0.900, 0.897, 0.890, 0.880, 0.870, 0.860, 0.850, 0.840, 0.830, 0.820))}
STALLED = {**CLEAR, 11: [0.900, 0.100, 0.885]}  # 0.1 instead of ~0.9 on seed 1


def mean_pooled_members(accs: dict[int, list[float]]) -> list[int]:
    """The rule before the robust pool, spelled out: the variance of the paired differences to the best
    pooled as the dof-weighted mean over every comparison; members within 2 standard errors of the best."""
    rows, runs = rows_and_runs({0: accs})
    speakers = list(evidence.best_rows(rows).values())
    scores = {r.network: evidence.seed_scores(r, runs[0][r.network]) for r in speakers}
    best = speakers[0].network
    diffs = {n: [scores[best][s] - v[s] for s in range(3)] for n, v in scores.items() if n != best}
    pooled = statistics.fmean(statistics.variance(d) for d in diffs.values())  # 2 dof each: a plain mean
    se = math.sqrt(pooled / 3)
    return [best, *(n for n, d in diffs.items() if statistics.fmean(d) <= 2 * se)]


def test_one_stalled_seed_does_not_widen_every_leaders_interval() -> None:
    clear = evidence.leaders(*rows_and_runs({0: CLEAR}))
    stalled = evidence.leaders(*rows_and_runs({0: STALLED}))
    assert [r.network for r in clear.members] == [1, 2]  # 0.3 points apart; the next is 1 point behind
    # The stalled network is out: the pool is the rung's typical noise (0.23 points of standard error), and its
    # mean is 26 points below the best. Judged by its own noise alone it would be in (its seed-1 difference
    # of 0.8 gives it a standard error of 27 points): the robust pool does not judge it by its own noise.
    assert [r.network for r in stalled.members] == [1, 2]
    # The mean-pooled rule: its one variance of 0.2 (against ~1e-5 for the others) is nearly all of the pool
    # (0.02 over 10 comparisons), so every interval is 2 x 8.4 points wide and all ten clear networks (8
    # points apart) become leaders.
    assert mean_pooled_members(CLEAR) == [1, 2]
    assert mean_pooled_members(STALLED) == list(range(1, 11))


def test_the_robust_pool_is_the_chi_square_scaled_median() -> None:
    # 2 values: 1 dof, chi2.median(1) = 0.454936...; 3 values: 2 dof, chi2.median(2) = 2 ln 2
    one, two = 0.4549364231195724, 2 * math.log(2)
    assert evidence.robust_variance([(2, 1.0)]) == pytest.approx(1 / one)
    assert evidence.robust_variance([(3, 1.0), (3, 4.0), (3, 400.0)]) == pytest.approx(4.0 * 2 / two)
    assert evidence.robust_variance([(3, 1.0), (3, 3.0)]) == pytest.approx(2.0 * 2 / two)  # even: the middle two
    assert evidence.robust_variance([(1, 5.0)]) is None and evidence.robust_variance([]) is None
    # Consistent for normal noise: the pool of many 3-seed variances of N(0, 0.5^2) is near 0.25
    rng = np.random.default_rng(0)
    parts = [(3, float(np.var(rng.normal(0, 0.5, 3), ddof=1))) for _ in range(4000)]
    assert evidence.robust_variance(parts) == pytest.approx(0.25, rel=0.05)


def test_leaders_with_one_seed_say_the_noise_is_unknown() -> None:
    rows, runs = rows_and_runs({0: {1: [0.7], 2: [0.8]}})
    lead = evidence.leaders(rows, runs)
    assert not lead.known and [r.network for r in lead.members] == [2] and "noise unknown" in lead.note


def test_reference_verdicts_compare_at_the_references_rung() -> None:
    # Network 3 wins at rung 1. "width-only" (network 1) reached rung 1 and is clearly behind; "depth-only"
    # (network 4) stopped at rung 0, where it is compared; "paper" is network 2, within noise at rung 1.
    rows, runs = rows_and_runs({
        0: {1: [0.60], 2: [0.70], 3: [0.72], 4: [0.50], 5: [0.55]},
        1: {1: [0.70, 0.78, 0.74], 2: [0.795, 0.895, 0.84], 3: [0.80, 0.90, 0.84]},
    }, refs={1: "width-only", 2: "paper", 4: "depth-only"})
    verdicts = {v.name: v for v in evidence.reference_verdicts(rows, runs)}
    assert set(verdicts) == {"width-only", "paper", "depth-only"}
    assert verdicts["width-only"].comparison.distinguishable is True  # type: ignore[union-attr]  # compared: common seeds
    assert "leader beats it" in verdicts["width-only"].text
    assert verdicts["paper"].comparison.distinguishable is False  # type: ignore[union-attr]  # compared: common seeds
    assert "not beaten beyond the noise" in verdicts["paper"].text
    assert verdicts["depth-only"].comparison.rung == 0  # type: ignore[union-attr]  # compared: common seeds
    assert "noise unknown" in verdicts["depth-only"].text  # one seed at rung 0: no paired variance
    assert verdicts["paper"].to_dict()["compared_at_rung"] == 1


# -- partial studies (Ctrl-C, or a search still running): they say so instead of a verdict ------------------

def study(spec: NetSpec, accs: dict[int, dict[int, list[float]]], rungs: list[tuple[int, int]], networks: int,
          refs: dict[int, str] | None = None) -> tuple[StudyRecord, list, dict]:
    """A grid study of ``networks`` networks (network n is candidate n) with the seed results ``accs`` (rung ->
    network -> per-seed accuracies); the rest have nothing yet."""
    refs = refs or {}
    cands = [row(n, n, (1.0 + n / 10, 1.0, 1.0), 2 * TARGET, reference=refs.get(n, "")) for n in range(networks)]
    record = study_record(spec, cands, rungs)
    runs = {r: {n: [run(s, a) for s, a in enumerate(v)] for n, v in per.items()} for r, per in accs.items()}
    return record, rank_rungs(cands, runs, TARGET, W), runs


def test_one_network_of_seven_is_partial_not_unrankable(tiny_spec: NetSpec) -> None:
    # Interrupted after the first network's two seeds: no "cannot rank", no "one seed per network".
    record, rows, runs = study(tiny_spec, {0: {3: [0.80, 0.82]}}, [(3, 2)], 7)
    proof = evidence.Evidence.of(record, rows, runs)
    assert proof.partial == "partial: 1 of 7 networks trained at rung 0; no verdict yet"
    text = "\n".join(proof.lines())
    assert "cannot rank" not in text and "one seed" not in text and "noise unknown" not in text
    assert text.splitlines()[0] == "rung 0 (3 epochs x 2 seeds): partial: 1 of 7 networks trained; no verdict yet"
    assert "leader so far at rung 0: (1.3, 1, 1). provisional: the search is partial" in text
    assert proof.rungs[0].can_rank is None and proof.to_dict()["rungs"][0]["partial"] is True
    assert proof.leaders.partial and not proof.leaders.known and proof.to_dict()["partial"] == proof.partial
    noise = noise_verdict(rows, evidence.partial(record, runs))
    assert noise.verdict == proof.partial and noise.exceeds is None and noise.leader == (1.3, 1.0, 1.0)


def test_networks_part_way_through_their_seeds_are_counted_as_such(tiny_spec: NetSpec) -> None:
    # Ctrl-C with 2-seed rows beside 1-seed ones: the leader has 2 seeds, the others 1 (no common pair to
    # measure noise on). Once said "noise unknown ... (one seed per network)"; it is a partial rung.
    record, rows, runs = study(tiny_spec, {0: {1: [0.70], 2: [0.80, 0.82], 4: [0.75]}}, [(3, 2)], 6)
    proof = evidence.Evidence.of(record, rows, runs)
    assert proof.partial == ("partial: 1 of 6 networks trained at rung 0 (2 more part-way, with fewer than 2 "
                             "seeds); no verdict yet")
    assert all("one seed" not in line for line in proof.lines())


def test_a_partial_higher_rung_keeps_the_verdict_of_the_complete_one_below(tiny_spec: NetSpec) -> None:
    # Rung 0 (1 seed) complete over 5 networks: its verdict stands (its noise really is unknown). Rung 1 trains
    # the leading 30% (at least 3: networks 4, 3, 2) plus reference network 0; 1 of those 4 is done.
    accs = {0: {0: [0.60], 1: [0.50], 2: [0.70], 3: [0.72], 4: [0.74]}, 1: {4: [0.80, 0.81], 3: [0.79]}}
    record, rows, runs = study(tiny_spec, accs, [(3, 1), (9, 2)], 5, refs={0: "paper"})
    steps = evidence.progress(record, runs)
    assert [(p.rung, p.trained, p.begun, p.planned, p.complete) for p in steps] == [
        (0, 5, 5, 5, True), (1, 1, 2, 4, False)]
    proof = evidence.Evidence.of(record, rows, runs)
    lines = proof.lines()
    assert lines[0].startswith("rung 0 (3 epochs x 1 seed): accuracy spread 24.0% over 5 networks; seed noise unknown")
    assert lines[1] == ("rung 1 (9 epochs x 2 seeds): partial: 1 of 4 networks trained (1 more part-way, with "
                        "fewer than 2 seeds); no verdict yet")
    assert "no verdict yet (the search is partial)" in proof.references[0].text


def test_a_rung_not_begun_is_partial(tiny_spec: NetSpec) -> None:
    # Rung 0 complete, rung 1 not started: the leader at rung 0 is provisional, the search is not done.
    accs = {0: {0: [0.60, 0.61], 1: [0.50, 0.52], 2: [0.70, 0.69], 3: [0.72, 0.74]}}
    record, rows, runs = study(tiny_spec, accs, [(3, 2), (9, 2)], 4)
    proof = evidence.Evidence.of(record, rows, runs)
    assert proof.partial == "partial: 0 of 3 networks trained at rung 1; no verdict yet"
    assert "> 2x the seed std" in proof.rungs[0].verdict()  # rung 0 itself is complete: its verdict stands
    assert proof.leaders.partial


def test_a_complete_study_is_not_partial(tiny_spec: NetSpec) -> None:
    accs = {0: {0: [0.60], 1: [0.50], 2: [0.70], 3: [0.72], 4: [0.74]},
            1: {4: [0.80, 0.81], 3: [0.79, 0.80], 2: [0.70, 0.72], 0: [0.65, 0.66]}}
    record, rows, runs = study(tiny_spec, accs, [(3, 1), (9, 2)], 5, refs={0: "paper"})
    assert all(p.complete for p in evidence.progress(record, runs)) and evidence.partial(record, runs) == ""
    proof = evidence.Evidence.of(record, rows, runs)
    assert proof.partial == "" and not proof.leaders.partial and proof.leaders.known
    assert all("partial" not in line for line in proof.lines())
    assert "> 2x the seed std" in proof.rungs[1].verdict()
    assert "partial" not in noise_verdict(rows, evidence.partial(record, runs)).verdict


def test_a_complete_rung_of_one_network_has_nothing_to_rank(tiny_spec: NetSpec) -> None:
    record, rows, runs = study(tiny_spec, {0: {0: [0.60, 0.62]}}, [(3, 2)], 1)
    proof = evidence.Evidence.of(record, rows, runs)
    assert proof.partial == "" and "nothing to rank" in proof.rungs[0].verdict()
    assert "cannot rank" not in proof.rungs[0].verdict() and proof.rungs[0].can_rank is None
    assert "no other network has a result at rung 0" in proof.leaders.note
