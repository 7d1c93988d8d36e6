"""Options several commands share, declared once as ``Annotated`` aliases, and the choices they offer.

An alias carries the flag, the help and the help panel; the default stays with the parameter (Typer takes
it from the signature) and comes from the library wherever the library has one::

    def train(epochs: options.Epochs = options.PROXY_DEFAULTS.epochs, ...) -> None: ...

Choices are enums built from the library's own tables (``scaling.POLICIES``, ``measure.COUNTERS``, the
proxy optimizers), so a policy added to the library is offered by every command, and a bad value is
refused by Typer with the list of choices before a command runs. Commands receive enum members: pass
``.value`` on to the library.
"""

from __future__ import annotations

from enum import StrEnum
from typing import Annotated

import typer

from scalesearch.core.baselines import DEFAULT_BASELINE
from scalesearch.core.scaling import DEFAULT_POLICY as DEFAULT_ROUNDING, POLICIES
from scalesearch.core.tasks import MNIST_FORMAT
from scalesearch.core.units import COST_UNITS
from scalesearch.measure import COUNTERS, DEFAULT_COUNTER as DEFAULT_COUNTING, DTYPES, MODES, LatencyConfig
from scalesearch.train import DEFAULT_DATA, ProxyConfig
from scalesearch.train.proxy import OPTIMIZERS
from scalesearch.train.runtime import DEVICE_FORMS

# Help panels, by topic. `grid` adds "Search space" and "Study and workers".
NETWORK = "Network"
PROXY = "Proxy training"
OUTPUT = "Output"
LATENCY = "Latency (measured: depends on the machine)"

PROXY_DEFAULTS = ProxyConfig()  # the proxy defaults shown in --help come from the library, never restated


def _either(names: list[str]) -> str:
    """['a', 'b', 'c'] -> 'a, b or c'."""
    return names[0] if len(names) == 1 else f"{', '.join(names[:-1])} or {names[-1]}"


# -- choices ----------------------------------------------------------------------------------------------

PolicyName = StrEnum("PolicyName", {name: name for name in POLICIES})  # type: ignore[misc]  # members computed from the library
"""Rounding policies: scalesearch.core.scaling.POLICIES."""
CounterName = StrEnum("CounterName", {name: name for name in COUNTERS})  # type: ignore[misc]  # members computed from the library
"""FLOP counters: scalesearch.measure.COUNTERS."""
OptimizerName = StrEnum("OptimizerName", {name: name for name in OPTIMIZERS})  # type: ignore[misc]  # members computed from the library
"""Proxy optimizers: scalesearch.train.proxy.OPTIMIZERS."""
DtypeName = StrEnum("DtypeName", {name: name for name in DTYPES})  # type: ignore[misc]  # members computed from the library
"""Latency dtypes: scalesearch.measure.DTYPES."""
ModeName = StrEnum("ModeName", {name: name for name in MODES})  # type: ignore[misc]  # members computed from the library
"""Latency modes: scalesearch.measure.MODES."""
CostName = StrEnum("CostName", {name: name for name in COST_UNITS})  # type: ignore[misc]  # members computed from the library
"""What a score charges: scalesearch.core.units.COST_UNITS."""
DEFAULT_COST = CostName("flops")
DEFAULT_POLICY = PolicyName(DEFAULT_ROUNDING)
DEFAULT_COUNTER = CounterName(DEFAULT_COUNTING)
DEFAULT_OPTIMIZER = OptimizerName(PROXY_DEFAULTS.optimizer)
LATENCY_DEFAULTS = LatencyConfig()
DEFAULT_DTYPE = DtypeName(LATENCY_DEFAULTS.dtype)
DEFAULT_MODE = ModeName(LATENCY_DEFAULTS.mode)


class SpecFormat(StrEnum):
    """Spec files are written as YAML or JSON (scalesearch.core.specio reads either)."""

    YAML = "yaml"
    JSON = "json"


POLICY_HELP = "Rounding of layers, channels and pixels: " + _either(
    [f"{name} ({p.depth} depth{'' if p.scale_stem else ', stem kept'})" for name, p in POLICIES.items()]) + "."
COUNTER_HELP = ("FLOP counter: fvcore (counts BN and pooling too) or meta (torch FlopCounterMode on the meta "
                "device: conv+linear only, no memory). Both count multiply-adds.")
BASELINE_HELP = ("A registered baseline name (see `scalesearch baselines`), a spec file, or your own builder: "
                 "path/to/file.py:function or package.module:function, called as function(depth, width, num_classes) "
                 "(naming a builder imports and runs its code; docs/builders.md).")

# -- network: which baseline, and the multipliers applied to it ------------------------------------------

Baseline = Annotated[str, typer.Option("--baseline", "-b", help=BASELINE_HELP, rich_help_panel=NETWORK)]
Depth = Annotated[float | None, typer.Option(
    "--depth", help="Depth multiplier d (layers per stage x d).", rich_help_panel=NETWORK)]
Width = Annotated[float | None, typer.Option(
    "--width", help="Width multiplier w (channels x w).", rich_help_panel=NETWORK)]
Resolution = Annotated[float | None, typer.Option(
    "--resolution", help="Resolution multiplier r (pixels x r).", rich_help_panel=NETWORK)]
Alpha = Annotated[float | None, typer.Option(
    "--alpha", help="Depth coefficient alpha (d = alpha^phi).", rich_help_panel=NETWORK)]
Beta = Annotated[float | None, typer.Option(
    "--beta", help="Width coefficient beta (w = beta^phi).", rich_help_panel=NETWORK)]
Gamma = Annotated[float | None, typer.Option(
    "--gamma", help="Resolution coefficient gamma (r = gamma^phi).", rich_help_panel=NETWORK)]
Phi = Annotated[float | None, typer.Option(
    "--phi", help="Compound coefficient phi (default 1 with --alpha/--beta/--gamma).", rich_help_panel=NETWORK)]
ImageSize = Annotated[int | None, typer.Option(
    "--image-size", help="Input size in pixels, instead of a resolution multiplier; for a builder baseline, its base "
    "input size (default: the builder's image_size attribute).", rich_help_panel=NETWORK)]
BuilderImageSize = Annotated[int | None, typer.Option(
    "--image-size", help="A builder baseline's input size in pixels, which resolution multipliers scale (default: "
    "the builder's image_size attribute).", rich_help_panel=NETWORK)]
Policy = Annotated[PolicyName, typer.Option("--policy", metavar="<name>", help=POLICY_HELP, rich_help_panel=NETWORK)]

# -- measurement and output ------------------------------------------------------------------------------

Counter = Annotated[CounterName, typer.Option("--counter", help=COUNTER_HELP)]
Json = Annotated[bool, typer.Option("--json", help="Print only JSON on stdout.", rich_help_panel=OUTPUT)]

# -- latency (flops --latency, scale --target-latency) ---------------------------------------------------

LATENCY_NOTE = ("Latency depends on the machine (CPU or GPU model, threads, load, torch version): compare it only "
                "with latency measured on the same machine.")
LatencyDevice = Annotated[str, typer.Option(
    "--latency-device", help="cpu, cuda, cuda:N or mps: where latency is timed.", rich_help_panel=LATENCY)]
LatencyBatch = Annotated[int, typer.Option(
    "--latency-batch", help="Images per timed pass.", rich_help_panel=LATENCY)]
LatencyDtype = Annotated[DtypeName, typer.Option(
    "--latency-dtype", help="fp32, or bf16/fp16 autocast (fp16 on accelerators only).", rich_help_panel=LATENCY)]
LatencyMode = Annotated[ModeName, typer.Option(
    "--latency-mode", help="eval: forward pass; train: forward + backward.", rich_help_panel=LATENCY)]
LatencyThreads = Annotated[int | None, typer.Option(
    "--latency-threads", help="CPU threads while timing (default: torch's, i.e. the cores). On a shared machine "
    "1 thread is far steadier.", rich_help_panel=LATENCY)]


def latency_config(device: str, batch: int, dtype: DtypeName, mode: ModeName, threads: int | None) -> LatencyConfig:
    """The library's LatencyConfig from the --latency-* flags (a bad value is a FieldError naming its flag)."""
    return LatencyConfig(device=device, batch=batch, dtype=dtype.value, mode=mode.value, threads=threads)


# -- proxy training (train and grid) ---------------------------------------------------------------------

DATA_HELP = ("digits-300, digits-300-jitter or digits (embedded), synthetic, fashion-mnist (Debian's "
             "dataset-fashion-mnist), mnist:DIR (MNIST-format IDX files), cifar10:DIR, cifar100:DIR or imagefolder:DIR")
Data = Annotated[str, typer.Option("--data", help=DATA_HELP + ".", rich_help_panel=PROXY)]
Epochs = Annotated[int, typer.Option("--epochs", help="Proxy training epochs.", rich_help_panel=PROXY)]
BatchSize = Annotated[int, typer.Option("--batch-size", help="Proxy training batch size.", rich_help_panel=PROXY)]
BaseResolution = Annotated[int | None, typer.Option(
    "--base-resolution", help="Proxy base resolution in px; a candidate trains at base x its resolution "
    "multiplier (default: the data's: 32 for digits, CIFAR and synthetic, 64 for imagefolder).",
    rich_help_panel=PROXY)]
CurvePoints = Annotated[int | None, typer.Option(
    "--curve-points", min=0, help="Validations per proxy run: after this many evenly spaced epochs, the last always "
    "(0: every epoch). The result (the last epoch's accuracy) is the same; only the learning curve is thinner, "
    "and each validation costs about a fifth of an epoch or more (default: "
    f"{PROXY_DEFAULTS.curve_points}; fashion-mnist and mnist: {MNIST_FORMAT.curve_points}).", rich_help_panel=PROXY)]
ProxyWidth = Annotated[float, typer.Option(
    "--proxy-width", help="Width multiplier applied on top of the candidate's width for the proxy run.",
    rich_help_panel=PROXY)]
TrainSubset = Annotated[int | None, typer.Option(
    "--train-subset", help="Train on this many training images, drawn by each seed and the same for every network "
    f"(default: all; fashion-mnist and mnist: {MNIST_FORMAT.train_subset} in a search).", rich_help_panel=PROXY)]
ValSubset = Annotated[int | None, typer.Option(
    "--val-subset", help="Validate on this many validation images, one fixed class-stratified choice for every "
    f"network and seed (default: all; fashion-mnist and mnist: {MNIST_FORMAT.val_subset} in a search).",
    rich_help_panel=PROXY)]
Optimizer = Annotated[OptimizerName, typer.Option(
    "--optimizer", help="sgd (Nesterov momentum) or adamw.", rich_help_panel=PROXY)]
LearningRate = Annotated[float | None, typer.Option(
    "--lr", help="Peak learning rate (default: " + ", ".join(f"{lr:g} {name}" for name, (lr, _) in OPTIMIZERS.items())
    + ").", rich_help_panel=PROXY)]
WeightDecay = Annotated[float | None, typer.Option(
    "--weight-decay", help="Weight decay, not on BN or biases (default: "
    + ", ".join(f"{wd:g} {name}" for name, (_, wd) in OPTIMIZERS.items()) + ").", rich_help_panel=PROXY)]
Device = Annotated[str, typer.Option(
    "--device", help=f"{DEVICE_FORMS}; auto takes CUDA, then MPS, then the CPU.", rich_help_panel=PROXY)]

__all__ = [
    "BASELINE_HELP", "COUNTER_HELP", "DEFAULT_BASELINE", "DEFAULT_COUNTER", "DEFAULT_DATA", "DEFAULT_DTYPE",
    "DEFAULT_MODE", "DEFAULT_OPTIMIZER", "DEFAULT_POLICY", "LATENCY", "LATENCY_DEFAULTS", "LATENCY_NOTE",
    "NETWORK", "OUTPUT", "POLICY_HELP", "PROXY", "PROXY_DEFAULTS",
    "DEFAULT_COST", "CostName", "CounterName", "DtypeName", "ModeName", "OptimizerName", "PolicyName", "SpecFormat",
    "LatencyBatch", "LatencyDevice", "LatencyDtype", "LatencyMode", "LatencyThreads", "latency_config",
    "Alpha", "BaseResolution", "Baseline", "BatchSize", "Beta", "BuilderImageSize", "Counter", "Data", "Depth",
    "CurvePoints", "Device", "Epochs", "Gamma", "ImageSize", "Json", "LearningRate", "Optimizer", "Phi", "Policy",
    "ProxyWidth", "Resolution", "TrainSubset", "ValSubset", "WeightDecay", "Width", "DATA_HELP",
]
