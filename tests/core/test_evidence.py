"""The evidence behind an answer: rank correlations, per-rung spread and noise, the leaders set (paired over
seeds) and the winner against the reference strategies. Hand-made rows and runs; nothing is trained."""

from __future__ import annotations

import pytest
from study_builders import TARGET, row, run

from scalesearch.core import evidence
from scalesearch.core.ranking import rank_rungs

W = -0.07


def test_spearman_matches_the_textbook() -> None:
    assert evidence.spearman([1, 2, 3, 4], [10, 20, 30, 40]) == pytest.approx(1.0)
    assert evidence.spearman([1, 2, 3, 4], [4, 3, 2, 1]) == pytest.approx(-1.0)
    # With ties: ranks (1, 2.5, 2.5, 4) against (1, 2, 3, 4); Pearson of the ranks.
    assert evidence.spearman([1, 2, 2, 3], [1, 2, 3, 4]) == pytest.approx(0.9486833, abs=1e-6)
    assert evidence.spearman([1, 2], [2, 1]) is None and evidence.spearman([1, 1, 1], [1, 2, 3]) is None


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
    assert "winner beats it" in verdicts["width-only"].text
    assert verdicts["paper"].comparison.distinguishable is False  # type: ignore[union-attr]  # compared: common seeds
    assert "not beaten beyond the noise" in verdicts["paper"].text
    assert verdicts["depth-only"].comparison.rung == 0  # type: ignore[union-attr]  # compared: common seeds
    assert "noise unknown" in verdicts["depth-only"].text  # one seed at rung 0: no paired variance
    assert verdicts["paper"].to_dict()["compared_at_rung"] == 1
