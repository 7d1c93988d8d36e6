"""The candidate set of a compound-coefficient search: grid, constraint, collapse groups, proxy groups.

The grid and the constraint are pure arithmetic (``scalesearch.core.grid``). Here:

- Every kept point is built (``scale``) and measured; points that round to the same network at the same
  resolution share one *collapse group* (full ``architecture_key``). The trained network is the reduced
  proxy (``train.proxy_spec``), where even more points coincide: the *proxy group* is the unit that is
  trained, once, and its accuracy is reported under every triple that maps to it.
- The baseline (1, 1, 1) is always a candidate (the reference), feasible or not; it is proxy group 0.
- Reference strategies (``scalesearch.core.strategies``) are candidates too, at their phi = 1 point: a grid
  point that is one is tagged with its name, one off the grid is added. They are feasible by the same
  constraint as every other candidate and compete like any of them.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from decimal import Decimal

from scalesearch.core.builderspec import AnySpec
from scalesearch.core.errors import FieldError, SearchError
from scalesearch.core.grid import CONSTRAINTS, DEFAULT_TOLERANCE, Ranges, band, formula_feasible, product
from scalesearch.core.record import CandidateRow, Network
from scalesearch.core.scaling import policy as get_policy
from scalesearch.core.strategies import Strategy
from scalesearch.measure import Cost, measure
from scalesearch.nn import scale_network
from scalesearch.train import Dataset, ProxyConfig, proxy_spec

# measured mode screens the whole box with the meta counter (conv+linear only, ~10x faster) before the
# exact fvcore count; a 10% margin covers the 2-4% fvcore adds for batch norm and pooling.
_SCREEN_MARGIN = 0.10


@dataclass(frozen=True)
class Candidate:
    """One coefficient triple at phi = 1, built and measured. FLOPs are fvcore multiply-adds at the
    deployment resolution (baseline resolution x the resolution multiplier, rounded by the policy)."""

    alpha: float
    beta: float
    gamma: float
    product: float  # alpha * beta^2 * gamma^2
    spec: AnySpec  # the full candidate
    cost: Cost
    flops_ratio: float  # cost.flops / baseline flops
    group: int  # collapse group: same full network and resolution
    proxy_key: str  # architecture_key() of the trained proxy network
    proxy_group: int  # the unit that is trained (index into SearchSpace.proxy_groups)
    proxy_resolution: int
    is_baseline: bool = False
    feasible: bool = True  # False for the baseline or a reference point outside the band
    reference: str = ""  # the strategies this point is, "+"-joined

    @property
    def triple(self) -> tuple[float, float, float]:
        return (self.alpha, self.beta, self.gamma)

    @property
    def depth(self) -> int:
        return self.spec.total_layers

    def to_row(self, index: int) -> CandidateRow:
        """The facts a dry run lists and the study stores."""
        rec = self.spec.scaling
        return CandidateRow(
            index=index, alpha=self.alpha, beta=self.beta, gamma=self.gamma, product=round(self.product, 6),
            depth_achieved=rec.depth_achieved if rec else 1.0, width_achieved=rec.width_achieved if rec else 1.0,
            resolution_achieved=rec.resolution_achieved if rec else 1.0, layers=self.depth,
            resolution_px=self.spec.resolution, proxy_resolution_px=self.proxy_resolution, flops=self.cost.flops,
            params=self.cost.params, activations=self.cost.activations, flops_ratio=round(self.flops_ratio, 6),
            group=self.group, network=self.proxy_group, architecture=self.cost.architecture,
            proxy_architecture=self.proxy_key, baseline=self.is_baseline, feasible=self.feasible,
            reference=self.reference,
            latency_ms=self.cost.latency.median_ms if self.cost.latency is not None else None,
        )


@dataclass
class SearchSpace:
    """Feasible candidates (baseline first), their collapse groups and proxy groups."""

    baseline: AnySpec
    candidates: list[Candidate]
    constraint: str
    tolerance: float
    grid_points: int  # size of the alpha x beta x gamma box
    proxy_groups: list[list[Candidate]] = field(default_factory=list)

    @property
    def n_groups(self) -> int:
        return len({c.group for c in self.candidates})

    def rows(self) -> list[CandidateRow]:
        return [c.to_row(i) for i, c in enumerate(self.candidates)]

    def networks(self) -> list[Network]:
        """One entry per proxy group: its key, the spec to train (the first member's) and its members."""
        index = {id(c): i for i, c in enumerate(self.candidates)}
        return [Network(n, members[0].proxy_key, members[0].spec, tuple(index[id(c)] for c in members))
                for n, members in enumerate(self.proxy_groups)]


def _candidate_spec(base: AnySpec, a: float, b: float, g: float, policy: str) -> AnySpec:
    return scale_network(base, depth=a, width=b, resolution=g, policy=policy, coefficients=(a, b, g, 1.0))


def _empty_message(ranges: Ranges, tolerance: float, constraint: str, seen: Iterable[float],
                   cost: str = "flops") -> str:
    lo, hi = band(tolerance)
    values = list(seen)
    span = f"; the grid's {'measured ratios' if constraint == 'measured' else 'products'} run " \
           f"{min(values):.3f}..{max(values):.3f}" if values else ""
    ratio = f"{'FLOPs' if cost == 'flops' else cost} ratio"
    return (f"no grid point satisfies the {constraint} constraint {float(lo):g} <= "
            f"{ratio if constraint == 'measured' else 'alpha*beta^2*gamma^2'} <= {float(hi):g}{span}: "
            f"widen --tolerance (now {tolerance:g}) or the --alpha/--beta/--gamma ranges "
            f"({' / '.join(ranges.text)})")


def build_space(
    base: AnySpec,
    ranges: Ranges,
    *,
    tolerance: float = DEFAULT_TOLERANCE,
    constraint: str = "formula",
    policy: str = "efficientnet",
    proxy: ProxyConfig | None = None,
    data: Dataset | None = None,
    dedup: bool = True,
    references: Sequence[Strategy] = (),
    measure_fn: Callable[[AnySpec], Cost] = measure,
    progress: Callable[[int, int], None] | None = None,
    cost: str = "flops",
) -> SearchSpace:
    """Enumerate, filter, build and measure the candidates; assign collapse and proxy groups.

    ``proxy`` and ``data`` define the trained network; without them each collapse group is its own proxy
    group. ``dedup=False`` gives every triple its own proxy group (for benchmarks of what dedup saves).
    ``cost`` is the score's cost: the measured constraint keeps that cost's ratio to the baseline's in the
    band (``measure_fn`` must then measure it: latency needs a latency config).
    Raises SearchError when nothing is feasible, naming what to widen.
    """
    if constraint not in CONSTRAINTS:
        raise FieldError("constraint", constraint, f"choose one of {', '.join(CONSTRAINTS)}")
    get_policy(policy)
    lo, hi = band(tolerance)
    base_cost = measure_fn(base)

    if constraint == "formula":
        points = formula_feasible(ranges, tolerance)
        if not points:
            raise SearchError(_empty_message(ranges, tolerance, constraint,
                                             [float(product(*p)) for p in ranges.points()]))
    else:
        points = _measured_feasible(base, ranges, tolerance, policy, base_cost, measure_fn, progress, cost)

    # The baseline always comes first, whether or not (1, 1, 1) satisfies the constraint; reference points
    # off the grid come last, feasible only if they satisfy it.
    baseline_point = (1.0, 1.0, 1.0)
    names: dict[tuple[float, float, float], list[str]] = {}
    for strategy in references:
        names.setdefault(strategy.coefficients, []).append(strategy.name)
    grid_points = set(points)
    ordered = [baseline_point] + [p for p in points if p != baseline_point]
    ordered += [p for p in names if p not in grid_points and p != baseline_point]
    total = len(ordered)
    candidates: list[Candidate] = []
    group_of: dict[str, int] = {}
    proxy_of: dict[str, int] = {}
    for i, (a, b, g) in enumerate(ordered):
        spec = _candidate_spec(base, a, b, g, policy)
        measured = measure_fn(spec)
        key = spec.architecture_key()
        group = group_of.setdefault(key, len(group_of))
        if proxy is not None and data is not None:
            pspec = proxy_spec(spec, proxy, data)
            pkey, pres = pspec.architecture_key(), pspec.resolution
        else:
            pkey, pres = key, spec.resolution
        unit = f"{a}:{b}:{g}" if not dedup else pkey
        pgroup = proxy_of.setdefault(unit, len(proxy_of))
        prod = float(product(a, b, g))
        ratio = measured.flops / base_cost.flops
        if (a, b, g) in grid_points:
            feasible = True
        else:  # the baseline, or a reference point off the grid: the constraint decides
            value = product(a, b, g) if constraint == "formula" else \
                Decimal(repr(_value(measured, cost) / _value(base_cost, cost)))
            feasible = lo <= value <= hi
        candidates.append(Candidate(
            alpha=a, beta=b, gamma=g, product=prod, spec=spec, cost=measured,
            flops_ratio=ratio, group=group, proxy_key=pkey, proxy_group=pgroup,
            proxy_resolution=pres, is_baseline=(a, b, g) == baseline_point, feasible=feasible,
            reference="+".join(names.get((a, b, g), [])),
        ))
        if progress is not None:
            progress(i + 1, total)
    groups: list[list[Candidate]] = [[] for _ in range(len(proxy_of))]
    for c in candidates:
        groups[c.proxy_group].append(c)
    return SearchSpace(base, candidates, constraint, tolerance, ranges.size, groups)


def _value(cost: Cost, kind: str) -> float:
    if kind == "latency":
        if cost.latency is None:
            raise SearchError("the latency cost needs candidates measured with a latency config")
        return cost.latency.median_ms
    return float({"flops": cost.flops, "activations": cost.activations, "params": cost.params}[kind])


def _measured_feasible(base: AnySpec, ranges: Ranges, tolerance: float, policy: str, base_cost: Cost,
                       measure_fn: Callable[[AnySpec], Cost],
                       progress: Callable[[int, int], None] | None,
                       kind: str = "flops") -> list[tuple[float, float, float]]:
    """Points whose measured ratio of the ``kind`` cost (fvcore FLOPs by default) lies in [lo, hi]. Each
    distinct network is measured once (the caches key on the architecture), and a meta-device screen skips
    exact measurements far outside the band. Latency has no cheap screen: its points are screened on the
    FLOPs ratio with a wide margin (a network at a quarter or four times the band's FLOPs is not timed)."""
    lo, hi = band(tolerance)
    margin = (0.25, 4.0) if kind == "latency" else (1 - _SCREEN_MARGIN, 1 + _SCREEN_MARGIN)
    screen_kind = "flops" if kind == "latency" else kind
    screen_base = measure(base, counter="meta")
    by_key: dict[str, float] = {}
    kept: list[tuple[float, float, float]] = []
    ratios: list[float] = []
    points = list(ranges.points())
    for i, p in enumerate(points):
        spec = _candidate_spec(base, *p, policy)
        key = spec.architecture_key()
        if key not in by_key:
            rough = _value(measure(spec, counter="meta"), screen_kind) / _value(screen_base, screen_kind)
            if float(lo) * margin[0] <= rough <= float(hi) * margin[1]:
                by_key[key] = _value(measure_fn(spec), kind) / _value(base_cost, kind)
            else:
                by_key[key] = rough  # far outside the band: the exact count cannot bring it in
        ratio = by_key[key]
        ratios.append(ratio)
        if lo <= Decimal(repr(ratio)) <= hi:
            kept.append(p)
        if progress is not None:
            progress(i + 1, len(points))
    if not kept:
        raise SearchError(_empty_message(ranges, tolerance, "measured", ratios, kind))
    return kept
