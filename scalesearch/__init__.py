"""scalesearch: find compound scaling coefficients for a ConvNet baseline and scale it.

The data flows spec -> scale -> build -> measure -> train -> search -> report; each step is a module
and the names below are the public Python API. The face is lazy (PEP 562): ``import scalesearch.spec``
or ``from scalesearch import compound`` needs neither torch nor fvcore; ``build`` and ``measure`` load
them on first use.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

__version__ = "0.1.0"

# public name -> the module that defines it
_API = {
    "baseline": "scalesearch.baselines", "baselines": "scalesearch.baselines",
    "ScaleSearchError": "scalesearch.errors",
    "Cost": "scalesearch.measure", "measure": "scalesearch.measure", "Latency": "scalesearch.measure",
    "LatencyConfig": "scalesearch.measure",
    "build": "scalesearch.nn",
    "POLICIES": "scalesearch.scaling", "RoundingPolicy": "scalesearch.scaling", "compound": "scalesearch.scaling",
    "scale": "scalesearch.scaling",
    "BlockKind": "scalesearch.spec", "HeadSpec": "scalesearch.spec", "NetSpec": "scalesearch.spec",
    "StageSpec": "scalesearch.spec", "StemSpec": "scalesearch.spec",
    "load_spec": "scalesearch.specio", "save_spec": "scalesearch.specio",
    "strategies": "scalesearch.strategies",
    "Budget": "scalesearch.family", "Recipe": "scalesearch.family", "solve_phi": "scalesearch.family",
}

__all__ = [
    "POLICIES", "BlockKind", "Cost", "HeadSpec", "Latency", "LatencyConfig",
    "NetSpec", "RoundingPolicy", "ScaleSearchError", "StageSpec", "Budget", "Recipe", "solve_phi", "strategies",
    "StemSpec", "baseline", "baselines", "build", "compound", "load_spec", "measure", "save_spec", "scale",
]

if TYPE_CHECKING:  # for type checkers and IDEs; at run time __getattr__ loads on demand
    from scalesearch import strategies
    from scalesearch.baselines import baseline, baselines
    from scalesearch.errors import ScaleSearchError
    from scalesearch.family import Budget, Recipe, solve_phi
    from scalesearch.measure import Cost, Latency, LatencyConfig, measure
    from scalesearch.nn import build
    from scalesearch.scaling import POLICIES, RoundingPolicy, compound, scale
    from scalesearch.spec import BlockKind, HeadSpec, NetSpec, StageSpec, StemSpec
    from scalesearch.specio import load_spec, save_spec


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
