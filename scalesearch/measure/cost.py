"""Cost of one network, without training: multiply-adds, parameters, activations.

Two counters, both reporting multiply-adds (one multiply-add = one "FLOP", the EfficientNet paper's,
torchvision's, timm's and fvcore's convention):
- ``fvcore`` (default): fvcore's FlopCountAnalysis on a real zero input, batch 1. Its total also counts
  batch and layer norm and pooling (2-4% over conv+linear) and skips SiLU, GELU, sigmoid and elementwise
  ops, which it lists as unsupported. ``flops`` is that total; ``conv_linear_flops`` the paper-style figure.
- ``meta``: torch's FlopCounterMode on the meta device: no memory, no compute, seconds even for B7.
  FlopCounterMode counts 2 per multiply-add and only matmul/conv ops, so it is halved and ``flops``
  equals ``conv_linear_flops``. Forward only: its backward count of grouped convs is wrong.

A network beyond the memory limits (scalesearch.core.limits: activation elements or parameters at batch 1) is
never given a real forward pass: asked for ``fvcore``, ``count`` counts it on the meta device instead and
applies fvcore's own rules to the shapes (batch norm: 2 per element, layer norm: 5, adaptive average
pooling: 1 per input element; max pooling and elementwise ops: not counted), so ``flops``,
``conv_linear_flops``, ``params``, ``activations`` and the parts equal what fvcore would report; only the list
of ops fvcore would call unsupported is empty. Such a Cost says ``device="meta"`` (a real fvcore count says ``"cpu"``).

A builder's network (``--baseline file.py:function``) is counted the same way, on the module the builder
returns; its parts are the module's top-level children, plus ``(other)`` for what its own ``forward`` does
outside them (a functional pool, say). On the meta device only modules are seen: a functional op in ``forward``
counts in fvcore's real pass but not in its rules applied on the meta device.
"""

from __future__ import annotations

import dataclasses
import time
import warnings
from collections import Counter
from dataclasses import dataclass, field
from typing import Any

import torch
from torch import nn

from scalesearch.core import limits
from scalesearch.core.builderspec import AnySpec
from scalesearch.core.errors import FieldError
from scalesearch.measure.latency import Latency
from scalesearch.nn import Net, build

COUNTERS = ("fvcore", "meta")
DEFAULT_COUNTER = "fvcore"
CONVENTION = "multiply-adds"


@dataclass(frozen=True)
class PartCost:
    """One top-level part of the network: stem, stages.N, head or classifier."""

    name: str
    flops: int
    params: int


@dataclass(frozen=True)
class Cost:
    """Cost of one network at ``resolution`` px, batch 1. Every *flops* field is in multiply-adds."""

    flops: int
    conv_linear_flops: int
    params: int
    activations: int
    counter: str
    resolution: int
    architecture: str
    unsupported: dict[str, int] = field(default_factory=dict)
    parts: tuple[PartCost, ...] = ()
    seconds: float = 0.0
    convention: str = CONVENTION
    # Where the forward pass ran: "cpu" (fvcore, real tensors) or "meta" (the meta counter, or an fvcore count
    # of a network beyond the memory limits: fvcore's rules applied on the meta device).
    device: str = "cpu"
    # Measured, not counted: only when asked for (measure(spec, latency=...)); machine-dependent.
    latency: Latency | None = None

    def to_dict(self) -> dict[str, Any]:
        out = dataclasses.asdict(self)
        out["parts"] = [dataclasses.asdict(p) for p in self.parts]
        return out

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> Cost:
        data = dict(data)
        data.setdefault("device", "meta" if data.get("counter") == "meta" else "cpu")  # cached before it existed
        data["parts"] = tuple(PartCost(**p) for p in data.get("parts", ()))
        if isinstance(data.get("latency"), dict):
            data["latency"] = Latency.from_dict(data["latency"])
        return cls(**data)


OTHER = "(other)"  # a builder's module: what its own forward() does outside its children (a functional pool)


def _part_names(model: nn.Module) -> list[str]:
    if not isinstance(model, Net):  # a builder's module: a breakdown by top-level child
        return [name for name, _ in model.named_children()]
    names = ["stem"] + [f"stages.{i}" for i in range(len(model.stages))]
    # pool is a part of its own so that the parts add up to fvcore's total (it counts pooling); so is the
    # LayerNorm on the pooled features of a ConvNeXt head.
    names += ["head"] if not isinstance(model.head, nn.Identity) else []
    return names + ["pool"] + (["norm"] if not isinstance(model.norm, nn.Identity) else []) + ["classifier"]


def _part_params(model: nn.Module) -> dict[str, int]:
    return {n: sum(p.numel() for p in model.get_submodule(n).parameters()) for n in _part_names(model)}


def _with_rest(parts: list[PartCost], flops: int, params: int) -> tuple[PartCost, ...]:
    """``parts``, plus an OTHER part holding what they leave of the totals (none for scalesearch's own networks,
    whose parts add up; a builder's forward may pool or add outside its children, or share a parameter)."""
    rest_flops, rest_params = flops - sum(p.flops for p in parts), params - sum(p.params for p in parts)
    return tuple(parts) + ((PartCost(OTHER, rest_flops, rest_params),) if rest_flops or rest_params else ())


def _activation_hooks(model: nn.Module, sink: list[int]) -> list[Any]:
    # fvcore's activation count: output elements of every conv and linear layer.
    def hook(_m: nn.Module, _i: Any, out: torch.Tensor) -> None:
        sink.append(out.numel())

    return [m.register_forward_hook(hook) for m in model.modules() if isinstance(m, (nn.Conv2d, nn.Linear))]


def count_fvcore(spec: AnySpec) -> Cost:
    """fvcore's count on a real forward pass. A network beyond the memory limits is refused (SpecError)
    before anything is allocated: ``count`` counts it on the meta device instead."""
    from fvcore.nn import ActivationCountAnalysis, FlopCountAnalysis

    limits.check_memory(spec, doing="count with real tensors")
    start = time.perf_counter()
    model = build(spec).eval()
    x = torch.zeros(1, 3, spec.resolution, spec.resolution)
    with warnings.catch_warnings(), torch.no_grad():
        warnings.simplefilter("ignore")  # jit tracer warnings; unsupported ops are reported below instead
        flops = FlopCountAnalysis(model, x)
        flops.unsupported_ops_warnings(False).uncalled_modules_warnings(False).tracer_warnings("none")
        by_op, by_module = flops.by_operator(), flops.by_module()
        total = flops.total()
        unsupported = dict(Counter(flops.unsupported_ops()))
        acts = ActivationCountAnalysis(model, x)
        acts.unsupported_ops_warnings(False).uncalled_modules_warnings(False).tracer_warnings("none")
        activations = acts.total()
    conv_linear = by_op.get("conv", 0) + by_op.get("linear", 0) + by_op.get("addmm", 0) + by_op.get("matmul", 0)
    params = _part_params(model)
    total_params = sum(p.numel() for p in model.parameters())
    parts = _with_rest([PartCost(n, int(by_module.get(n, 0)), params[n]) for n in _part_names(model)], int(total),
                       total_params)
    return Cost(
        flops=int(total), conv_linear_flops=int(conv_linear), params=total_params,
        activations=int(activations), counter="fvcore", resolution=spec.resolution,
        architecture=spec.architecture_key(), unsupported=unsupported, parts=parts,
        seconds=round(time.perf_counter() - start, 4),
    )


def _fvcore_rule_hooks(model: nn.Module, sink: Counter[str]) -> list[Any]:
    """Hooks adding, per part, what fvcore counts beyond conv and linear in an eval pass: batch norm at 2
    multiply-adds per element (1 without affine), layer norm at 5 (4 without affine), adaptive average
    pooling at 1 per input element."""
    def adder(part: str, per_element: int) -> Any:
        def hook(_m: nn.Module, inputs: Any, _out: Any) -> None:
            sink[part] += per_element * inputs[0].numel()

        return hook

    handles = []
    for name in _part_names(model):
        for m in model.get_submodule(name).modules():
            if isinstance(m, nn.BatchNorm2d):
                handles.append(m.register_forward_hook(adder(name, 2 if m.affine else 1)))
            elif isinstance(m, nn.LayerNorm):
                handles.append(m.register_forward_hook(adder(name, 5 if m.elementwise_affine else 4)))
            elif isinstance(m, nn.AdaptiveAvgPool2d):
                handles.append(m.register_forward_hook(adder(name, 1)))
    return handles


def count_meta(spec: AnySpec, fvcore_rules: bool = False) -> Cost:
    """The meta counter (conv and linear only). ``fvcore_rules``: also what fvcore counts (batch norm,
    adaptive pooling), giving fvcore's figures without a real pass; the Cost then says counter ``fvcore``."""
    from torch.utils.flop_counter import FlopCounterMode

    start = time.perf_counter()
    model = build(spec, device="meta").eval()
    x = torch.empty(1, 3, spec.resolution, spec.resolution, device="meta")
    sink: list[int] = []
    extra: Counter[str] = Counter()
    handles = _activation_hooks(model, sink) + (_fvcore_rule_hooks(model, extra) if fvcore_rules else [])
    try:
        with FlopCounterMode(display=False) as counter, torch.no_grad():
            model(x)
    finally:
        for h in handles:
            h.remove()
    counts = counter.get_flop_counts()
    root = type(model).__name__
    params = _part_params(model)
    conv_linear = counter.get_total_flops() // 2
    flops = int(conv_linear + sum(extra.values()))
    total_params = sum(p.numel() for p in model.parameters())
    parts = _with_rest([PartCost(n, sum(counts.get(f"{root}.{n}", {}).values()) // 2 + extra[n], params[n])
                        for n in _part_names(model)], flops, total_params)
    return Cost(
        flops=flops, conv_linear_flops=int(conv_linear),
        params=total_params, activations=int(sum(sink)),
        counter="fvcore" if fvcore_rules else "meta", resolution=spec.resolution,
        architecture=spec.architecture_key(), parts=parts, seconds=round(time.perf_counter() - start, 4),
        device="meta",
    )


def count(spec: AnySpec, counter: str = DEFAULT_COUNTER) -> Cost:
    """Count ``spec`` with no cache. ``counter`` is ``fvcore`` or ``meta`` (see the module docstring): fvcore
    counts on the meta device, by its own rules, a network beyond the memory limits (``Cost.device``)."""
    if counter == "fvcore":
        return count_fvcore(spec) if limits.over_memory(spec) is None else count_meta(spec, fvcore_rules=True)
    if counter == "meta":
        return count_meta(spec)
    raise FieldError("counter", counter, f"not a FLOP counter; choose one of {', '.join(COUNTERS)}")
