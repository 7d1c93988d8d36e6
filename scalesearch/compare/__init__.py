"""Layer 5, `scalesearch compare`: the paper's Table 3 on your data. Compound scaling against depth-, width-
and resolution-only at the same measured FLOPs, trained on paired seeds, with a verdict per dimension.

config (models, rule, CompareConfig) -> match (each model solved to the target) -> train (paired seeds
through the proxy-run cache) -> verdict (a paired test per comparison) -> result (rows, the record) ->
files; ``compare`` (run.py) does all of it; ``inputs`` reads a finished study's settings.
"""

from scalesearch.compare.config import (
    COMPARE_FORMAT,
    COMPOUND,
    DEFAULT_EPOCHS,
    DEFAULT_SEEDS,
    DEFAULT_TOLERANCE,
    MODELS,
    REFERENCES,
    RULE,
    SINGLE,
    CompareConfig,
)
from scalesearch.compare.files import CSV_COLUMNS, FILES, write_files
from scalesearch.compare.inputs import study_inputs, study_proxy
from scalesearch.compare.match import Planned, match_models, recipes
from scalesearch.compare.result import Comparison, ModelRow
from scalesearch.compare.run import compare, judge
from scalesearch.compare.train import Step, device_description, estimate_seconds, pending, proxy_keys, train_rows
from scalesearch.compare.verdict import Verdict, Versus, ok_accuracies, verdict

__all__ = ["COMPARE_FORMAT", "COMPOUND", "CSV_COLUMNS", "DEFAULT_EPOCHS", "DEFAULT_SEEDS", "DEFAULT_TOLERANCE", "FILES",
           "MODELS", "REFERENCES", "RULE", "SINGLE", "CompareConfig", "Comparison", "ModelRow", "Planned", "Step",
           "Verdict", "Versus", "compare", "device_description", "estimate_seconds", "judge", "match_models",
           "ok_accuracies", "pending", "proxy_keys", "recipes", "study_inputs", "study_proxy", "train_rows", "verdict",
           "write_files"]
