"""Model families: strategies, the resolution cap, and the largest member within a budget."""

import math

import pytest

from scalesearch.core import strategies
from scalesearch.core.baselines import baseline
from scalesearch.core.errors import FieldError, UsageError
from scalesearch.core.scaling import compound
from scalesearch.family import Budget, Recipe, scale_family, solve_phi
from scalesearch.measure import LatencyConfig, measure

B0 = baseline("efficientnet-b0")


@pytest.mark.parametrize("name", strategies.names())
def test_a_strategy_family_follows_its_closed_form(name):
    recipe = Recipe.from_strategy(name)
    s = strategies.get(name)
    assert (recipe.alpha, recipe.beta, recipe.gamma) == s.coefficients and recipe.strategy == s.name
    for phi in (0.5, 1, 2.5):
        d, w, r = recipe.multipliers(phi)
        assert math.isclose(d * w**2 * r**2, s.product**phi, rel_tol=1e-9)
    spec = recipe.spec(B0, 1)
    assert spec.scaling.strategy == s.name and spec.name == f"efficientnet-b0-{s.name}-phi1"


def test_the_paper_strategy_is_the_paper_coefficients():
    assert Recipe.from_strategy("paper").multipliers(3) == pytest.approx(compound(1.2, 1.1, 1.15, 3), rel=1e-9)


def test_max_resolution_stops_resolution_and_records_cap_and_flops_factor():
    _, free = scale_family(B0, 1.2, 1.1, 1.15, [3, 4], counter="meta")
    _, capped = scale_family(B0, 1.2, 1.1, 1.15, [3, 4], counter="meta", max_resolution=300)
    assert [m.spec.resolution for m in free] == [340, 392] and [m.spec.resolution for m in capped] == [300, 300]
    for f, c in zip(free, capped, strict=True):
        assert c.spec.total_layers == f.spec.total_layers and c.cost.flops < f.cost.flops
        assert c.spec.scaling.max_resolution == 300
        assert c.spec.scaling.flops_factor == pytest.approx(c.flops_ratio, abs=1e-4)
        assert c.flops_ratio < 2**c.phi < f.flops_ratio
    with pytest.raises(FieldError, match="max_resolution"):
        Recipe(1.2, 1.1, 1.15, max_resolution=8).spec(B0, 1)


@pytest.mark.parametrize(("recipe", "budget"), [
    (Recipe(1.2, 1.1, 1.15), Budget("flops", 2e9)),
    (Recipe.from_strategy("dwr"), Budget("params", 20e6)),
    (Recipe.from_strategy("resolution-only", max_resolution=320), Budget("flops", 7e8)),
])
def test_solved_phi_fits_and_its_next_step_does_not(recipe, budget):
    s = solve_phi(B0, recipe, budget, counter="meta")
    assert budget.of(s.chosen.cost) <= budget.limit < budget.of(s.next_step.cost)
    assert s.next_step.phi == pytest.approx(s.chosen.phi + 0.01)
    # the chosen member is what a family at that phi builds
    _, (again,) = scale_family(B0, 0, 0, 0, [s.chosen.phi], counter="meta", recipe=recipe)
    assert again.cost.flops == s.chosen.cost.flops


def test_latency_budget_on_a_tiny_network(tiny_spec):
    cfg = LatencyConfig(threads=1, warmup=1, repeats=3, min_repeats=3, budget_seconds=0.2)
    base = measure(tiny_spec, "meta", latency=cfg).latency.median_ms
    s = solve_phi(tiny_spec, Recipe(1.2, 1.1, 1.15), Budget("latency", 3 * base, cfg), counter="meta")
    assert s.chosen.cost.latency.median_ms <= 3 * base < s.next_step.cost.latency.median_ms
    assert s.chosen.phi >= 0


def test_a_budget_below_the_baseline_gives_the_baseline_cost():
    with pytest.raises(FieldError, match="costs 385,814,752 multiply-adds") as err:
        solve_phi(B0, Recipe(1.2, 1.1, 1.15), Budget("flops", 1e8), counter="meta")
    assert err.value.field == "target_flops"


def test_bad_budgets():
    with pytest.raises(UsageError, match="a budget is one of"):
        Budget("activations", 1e6)
    with pytest.raises(UsageError, match="positive"):
        Budget("flops", -1)
    with pytest.raises(UsageError, match="phi_resolution"):
        solve_phi(B0, Recipe(1.2, 1.1, 1.15), Budget("flops", 2e9), phi_resolution=0)
    with pytest.raises(UsageError, match="never reached"):  # a recipe that does not grow
        solve_phi(B0, Recipe(1, 1, 1), Budget("flops", 2e9), counter="meta")
    with pytest.raises(UsageError, match="stops growing"):  # capped below the budget: ~787M at most
        solve_phi(B0, Recipe.from_strategy("resolution-only", max_resolution=320), Budget("flops", 1.2e9),
                  counter="meta")
