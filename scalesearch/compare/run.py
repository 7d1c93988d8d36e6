"""The paper's Table 3 on your data: compound scaling against scaling one dimension, at the same FLOPs.

``compare(baseline, coefficients, phi, CompareConfig(...))`` sets a target of the baseline's measured
multiply-adds x 2^phi; solves, for depth-only, width-only, resolution-only, the compound coefficients
("compound") and the other reference strategies (paper, uniform, dwr), the multiplier whose *measured,
rounded* network lands nearest the target (``family.solve_phi``'s bisection, then the nearer of the two
networks around the target); refuses, naming it, a strategy whose nearest network is off by more than the
tolerance; trains every row's proxy on the same seeds (paired), through the proxy-run cache so that an
interrupted comparison resumes; and says whether compound beats each single dimension by more than the
noise (``evidence.paired`` per comparison: mean paired difference over common seeds > 2 standard errors of
that comparison's own differences; not pooled, since a single-dimension network that stalls on one seed
would otherwise widen every comparison).

Why an error rather than an "unreachable" row: a row off the target by more than the tolerance compares
networks of different cost, which is the mistake the table exists to avoid; the message names the
strategy and the nearest costs so the user can move --phi or --tolerance.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Mapping, Sequence

from scalesearch.compare.config import COMPOUND, SINGLE, CompareConfig
from scalesearch.compare.match import Planned, match_models
from scalesearch.compare.result import Comparison, ModelRow
from scalesearch.compare.train import Step, device_description, train_rows
from scalesearch.compare.verdict import ok_accuracies, verdict
from scalesearch.core.builderspec import AnySpec
from scalesearch.core.runs import ProxyResult
from scalesearch.measure import Cost
from scalesearch.train import Dataset, load_data, train_proxy


def judge(baseline: AnySpec, coefficients: tuple[float, float, float], phi: float, config: CompareConfig,
          base_cost: Cost, planned: Sequence[Planned], results: Mapping[str, Mapping[int, ProxyResult]], *,
          policy: str, source: str, seconds: float, trained: int) -> Comparison:
    """The Comparison of trained rows: the table's rows and the verdict."""
    rows = tuple(ModelRow(p, dict(results[p.model])) for p in planned)
    judged = verdict(ok_accuracies(results[COMPOUND]), {m: ok_accuracies(results[m]) for m in SINGLE})
    return Comparison(baseline, coefficients, phi, policy, source, config, base_cost, planned[0].target_flops, rows,
                      judged, seconds, trained, device_description(config.proxy))


def compare(baseline: AnySpec, coefficients: tuple[float, float, float], phi: float,
            config: CompareConfig | None = None, *, policy: str = "efficientnet", source: str = "given",
            progress: Callable[[Step], None] | None = None, dataset: Dataset | None = None,
            trainer: Callable[..., ProxyResult] = train_proxy) -> Comparison:
    """Solve every row to the target, train it on ``config.seeds`` paired seeds and judge compound against
    the single dimensions. Raises FieldError naming a strategy that cannot reach the target."""
    config = config or CompareConfig()
    start = time.perf_counter()
    base_cost, planned = match_models(baseline, coefficients, phi, config, policy=policy)
    data = dataset or load_data(config.data, cache_size=config.cache_size)
    trained = [0]

    def count(step: Step) -> None:
        if step.result is not None and not step.cached:
            trained[0] += 1
        if progress is not None:
            progress(step)

    results = train_rows(planned, data, config, progress=count, trainer=trainer)
    return judge(baseline, coefficients, phi, config, base_cost, planned, results, policy=policy, source=source,
                 seconds=time.perf_counter() - start, trained=trained[0])
