"""scalesearch: find compound scaling coefficients for a ConvNet baseline and scale it.

The data flows spec -> scale -> build -> measure -> train -> search -> report; each step is a module
and the names below are the public Python API. The face is lazy (PEP 562): ``import scalesearch.core.spec``
or ``from scalesearch import compound`` needs neither torch nor fvcore; ``build`` and ``measure`` load
them on first use.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

__version__ = "0.1.0"

# public name -> the module that defines it
_API = {
    "baseline": "scalesearch.core.baselines", "baselines": "scalesearch.core.baselines",
    "ScaleSearchError": "scalesearch.core.errors",
    "Cost": "scalesearch.measure", "measure": "scalesearch.measure", "Latency": "scalesearch.measure",
    "LatencyConfig": "scalesearch.measure",
    "build": "scalesearch.nn", "resolve_baseline": "scalesearch.nn", "scale_network": "scalesearch.nn",
    "BuilderSpec": "scalesearch.core.builderspec",
    "POLICIES": "scalesearch.core.scaling", "RoundingPolicy": "scalesearch.core.scaling",
    "compound": "scalesearch.core.scaling", "scale": "scalesearch.core.scaling",
    "BlockKind": "scalesearch.core.spec", "HeadSpec": "scalesearch.core.spec", "NetSpec": "scalesearch.core.spec",
    "StageSpec": "scalesearch.core.spec", "StemSpec": "scalesearch.core.spec",
    "load_spec": "scalesearch.core.specio", "save_spec": "scalesearch.core.specio",
    "strategies": "scalesearch.core.strategies",
    "Budget": "scalesearch.family", "Recipe": "scalesearch.family", "solve_phi": "scalesearch.family",
}

__all__ = [
    "POLICIES", "BlockKind", "BuilderSpec", "Cost", "HeadSpec", "Latency", "LatencyConfig",
    "NetSpec", "RoundingPolicy", "ScaleSearchError", "StageSpec", "Budget", "Recipe", "solve_phi", "strategies",
    "StemSpec", "baseline", "baselines", "build", "compound", "load_spec", "measure", "resolve_baseline", "save_spec",
    "scale", "scale_network",
]

if TYPE_CHECKING:  # for type checkers and IDEs; at run time __getattr__ loads on demand
    from scalesearch.core import strategies
    from scalesearch.core.baselines import baseline, baselines
    from scalesearch.core.builderspec import BuilderSpec
    from scalesearch.core.errors import ScaleSearchError
    from scalesearch.core.scaling import POLICIES, RoundingPolicy, compound, scale
    from scalesearch.core.spec import BlockKind, HeadSpec, NetSpec, StageSpec, StemSpec
    from scalesearch.core.specio import load_spec, save_spec
    from scalesearch.family import Budget, Recipe, solve_phi
    from scalesearch.measure import Cost, Latency, LatencyConfig, measure
    from scalesearch.nn import build, resolve_baseline, scale_network


def __getattr__(name: str) -> Any:
    module = _API.get(name)
    if module is None:
        raise AttributeError(f"module 'scalesearch' has no attribute {name!r}")
    loaded = importlib.import_module(module)
    value = getattr(loaded, name, loaded)  # a name the module does not define is the module (strategies)
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    return sorted(set(globals()) | set(_API))
