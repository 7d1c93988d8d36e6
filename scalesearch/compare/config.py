"""What a comparison trains and how it matches: the models (Table 3 order), the rule of the verdict and
``CompareConfig``."""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from scalesearch.core.errors import FieldError
from scalesearch.core.ranking import NOISE_Z
from scalesearch.search.config import DEFAULT_BATCH, DEFAULT_RUNGS
from scalesearch.search.runcache import run_scope
from scalesearch.train import DEFAULT_DATA, ProxyConfig

COMPARE_FORMAT = 1
COMPOUND = "compound"
SINGLE = ("depth-only", "width-only", "resolution-only")
REFERENCES = ("paper", "uniform", "dwr")
MODELS = (*SINGLE, COMPOUND, *REFERENCES)  # table order: the paper's Table 3 puts the single dimensions first
DEFAULT_TOLERANCE = 0.05
DEFAULT_SEEDS = 3  # each comparison's own paired test: 2 common seeds give it 1 degree of freedom, 3 give 2
DEFAULT_EPOCHS = DEFAULT_RUNGS[-1].epochs  # the search's final-rung fidelity
RULE = (f"compound beats a single dimension when its mean paired accuracy difference over the common seeds "
        f"exceeds {NOISE_Z:g} standard errors of that comparison's own paired differences (a paired t-style "
        "test per dimension, scalesearch.core.evidence.paired without pooling: a row that stalls on one seed widens "
        "its own comparison only)")


@dataclass(frozen=True)
class CompareConfig:
    """How the rows are trained and matched. ``proxy.epochs`` is the training length; ``seeds`` runs
    0..seeds-1 for every row; ``tolerance``: each row's measured FLOPs within this fraction of the target;
    ``references``: which reference strategies get a row beside the single dimensions and compound."""

    data: str = DEFAULT_DATA
    proxy: ProxyConfig = field(default_factory=lambda: ProxyConfig(epochs=DEFAULT_EPOCHS, batch_size=DEFAULT_BATCH))
    seeds: int = DEFAULT_SEEDS
    tolerance: float = DEFAULT_TOLERANCE
    counter: str = "fvcore"
    cache_size: int | None = None
    cache_path: Path | None = None  # None: the shared proxy-run cache ($SCALESEARCH_CACHE_DIR/proxy.sqlite)
    phi_resolution: float = 0.01
    references: tuple[str, ...] = REFERENCES  # the reference strategies trained beside the four rows of Table 3

    def __post_init__(self) -> None:
        unknown = [r for r in self.references if r not in REFERENCES]
        if unknown or len(set(self.references)) != len(self.references):
            raise FieldError("references", ",".join(self.references) or "none",
                             f"choose from {', '.join(REFERENCES)} (each once), all or none")
        if isinstance(self.seeds, bool) or not isinstance(self.seeds, int) or self.seeds < 1:
            raise FieldError("seeds", self.seeds, "must be an integer >= 1 (2 or more to measure the noise)")
        if not (isinstance(self.tolerance, (int, float)) and 0 < self.tolerance < 1):
            raise FieldError("tolerance", self.tolerance, "must lie in (0, 1), e.g. 0.05 for 5%")

    def cache_settings(self) -> dict[str, Any]:
        """The proxy-run cache's scope (search.runcache.run_scope, as the grid's rungs use it): a comparison
        reuses a search's runs of the same network, data and settings, and a rerun reuses its own."""
        return run_scope(self.data, self.proxy)

    def to_dict(self) -> dict[str, Any]:
        return {"data": self.data, "proxy": dataclasses.asdict(self.proxy), "seeds": self.seeds,
                "tolerance": self.tolerance, "counter": self.counter, "cache_size": self.cache_size,
                "phi_resolution": self.phi_resolution, "references": list(self.references)}
