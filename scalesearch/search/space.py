"""The candidate set of a compound-coefficient search: grid, constraint, collapse groups, proxy groups.

Step 1 of EfficientNet fixes phi = 1 and searches alpha (depth), beta (width), gamma (resolution) >= 1
under alpha * beta^2 * gamma^2 ~= 2. Here:

- The grid is the product of three ``START:STOP:STEP`` ranges parsed in decimal (``units.parse_range``), and
  the constraint product is computed in decimal too, so a point on the band's edge (1.9 or 2.1) is kept or
  dropped by arithmetic, not by binary rounding.
- ``formula`` keeps |alpha*beta^2*gamma^2 - 2| <= 2 * tolerance. ``measured`` keeps points whose fvcore
  multiply-adds over the baseline's lie in the same band: rounding of depth, width and resolution moves
  the real cost far from the formula (efficientnet-facts.md), so the two sets differ a lot.
- Every kept point is built (``scale``) and measured; points that round to the same network at the same
  resolution share one *collapse group* (full ``architecture_key``). The trained network is the reduced
  proxy (``train.proxy_spec``), where even more points coincide: the *proxy group* is the unit that is
  trained, once, and its accuracy is reported under every triple that maps to it.
- The baseline (1, 1, 1) is always a candidate (the reference), feasible or not; it is proxy group 0.
"""

from __future__ import annotations

import itertools
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from decimal import Decimal

from scalesearch.errors import SearchError, UsageError
from scalesearch.measure import Cost, measure
from scalesearch.scaling import policy as get_policy, scale
from scalesearch.spec import NetSpec
from scalesearch.train import Dataset, ProxyConfig, proxy_spec
from scalesearch.units import parse_range

# Defaults (docs/search.md): the band's ends are depth-only (alpha 2.0), width-only (beta 1.4: 1.96) and
# resolution-only (gamma 1.4); steps of 0.1 for alpha and beta and 0.05 for gamma hold the paper's point
# (1.2, 1.1, 1.15). That is 35 feasible points and 31 distinct B0 networks: with the top 5 confirmed on 3
# seeds, ~41 proxy runs, which fit the 15-minute budget on a 2-core CPU. Step 0.05 everywhere (111 points,
# 66 networks) is the finer grid when time allows (--alpha 1.0:2.0:0.05 --beta 1.0:1.4:0.05).
DEFAULT_ALPHA = "1.0:2.0:0.1"
DEFAULT_BETA = "1.0:1.4:0.1"
DEFAULT_GAMMA = "1.0:1.4:0.05"
DEFAULT_TOLERANCE = 0.05
CONSTRAINTS = ("formula", "measured")
TARGET_PRODUCT = Decimal(2)
# measured mode screens the whole box with the meta counter (conv+linear only, ~10x faster) before the
# exact fvcore count; a 10% margin covers the 2-4% fvcore adds for batch norm and pooling.
_SCREEN_MARGIN = 0.10


@dataclass(frozen=True)
class Ranges:
    """Parsed grid axes. ``alpha``/``beta``/``gamma`` keep the text the user typed for messages."""

    alpha: tuple[float, ...]
    beta: tuple[float, ...]
    gamma: tuple[float, ...]
    text: tuple[str, str, str] = (DEFAULT_ALPHA, DEFAULT_BETA, DEFAULT_GAMMA)

    @classmethod
    def parse(cls, alpha: str = DEFAULT_ALPHA, beta: str = DEFAULT_BETA, gamma: str = DEFAULT_GAMMA) -> Ranges:
        axes = []
        for name, text in (("alpha", alpha), ("beta", beta), ("gamma", gamma)):
            values = parse_range(text, what=f"--{name}")
            low = [v for v in values if v <= 0]
            if low:
                raise UsageError(f"--{name} {text!r}: coefficients must be positive (the paper uses >= 1)")
            axes.append(tuple(values))
        return cls(axes[0], axes[1], axes[2], (str(alpha), str(beta), str(gamma)))

    def points(self) -> Iterable[tuple[float, float, float]]:
        return itertools.product(self.alpha, self.beta, self.gamma)

    @property
    def size(self) -> int:
        return len(self.alpha) * len(self.beta) * len(self.gamma)


def dec(x: float) -> Decimal:
    """The decimal the user meant: parse_range values are floats of short decimals (1.05 -> '1.05')."""
    return Decimal(repr(float(x)))


def product(alpha: float, beta: float, gamma: float) -> Decimal:
    """alpha * beta^2 * gamma^2, exact in decimal."""
    return dec(alpha) * dec(beta) ** 2 * dec(gamma) ** 2


def band(tolerance: float) -> tuple[Decimal, Decimal]:
    """The kept interval of the product (or measured ratio): [2 (1 - tol), 2 (1 + tol)]."""
    if not 0 <= tolerance < 1:
        raise UsageError(f"--tolerance {tolerance}: must lie in [0, 1) (0.05 keeps products in [1.9, 2.1])")
    t = dec(tolerance)
    return TARGET_PRODUCT * (1 - t), TARGET_PRODUCT * (1 + t)


def formula_feasible(ranges: Ranges, tolerance: float) -> list[tuple[float, float, float]]:
    lo, hi = band(tolerance)
    return [p for p in ranges.points() if lo <= product(*p) <= hi]


@dataclass(frozen=True)
class Candidate:
    """One coefficient triple at phi = 1, built and measured. FLOPs are fvcore multiply-adds at the
    deployment resolution (baseline resolution x the resolution multiplier, rounded by the policy)."""

    alpha: float
    beta: float
    gamma: float
    product: float  # alpha * beta^2 * gamma^2
    spec: NetSpec  # the full candidate
    cost: Cost
    flops_ratio: float  # cost.flops / baseline flops
    group: int  # collapse group: same full network and resolution
    proxy_key: str  # architecture_key() of the trained proxy network
    proxy_group: int  # the unit that is trained (index into SearchSpace.proxy_groups)
    proxy_resolution: int
    is_baseline: bool = False
    feasible: bool = True  # False only for the baseline when (1, 1, 1) is outside the band

    @property
    def triple(self) -> tuple[float, float, float]:
        return (self.alpha, self.beta, self.gamma)

    @property
    def depth(self) -> int:
        return self.spec.total_layers

    def row(self) -> dict[str, object]:
        """The facts a dry run lists and a trial stores (JSON-ready)."""
        rec = self.spec.scaling
        return {
            "alpha": self.alpha, "beta": self.beta, "gamma": self.gamma, "product": round(self.product, 6),
            "d": rec.depth_achieved if rec else 1.0, "w": rec.width_achieved if rec else 1.0,
            "r": rec.resolution_achieved if rec else 1.0, "layers": self.depth,
            "resolution": self.spec.resolution, "proxy_resolution": self.proxy_resolution,
            "flops": self.cost.flops, "params": self.cost.params, "activations": self.cost.activations,
            "flops_ratio": round(self.flops_ratio, 6), "group": self.group, "proxy_group": self.proxy_group,
            "architecture": self.cost.architecture, "proxy_architecture": self.proxy_key,
            "baseline": self.is_baseline, "feasible": self.feasible,
        }


@dataclass
class SearchSpace:
    """Feasible candidates (baseline first), their collapse groups and proxy groups."""

    baseline: NetSpec
    candidates: list[Candidate]
    constraint: str
    tolerance: float
    grid_points: int  # size of the alpha x beta x gamma box
    proxy_groups: list[list[Candidate]] = field(default_factory=list)

    @property
    def n_groups(self) -> int:
        return len({c.group for c in self.candidates})

    def proxy_group_specs(self) -> list[Candidate]:
        """One representative per proxy group (the first member): what a trial trains."""
        return [members[0] for members in self.proxy_groups]


def _candidate_spec(base: NetSpec, a: float, b: float, g: float, policy: str) -> NetSpec:
    return scale(base, depth=a, width=b, resolution=g, policy=policy, coefficients=(a, b, g, 1.0))


def _empty_message(ranges: Ranges, tolerance: float, constraint: str, seen: Iterable[float]) -> str:
    lo, hi = band(tolerance)
    values = list(seen)
    span = f"; the grid's {'measured ratios' if constraint == 'measured' else 'products'} run " \
           f"{min(values):.3f}..{max(values):.3f}" if values else ""
    return (f"no grid point satisfies the {constraint} constraint {float(lo):g} <= "
            f"{'FLOPs ratio' if constraint == 'measured' else 'alpha*beta^2*gamma^2'} <= {float(hi):g}{span}: "
            f"widen --tolerance (now {tolerance:g}) or the --alpha/--beta/--gamma ranges "
            f"({' / '.join(ranges.text)})")


def build_space(
    base: NetSpec,
    ranges: Ranges,
    *,
    tolerance: float = DEFAULT_TOLERANCE,
    constraint: str = "formula",
    policy: str = "efficientnet",
    proxy: ProxyConfig | None = None,
    data: Dataset | None = None,
    dedup: bool = True,
    measure_fn: Callable[[NetSpec], Cost] = measure,
    progress: Callable[[int, int], None] | None = None,
) -> SearchSpace:
    """Enumerate, filter, build and measure the candidates; assign collapse and proxy groups.

    ``proxy`` and ``data`` define the trained network; without them each collapse group is its own proxy
    group. ``dedup=False`` gives every triple its own proxy group (for benchmarks of what dedup saves).
    Raises SearchError when nothing is feasible, naming what to widen.
    """
    if constraint not in CONSTRAINTS:
        raise UsageError(f"--constraint {constraint!r}: choose one of {', '.join(CONSTRAINTS)}")
    get_policy(policy)
    lo, hi = band(tolerance)
    base_cost = measure_fn(base)

    if constraint == "formula":
        points = formula_feasible(ranges, tolerance)
        if not points:
            raise SearchError(_empty_message(ranges, tolerance, constraint,
                                             [float(product(*p)) for p in ranges.points()]))
    else:
        points = _measured_feasible(base, ranges, tolerance, policy, base_cost, measure_fn, progress)

    # The reference always comes first, whether or not (1, 1, 1) satisfies the constraint.
    baseline_point = (1.0, 1.0, 1.0)
    ordered = [baseline_point] + [p for p in points if p != baseline_point]
    total = len(ordered)
    candidates: list[Candidate] = []
    group_of: dict[str, int] = {}
    proxy_of: dict[str, int] = {}
    for i, (a, b, g) in enumerate(ordered):
        spec = _candidate_spec(base, a, b, g, policy)
        cost = measure_fn(spec)
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
        candidates.append(Candidate(
            alpha=a, beta=b, gamma=g, product=prod, spec=spec, cost=cost,
            flops_ratio=cost.flops / base_cost.flops, group=group, proxy_key=pkey, proxy_group=pgroup,
            proxy_resolution=pres, is_baseline=(a, b, g) == baseline_point,
            feasible=(a, b, g) != baseline_point or baseline_point in points,
        ))
        if progress is not None:
            progress(i + 1, total)
    groups: list[list[Candidate]] = [[] for _ in range(len(proxy_of))]
    for c in candidates:
        groups[c.proxy_group].append(c)
    return SearchSpace(base, candidates, constraint, tolerance, ranges.size, groups)


def _measured_feasible(base: NetSpec, ranges: Ranges, tolerance: float, policy: str, base_cost: Cost,
                       measure_fn: Callable[[NetSpec], Cost],
                       progress: Callable[[int, int], None] | None) -> list[tuple[float, float, float]]:
    """Points whose fvcore FLOPs ratio lies in [lo, hi]. Each distinct network is counted once (the cost
    cache keys on the architecture), and a meta-device screen skips exact counts far outside the band."""
    lo, hi = band(tolerance)
    screen_base = measure(base, counter="meta")
    by_key: dict[str, float] = {}
    kept: list[tuple[float, float, float]] = []
    ratios: list[float] = []
    points = list(ranges.points())
    for i, p in enumerate(points):
        spec = _candidate_spec(base, *p, policy)
        key = spec.architecture_key()
        if key not in by_key:
            rough = measure(spec, counter="meta").flops / screen_base.flops
            if float(lo) * (1 - _SCREEN_MARGIN) <= rough <= float(hi) * (1 + _SCREEN_MARGIN):
                by_key[key] = measure_fn(spec).flops / base_cost.flops
            else:
                by_key[key] = rough  # far outside the band: the exact count cannot bring it in
        ratio = by_key[key]
        ratios.append(ratio)
        if lo <= Decimal(repr(ratio)) <= hi:
            kept.append(p)
        if progress is not None:
            progress(i + 1, len(points))
    if not kept:
        raise SearchError(_empty_message(ranges, tolerance, "measured", ratios))
    return kept
