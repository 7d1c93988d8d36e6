"""Options and helpers several commands share: choosing a baseline and the multipliers applied to it."""

from __future__ import annotations

from dataclasses import dataclass

import typer

from scalesearch.baselines import baseline as load_baseline
from scalesearch.errors import UsageError
from scalesearch.scaling import compound, scale
from scalesearch.spec import NetSpec

BaselineOpt = typer.Option("efficientnet-b0", "--baseline", "-b", help="A registered baseline name or a spec file.")
DepthOpt = typer.Option(None, "--depth", help="Depth multiplier d (layers per stage x d).")
WidthOpt = typer.Option(None, "--width", help="Width multiplier w (channels x w).")
ResolutionOpt = typer.Option(None, "--resolution", help="Resolution multiplier r (pixels x r).")
AlphaOpt = typer.Option(None, "--alpha", help="Depth coefficient alpha (d = alpha^phi).")
BetaOpt = typer.Option(None, "--beta", help="Width coefficient beta (w = beta^phi).")
GammaOpt = typer.Option(None, "--gamma", help="Resolution coefficient gamma (r = gamma^phi).")
PhiOpt = typer.Option(None, "--phi", help="Compound coefficient phi (default 1 with --alpha/--beta/--gamma).")
ImageSizeOpt = typer.Option(None, "--image-size", help="Input size in pixels, instead of a resolution multiplier.")
PolicyOpt = typer.Option("efficientnet", "--policy", help="Rounding policy: efficientnet (ceil depth) or nearest.")
JsonOpt = typer.Option(False, "--json", help="Print only JSON on stdout.")


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
        if missing:
            raise UsageError(f"{', '.join(missing)} missing: --alpha, --beta and --gamma go together")
        p = 1.0 if phi is None else phi
        d, w, r = compound(alpha, beta, gamma, p)  # type: ignore[arg-type]
        return Multipliers(d, w, r, (alpha, beta, gamma, p))  # type: ignore[arg-type]
    for flag, value in direct.items():
        if value is not None and value <= 0:
            raise UsageError(f"{flag} {value}: multipliers must be positive")
    return Multipliers(depth or 1.0, width or 1.0, resolution or 1.0)


def resolve_network(
    baseline: str, m: Multipliers, image_size: int | None = None, policy: str = "efficientnet"
) -> tuple[NetSpec, NetSpec]:
    """(baseline spec, the network to use). The baseline is returned unchanged when nothing is asked."""
    base = load_baseline(baseline)
    if m.identity and image_size is None:
        return base, base
    net = scale(base, m.depth, m.width, m.resolution, policy, image_size=image_size, coefficients=m.coefficients)
    return base, net
