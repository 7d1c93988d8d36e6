"""The race after the last rung (scalesearch.core.racing) on hand-made studies: score tables built here, nothing
trained. Each table is network -> seed index -> score; a seed effect shared by every network (same data order)
sits beside each network's own noise, as in a real study."""

from __future__ import annotations

import json
import math
import random

import numpy as np
import pytest
import scipy.stats

from scalesearch.core import racing
from scalesearch.core.errors import FieldError
from scalesearch.core.racing import Race, RaceRules, race, race_work

Table = dict[int, dict[int, float]]


def table(means: dict[int, float], seeds: int, own: float, shared: float = 0.02, seed: int = 0) -> Table:
    """Scores of networks with the given true means on seeds 0..seeds-1: mean + a seed effect common to
    all (sd ``shared``) + the network's own normal noise (sd ``own``)."""
    rng = np.random.default_rng(seed)
    effect = rng.normal(0, shared, seeds)
    return {n: {s: float(m + effect[s] + rng.normal(0, own)) for s in range(seeds)} for n, m in means.items()}


def test_a_clear_winner_is_left_alone_within_a_few_rounds() -> None:
    scores = table({0: 0.95, 1: 0.90, 2: 0.85}, seeds=10, own=0.005)
    r = race(scores, [0, 1, 2], base_seeds=2, rules=RaceRules())
    assert r.decision == "winner" and r.finished and r.winner() == 0 and r.survivors == (0,)
    assert 1 <= len(r.rounds) <= 3 and r.next_seed is None and race_work(r) == []
    assert r.rounds[0].seeds == (0, 1, 2) and r.rounds[0].best == 0
    assert {n for rd in r.rounds for n in rd.dropped} == {1, 2}
    # every round's comparisons are the best against each other survivor, best first by mean
    for rd in r.rounds:
        assert [c.network for c in rd.comparisons] == list(rd.survivors[1:])
        assert list(rd.survivors) == sorted(rd.survivors, key=lambda n: -rd.means[n])
        assert all(c.margin > 0 and c.seeds == len(rd.seeds) for c in rd.comparisons)


def test_three_truly_equal_networks_with_tiny_noise_are_equivalent() -> None:
    scores = table({0: 0.9, 1: 0.9, 2: 0.9}, seeds=10, own=0.0005)
    r = race(scores, [0, 1, 2], base_seeds=2, rules=RaceRules(equivalence=0.01))
    assert r.decision == "equivalent" and r.finished and r.winner() is None
    assert set(r.survivors) == {0, 1, 2} and r.rounds[-1].equivalent and r.next_seed is None
    last = r.rounds[-1]
    assert all(c.within and not c.dropped and c.p_equivalent is not None and c.p_equivalent < 0.05 / 8
               for c in last.comparisons)
    # the same networks with no margin can never be equivalent: they run out of looks instead
    none = race(scores, [0, 1, 2], base_seeds=2, rules=RaceRules(equivalence=0.0))
    assert none.decision == "undecided" and none.finished and len(none.rounds) == 8


def test_a_noisy_tie_with_no_looks_left_is_undecided_and_finished() -> None:
    scores = table({0: 0.9, 1: 0.9, 2: 0.9}, seeds=5, own=0.02)
    r = race(scores, [0, 1, 2], base_seeds=2, rules=RaceRules(looks=3, equivalence=0.001))
    assert r.decision == "undecided" and r.finished and r.next_seed is None and race_work(r) == []
    assert [rd.index for rd in r.rounds] == [1, 2, 3] and r.rounds[-1].seeds == (0, 1, 2, 3, 4)
    assert set(r.survivors) == {0, 1, 2} and r.winner() is None
    # with looks left it is undecided and running, waiting on seed 5
    more = race(scores, [0, 1, 2], base_seeds=2, rules=RaceRules(looks=8, equivalence=0.001))
    assert more.decision == "undecided" and not more.finished and more.next_seed == 5 and len(more.rounds) == 3
    assert race_work(more) == [(n, 5) for n in more.survivors]


def test_an_incomplete_round_is_not_tested_and_the_next_seed_stays_on_it() -> None:
    scores = table({0: 0.95, 1: 0.90, 2: 0.85}, seeds=3, own=0.005)
    del scores[2][2]  # network 2 has not trained seed 2 yet
    r = race(scores, [0, 1, 2], base_seeds=2, rules=RaceRules())
    assert r.rounds == () and not r.finished and r.decision == "undecided"
    assert r.next_seed == 2 and r.waiting == (2,) and race_work(r) == [(2, 2)]
    assert r.survivors == (0, 1, 2)  # the entrants, as given, until a round is complete
    assert r.to_dict()["seeds"] == {"0": 2, "1": 2, "2": 2}


def test_a_dropped_networks_later_seeds_are_ignored_and_not_needed() -> None:
    scores = table({0: 0.95, 1: 0.95, 2: 0.80}, seeds=6, own=0.002)
    r = race(scores, [0, 1, 2], base_seeds=2, rules=RaceRules(equivalence=0.0, looks=4))
    dropped_at = next(rd.index for rd in r.rounds if 2 in rd.dropped)
    assert dropped_at == 1 and 2 not in r.survivors and len(r.rounds) == 4
    after = 2 + dropped_at  # the first seed index the race no longer needs from network 2
    wild = {n: dict(v) for n, v in scores.items()}
    wild[2] = {s: (v if s < after else 99.0) for s, v in scores[2].items()}  # would lead every later round
    assert race(wild, [0, 1, 2], 2, RaceRules(equivalence=0.0, looks=4)) == r
    gone = {n: dict(v) for n, v in scores.items()}
    gone[2] = {s: v for s, v in scores[2].items() if s < after}  # never trained after its drop
    assert race(gone, [0, 1, 2], 2, RaceRules(equivalence=0.0, looks=4)) == r
    assert r.to_dict()["seeds"]["2"] == after  # tested on seeds 0..2, then dropped


def test_the_race_is_the_same_whatever_the_order_of_the_tables() -> None:
    scores = table({0: 0.95, 1: 0.93, 2: 0.93, 3: 0.90}, seeds=10, own=0.01)
    rules = RaceRules()
    first = race(scores, [0, 1, 2, 3], 2, rules)
    shuffle = random.Random(5)
    for _ in range(5):
        nets = list(scores)
        shuffle.shuffle(nets)
        mixed = {}
        for n in nets:
            seeds = list(scores[n])
            shuffle.shuffle(seeds)
            mixed[n] = {s: scores[n][s] for s in seeds}
        again = race(mixed, [0, 1, 2, 3], 2, rules)
        assert again == first
        assert json.dumps(again.to_dict(), sort_keys=True) == json.dumps(first.to_dict(), sort_keys=True)
    assert len(first.rounds) >= 1


def two_way_mse(x: np.ndarray) -> float:
    """The residual mean square of x[network, seed] under network + seed effects, written out with numpy."""
    e = x - x.mean(1, keepdims=True) - x.mean(0, keepdims=True) + x.mean()
    return float((e ** 2).sum() / ((x.shape[0] - 1) * (x.shape[1] - 1)))


def test_the_pooled_noise_is_the_two_way_residual_mean_square() -> None:
    rng = np.random.default_rng(3)
    x = rng.normal(0.9, 0.01, size=(6, 5)) + rng.normal(0, 0.03, size=5)
    noise = racing.pooled_noise({n: x[n].tolist() for n in range(6)})
    assert noise.variance == pytest.approx(two_way_mse(x), rel=1e-12) and noise.df == 5 * 4 and noise.own == ()
    # with two networks the pool is half the variance of their paired differences on n - 1 degrees of freedom,
    # so the race's test is scipy's paired t-test
    pair = racing.pooled_noise({0: x[0].tolist(), 1: x[1].tolist()})
    d = (x[0] - x[1]).tolist()
    assert pair.df == 4 and 2 * (pair.variance or 0) == pytest.approx(float(np.var(d, ddof=1)), rel=1e-12)
    assert racing.p_worse(d, 2 * (pair.variance or 0), pair.df) == pytest.approx(
        scipy.stats.ttest_rel(x[0], x[1], alternative="greater").pvalue, rel=1e-9)
    assert racing.pooled_noise({0: [0.9, 0.8], 1: [0.7, 0.6]}).variance == pytest.approx(0.0, abs=1e-20)
    assert racing.pooled_noise({0: [0.9]}).variance is None and racing.pooled_noise({0: [0.9], 1: [0.8]}).df == 0


def test_one_stalled_seed_widens_its_own_comparison_not_the_others() -> None:
    # 8 networks alike (own noise 0.5 points) and network 7 stalls on seed 1 (40 points down): the mean-pooled
    # noise would be ~20x too wide; the race's pool leaves network 7 out and is what the other 7 give alone
    rng = np.random.default_rng(4)
    x = rng.normal(0.9, 0.005, size=(8, 5)) + rng.normal(0, 0.02, size=5)
    x[7, 1] -= 0.4
    noise = racing.pooled_noise({n: x[n].tolist() for n in range(8)})
    assert noise.own == (7,)
    assert noise.variance == pytest.approx(two_way_mse(x[:7]), rel=1e-12) and noise.df == 6 * 4
    assert two_way_mse(x) > 20 * (noise.variance or 0)
    # in a race: network 6 is 3 points behind and is dropped in round 1 although 7 stalled; 7 is compared on its
    # own differences (pooled False) and, with one wild seed among 3, is not dropped on it
    scores = {n: {s: float(x[n, s]) for s in range(5)} for n in range(8)}
    for s in range(5):
        scores[6][s] -= 0.03
    r = race(scores, list(range(8)), 2, RaceRules(equivalence=0.0, looks=3))
    first = r.rounds[0]
    assert first.noise.own == (7,) and 6 in first.dropped and 7 not in first.dropped
    assert {c.network: c.pooled for c in first.comparisons}[7] is False
    assert all(c.pooled for c in first.comparisons if c.network != 7)


def test_cochrans_test_rarely_leaves_out_a_network_of_ordinary_noise() -> None:
    rng = np.random.default_rng(5)
    out = 0
    for _ in range(300):
        m, n = int(rng.integers(3, 15)), int(rng.integers(3, 11))
        x = rng.normal(0.9, 0.01, size=(m, n)) + rng.normal(0, 0.02, size=n)
        out += bool(racing.pooled_noise({i: x[i].tolist() for i in range(m)}).own)
    assert out / 300 <= 0.03  # at OUTLIER_ALPHA = 0.01; measured: 0 of 300


def test_a_survivor_is_dropped_on_its_comparison_with_the_best_times_the_others() -> None:
    # 3 survivors, noise pooled over them: a comparison's p times 2 (either other survivor could have been
    # the best) against alpha / looks; the same p with 6 survivors needs 5 times less
    x = {0: [0.90, 0.91, 0.92], 1: [0.895, 0.90, 0.915], 2: [0.80, 0.81, 0.83]}
    rules = RaceRules(equivalence=0.0, looks=8)
    rd = race({n: dict(enumerate(v)) for n, v in x.items()}, [0, 1, 2], 2, rules).rounds[0]
    noise = racing.pooled_noise(x)
    for c in rd.comparisons:
        d = [a - b for a, b in zip(x[0], x[c.network], strict=True)]
        p = racing.p_worse(d, 2 * (noise.variance or 0), noise.df)
        assert c.p_worse == pytest.approx(p, rel=1e-12) and c.dropped == (2 * (p or 1) <= rules.round_alpha)
    assert 2 in rd.dropped and 0 not in rd.dropped and rd.noise.df == 4


@pytest.mark.parametrize(("networks", "measured"), [(4, (9, 8)), (12, (8, 8))])
def test_the_family_wise_error_over_the_race_by_simulation(networks: int, measured: tuple[int, int]) -> None:
    # 400 races of networks of equal mean (own noise sd 1 point, a shared seed effect of 2), 2 base seeds,
    # 8 looks, no equivalence margin (so every race runs all its looks: the most chances to err). Every network
    # is a best one, and the race promises that any given one is dropped in at most 5% of races: network 0's
    # drops, and the mean over networks of each one's drops, count against it. (Dropping *some* of 12 equal
    # networks is more frequent, as in every procedure that keeps a best one (Hsu 1996, ch. 4): another as
    # good survives.) Measured: network 0 dropped in 9 races of 4 networks and 8 of 12; each network, on
    # average, in 8 (2%).
    rng = np.random.default_rng(0)
    rules = RaceRules(equivalence=0.0)
    first, every = 0, 0
    for _ in range(400):
        x = rng.normal(0.9, 0.01, size=(networks, 10)) + rng.normal(0, 0.02, size=10)
        scores = {n: {s: float(x[n, s]) for s in range(10)} for n in range(networks)}
        r = race(scores, list(range(networks)), 2, rules)
        assert r.finished and r.decision != "equivalent"
        dropped = {n for rd in r.rounds for n in rd.dropped}
        first += 0 in dropped
        every += len(dropped)
    assert first / 400 <= 0.05 and every / networks / 400 <= 0.05
    assert (first, round(every / networks)) == measured


def test_equivalence_is_never_declared_with_a_network_worse_by_three_margins() -> None:
    # Networks 0 and 1 equal, network 2 three margins (3 points) behind; noise large enough that races are
    # hard. An "equivalent" verdict may come only once network 2 is out.
    rules = RaceRules(equivalence=0.01)
    verdicts = {"winner": 0, "equivalent": 0, "undecided": 0}
    for seed in range(150):
        scores = table({0: 0.90, 1: 0.90, 2: 0.87}, seeds=10, own=0.01, seed=seed)
        r = race(scores, [0, 1, 2], 2, rules)
        verdicts[r.decision] += 1
        for rd in r.rounds:
            worse = next((c for c in rd.comparisons if c.network == 2), None)
            assert worse is None or not worse.within
        if r.decision == "equivalent":
            assert 2 not in r.survivors
    # measured: 5 equivalent (0 and 1, after 2 was dropped), 4 winners, 141 undecided
    assert verdicts["equivalent"] > 0 and verdicts["undecided"] < 150


def test_one_entrant_wins_at_once() -> None:
    r = race({4: {0: 0.9, 1: 0.8}}, [4], 2, RaceRules())
    assert (r.decision, r.finished, r.rounds, r.survivors, r.next_seed, r.winner()) == ("winner", True, (), (4,),
                                                                                        None, 4)
    assert race_work(r) == [] and r.to_dict()["seeds"] == {"4": 2}


def test_constant_differences_decide_without_nan() -> None:
    assert racing.p_worse([0.02, 0.02, 0.02]) == 0.0  # the best ahead on every seed by the same amount
    assert racing.p_worse([-0.02, -0.02]) == 1.0
    assert racing.p_worse([0.0, 0.0, 0.0]) is None and racing.p_worse([0.5]) is None
    assert racing.p_worse([0.9 - 0.8, 0.7 - 0.6, 0.5 - 0.4]) == 0.0  # equal up to float noise: still constant
    assert racing.p_equivalent([0.0, 0.0], 0.01) == 0.0 and racing.p_equivalent([0.0, 0.0], 0.0) == 1.0
    assert racing.p_equivalent([0.02, 0.02], 0.01) == 1.0 and racing.p_equivalent([0.5], 0.01) is None
    # identical networks: equivalent at once (round 1), never NaN anywhere
    same = {n: {s: 0.9 + s / 100 for s in range(4)} for n in range(3)}
    r = race(same, [0, 1, 2], 2, RaceRules())
    assert r.decision == "equivalent" and len(r.rounds) == 1
    assert [(c.margin, c.p_worse, c.p_equivalent, c.dropped) for c in r.rounds[0].comparisons] == [
        (0.0, None, 0.0, False)] * 2
    json.dumps(r.to_dict(), allow_nan=False)
    assert racing.t_interval([0.5, 0.5, 0.5]) == (0.5, 0.5)


def test_the_t_tests_are_scipys() -> None:
    rng = np.random.default_rng(1)
    for n in (2, 3, 6):
        for _ in range(5):
            a, b = rng.normal(0.9, 0.02, n), rng.normal(0.89, 0.02, n)
            d = (a - b).tolist()
            assert racing.p_worse(d) == pytest.approx(scipy.stats.ttest_rel(a, b, alternative="greater").pvalue,
                                                      rel=1e-9)
            low = scipy.stats.ttest_1samp(d, -0.01, alternative="greater").pvalue
            high = scipy.stats.ttest_1samp(d, 0.01, alternative="less").pvalue
            assert racing.p_equivalent(d, 0.01) == pytest.approx(max(low, high), rel=1e-9)
            m, s = float(np.mean(a)), float(np.std(a, ddof=1))
            half = float(scipy.stats.t.ppf(0.975, n - 1)) * s / math.sqrt(n)
            assert racing.t_interval(a.tolist()) == pytest.approx((m - half, m + half), rel=1e-9)
    assert racing.t_interval([0.5]) == (0.5, 0.5)


def test_the_race_says_its_test_and_writes_plain_json() -> None:
    scores = table({0: 0.95, 1: 0.90, 2: 0.85}, seeds=10, own=0.005)
    r = race(scores, [0, 1, 2], 2, RaceRules())
    assert "Hsu" in r.test and "0.05/8" in r.test and "TOST" in r.test
    assert "a best network dropped with chance <= 0.05" in r.test
    d = json.loads(json.dumps(r.to_dict(), allow_nan=False))
    assert d["decision"] == "winner" and d["winner"] == 0 and d["rules"]["round_alpha"] == pytest.approx(0.05 / 8)
    assert d["rounds"][0]["means"]["0"] == pytest.approx(r.rounds[0].means[0])
    assert d["seeds"] == {str(n): r.seeds_of(n) for n in (0, 1, 2)} and d["seeds"]["0"] == len(r.rounds[-1].seeds)
    assert isinstance(r, Race)


@pytest.mark.parametrize(("kwargs", "field"), [
    ({"alpha": 0.0}, "alpha"), ({"alpha": 1.5}, "alpha"), ({"looks": 0}, "looks"), ({"looks": 2.5}, "looks"),
    ({"equivalence": -0.01}, "equivalence"), ({"equivalence": math.nan}, "equivalence")])
def test_bad_rules_are_one_line_errors(kwargs: dict[str, float], field: str) -> None:
    with pytest.raises(FieldError) as err:
        RaceRules(**kwargs)  # type: ignore[arg-type]
    assert err.value.field == field and "\n" not in str(err.value)


def test_bad_race_input_is_a_field_error() -> None:
    scores = {0: {0: 0.9, 1: 0.8}, 1: {0: 0.8, 1: 0.7}}
    for kwargs in ({"entrants": [], "base_seeds": 2}, {"entrants": [0, 0], "base_seeds": 2},
                   {"entrants": [0, 1], "base_seeds": 0}):
        with pytest.raises(FieldError):
            race(scores, rules=RaceRules(), **kwargs)  # type: ignore[arg-type]
    nan = {0: {0: 0.9, 1: 0.8, 2: math.nan}, 1: {0: 0.8, 1: 0.7, 2: 0.7}}
    with pytest.raises(FieldError, match="not a finite number"):
        race(nan, [0, 1], 2, RaceRules())


def test_the_recommended_network_is_the_winner_the_cheapest_equivalent_or_the_best_undecided() -> None:
    costs = {0: 900.0, 1: 800.0, 2: 850.0}
    win = race(table({0: 0.95, 1: 0.90, 2: 0.85}, seeds=10, own=0.005), [0, 1, 2], base_seeds=2, rules=RaceRules())
    assert racing.recommend(win, costs) == (0, "winner")  # a winner is built even when it costs more
    equal = race(table({0: 0.9, 1: 0.9, 2: 0.9}, seeds=10, own=0.0005), [0, 1, 2], base_seeds=2,
                 rules=RaceRules(equivalence=0.01))
    assert equal.decision == "equivalent"
    assert racing.recommend(equal, costs) == (1, "cheapest")
    # the choice among equivalents follows the costs, never the noise of the means
    assert racing.recommend(equal, {0: 700.0, 1: 800.0, 2: 850.0})[0] == 0
    # equal costs, or none known, fall back to the best mean
    assert racing.recommend(equal, {})[0] == equal.survivors[0]
    assert racing.recommend(equal, dict.fromkeys((0, 1, 2), 5.0))[0] == equal.survivors[0]
    tie = race(table({0: 0.9, 1: 0.9, 2: 0.9}, seeds=5, own=0.02), [0, 1, 2], base_seeds=2,
               rules=RaceRules(looks=3, equivalence=0.001))
    assert tie.decision == "undecided" and racing.recommend(tie, costs) == (tie.survivors[0], "best mean")
