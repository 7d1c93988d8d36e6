"""scalesearch: find compound scaling coefficients for a ConvNet baseline and scale it.

The data flows spec -> scale -> build -> measure -> train -> search -> report; each step is a module
and the names below are the public Python API.
"""

from scalesearch.baselines import baseline, baselines
from scalesearch.errors import ScaleSearchError
from scalesearch.measure import Cost, measure
from scalesearch.nn import build
from scalesearch.scaling import POLICIES, RoundingPolicy, compound, scale
from scalesearch.spec import BlockKind, HeadSpec, NetSpec, StageSpec, StemSpec
from scalesearch.specio import load_spec, save_spec

__version__ = "0.1.0"

__all__ = [
    "POLICIES", "BlockKind", "Cost", "HeadSpec", "NetSpec", "RoundingPolicy", "ScaleSearchError", "StageSpec",
    "StemSpec", "baseline", "baselines", "build", "compound", "load_spec", "measure", "save_spec", "scale",
]
