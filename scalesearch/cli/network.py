"""The network a command works on: a baseline, and the multipliers (explicit, or alpha/beta/gamma/phi)
applied to it. Shared by `flops` and `train`; the options that feed these helpers are in cli/options.py."""

from __future__ import annotations

from dataclasses import dataclass

from scalesearch.core.builderspec import AnySpec, parse_reference
from scalesearch.core.errors import UsageError
from scalesearch.core.scaling import compound
from scalesearch.nn import resolve_baseline, scale_network


@dataclass(frozen=True)
class Multipliers:
    depth: float = 1.0
    width: float = 1.0
    resolution: float = 1.0
    coefficients: tuple[float, float, float, float] | None = None

    @property
    def identity(self) -> bool:
        return self.coefficients is None and (self.depth, self.width, self.resolution) == (1.0, 1.0, 1.0)


def multipliers(
    depth: float | None, width: float | None, resolution: float | None,
    alpha: float | None, beta: float | None, gamma: float | None, phi: float | None,
) -> Multipliers:
    """Either explicit multipliers or (alpha, beta, gamma[, phi]); never both."""
    direct = {"--depth": depth, "--width": width, "--resolution": resolution}
    coeffs = {"--alpha": alpha, "--beta": beta, "--gamma": gamma}
    if any(v is not None for v in coeffs.values()) or phi is not None:
        given = [k for k, v in direct.items() if v is not None]
        if given:
            raise UsageError(f"{given[0]} cannot be combined with --alpha/--beta/--gamma/--phi: use one or the other")
        missing = [k for k, v in coeffs.items() if v is None]
        if missing or alpha is None or beta is None or gamma is None:  # (one test for us, one for mypy)
            raise UsageError(f"{', '.join(missing)} missing: --alpha, --beta and --gamma go together")
        p = 1.0 if phi is None else phi
        d, w, r = compound(alpha, beta, gamma, p)
        return Multipliers(d, w, r, (alpha, beta, gamma, p))
    for flag, value in direct.items():
        if value is not None and value <= 0:
            raise UsageError(f"{flag} {value}: multipliers must be positive")
    return Multipliers(depth or 1.0, width or 1.0, resolution or 1.0)


def resolve_network(
    baseline: str, m: Multipliers, image_size: int | None = None, policy: str = "efficientnet"
) -> tuple[AnySpec, AnySpec]:
    """(baseline spec, the network to use). The baseline is returned unchanged when nothing is asked.
    ``image_size`` sets the pixels of the network to use; for a builder (which has no resolution of its own
    but the one it declares) it is the base the resolution multiplier applies to. Naming a builder imports it."""
    if parse_reference(baseline) is not None:
        base = resolve_baseline(baseline, image_size)
        if m.identity:
            return base, base
        return base, scale_network(base, m.depth, m.width, m.resolution, policy, coefficients=m.coefficients)
    base = resolve_baseline(baseline)
    if m.identity and image_size is None:
        return base, base
    net = scale_network(base, m.depth, m.width, m.resolution, policy, image_size=image_size,
                        coefficients=m.coefficients)
    return base, net
