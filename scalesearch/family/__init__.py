"""Layer 3, model families: a recipe (baseline + coefficients or strategy) scaled to concrete, measured
members (``scale_family``), the largest member within a budget (``solve_phi``), and the files ``scale``
writes. What ``scalesearch scale`` runs."""

from scalesearch.family.budget import BUDGET_COSTS, MAX_SOLVED_PHI, Budget, Solution, solve_phi
from scalesearch.family.files import BUILDER_FAMILY, family_dir, family_files, reference_arguments, write_family
from scalesearch.family.recipe import Member, Recipe, member_at, scale_family

__all__ = ["BUDGET_COSTS", "BUILDER_FAMILY", "MAX_SOLVED_PHI", "Budget", "Member", "Recipe", "Solution",
           "family_dir", "family_files", "member_at", "reference_arguments", "scale_family", "solve_phi",
           "write_family"]
