"""A network a user's builder makes: ``--baseline path/to/file.py:function`` or ``package.module:function``.

A builder is ``function(depth: float, width: float, num_classes: int) -> torch.nn.Module``: it builds the network
at those multipliers with its own rounding, as torchvision's ``mobilenet_v2(width_mult=...)`` or timm's
``_gen_efficientnet(channel_multiplier, depth_multiplier)`` do. ``BuilderSpec`` is the torch-free record of one
such network: which builder, the multipliers it was called with, the input size, and the facts of the built
module, counted on the meta device by ``scalesearch.nn.builder`` (the only place that imports user code, and only
when a command names the builder). It plays the part a ``NetSpec`` plays for the built-in blocks: scaled (by
``core.scaling.scale_builder``), built, measured, trained and stored in a study record.

Its ``architecture_key`` is the built module's structure (module types, their settings as ``extra_repr`` prints
them, parameter and buffer shapes, in module order) plus the input size: two builders that make the same network
share cached counts and proxy runs, and a builder that changed does not reuse what the old one made. What
``forward`` does with the modules beyond that is not in the key.
"""

from __future__ import annotations

import dataclasses
import hashlib
import json
import math
from dataclasses import dataclass
from typing import Any

from scalesearch.core import limits
from scalesearch.core.errors import SpecError
from scalesearch.core.spec import SPEC_FORMAT_VERSION, NetSpec, ScalingRecord, from_dict, preview, to_dict

BUILDER_KIND = "builder"  # the ``kind`` key that tells a builder's network from a NetSpec in a file or record
DEFAULT_NUM_CLASSES = 1000  # a builder that declares no ``num_classes`` attribute: a NetSpec's default


@dataclass(frozen=True)
class BuilderRef:
    """Where a builder lives: a Python file (``path.py:function``) or an importable module
    (``package.module:function``)."""

    target: str  # the file's path or the module's dotted name, as written
    function: str
    is_file: bool

    @property
    def text(self) -> str:
        return f"{self.target}:{self.function}"


def parse_reference(text: str) -> BuilderRef | None:
    """The builder ``text`` names, or None when it is no builder reference (a registered name, a spec file).
    A reference is ``TARGET:FUNCTION`` with FUNCTION an identifier and TARGET a ``.py`` file or a dotted module
    name; the last colon splits them, so a Windows drive letter stays in the path."""
    target, sep, function = text.rpartition(":")
    if not sep or not target or not function.isidentifier():
        return None
    if target.endswith(".py"):
        return BuilderRef(target, function, is_file=True)
    if all(part.isidentifier() for part in target.split(".")):
        return BuilderRef(target, function, is_file=False)
    return None


def _fail(name: str, value: Any, need: str) -> SpecError:
    return SpecError(f"builder.{name} = {preview(value)}: {need}")


def _int(name: str, value: Any, minimum: int) -> None:
    if isinstance(value, bool) or not isinstance(value, int) or value < minimum:
        raise _fail(name, value, f"must be an integer >= {minimum}")


def _positive(name: str, value: Any) -> None:
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not math.isfinite(value) or value <= 0:
        raise _fail(name, value, "must be a positive number")


@dataclass(frozen=True)
class ModuleFacts:
    """What scalesearch counted of one built module (on the meta device): its structure key, its parameters, and
    its conv and linear layers: how many, their output channels (features) summed, and the widest one."""

    structure: str
    params: int
    layers: int
    channels: int
    widest: int

    def __post_init__(self) -> None:
        if not isinstance(self.structure, str) or not self.structure:
            raise _fail("module.structure", self.structure, "must be a non-empty string")
        for name in ("params", "layers", "channels", "widest"):
            _int(f"module.{name}", getattr(self, name), 0)

    @property
    def mean_width(self) -> float:
        """Mean output channels of the conv and linear layers (0 without any)."""
        return self.channels / self.layers if self.layers else 0.0


@dataclass(frozen=True)
class BuilderSpec:
    """A builder's network: ``builder`` (``file.py:function`` with the file's absolute path, or
    ``module:function``) called as ``function(depth, width, num_classes)``, fed ``resolution`` px. ``module`` and
    ``activations`` (conv and linear output elements per image at ``resolution``) were counted on the meta
    device; the size limits (core.limits) apply to them as to a NetSpec's closed form."""

    name: str
    builder: str
    depth: float
    width: float
    resolution: int
    num_classes: int
    module: ModuleFacts
    activations: int
    scaling: ScalingRecord | None = None

    def __post_init__(self) -> None:
        if not isinstance(self.name, str) or not self.name:
            raise _fail("name", self.name, "must be a non-empty string")
        if not isinstance(self.builder, str) or parse_reference(self.builder) is None:
            raise _fail("builder", self.builder, "must be file.py:function or package.module:function")
        _positive("depth", self.depth)
        _positive("width", self.width)
        _int("resolution", self.resolution, 8)
        _int("num_classes", self.num_classes, 2)
        _int("activations", self.activations, 0)
        if not isinstance(self.module, ModuleFacts):
            raise _fail("module", self.module, "must be the ModuleFacts of the built module")
        limits.check(self)  # the structural limits, on the counted module

    # -- what every network offers (NetSpec has the same) ----------------------------------------------
    @property
    def total_layers(self) -> int:
        """Conv and linear layers of the built module (a NetSpec counts blocks)."""
        return self.module.layers

    def architecture_key(self) -> str:
        """The module's structure and the input size: neither the builder's name nor its multipliers."""
        blob = json.dumps({"kind": BUILDER_KIND, "structure": self.module.structure, "resolution": self.resolution},
                          sort_keys=True, separators=(",", ":"))
        return hashlib.sha256(blob.encode()).hexdigest()[:16]

    def measured_size(self) -> limits.SizeEstimate:
        """The size the limits compare (core.limits.estimate): counted, not estimated."""
        return limits.SizeEstimate(self.module.layers, self.resolution, max(self.module.widest, self.num_classes),
                                   self.activations, self.module.params,
                                   side=1)  # its forward pass was checked: it leaves a feature map

    @property
    def reference(self) -> BuilderRef:
        ref = parse_reference(self.builder)
        assert ref is not None  # checked on construction
        return ref

    def call(self) -> str:
        """The call that builds this network: ``cifar_resnet(1.2, 1.1, 10)``."""
        return f"{self.reference.function}({self.depth!r}, {self.width!r}, {self.num_classes})"


AnySpec = NetSpec | BuilderSpec
"""A network scalesearch can scale, build, measure and train: a spec of built-in blocks, or a builder's."""


def network_to_dict(spec: AnySpec) -> dict[str, Any]:
    """A JSON/YAML-ready dict of either kind (a NetSpec's is ``spec.to_dict``'s)."""
    if isinstance(spec, NetSpec):
        return to_dict(spec)
    out: dict[str, Any] = {"format": SPEC_FORMAT_VERSION, "kind": BUILDER_KIND, "name": spec.name,
                           "builder": spec.builder, "depth": spec.depth, "width": spec.width,
                           "resolution": spec.resolution, "num_classes": spec.num_classes,
                           "module": dataclasses.asdict(spec.module), "activations": spec.activations}
    if spec.scaling is not None:
        out["scaling"] = {k: v for k, v in dataclasses.asdict(spec.scaling).items() if v is not None}
    return out


def network_from_dict(data: Any) -> AnySpec:
    """Inverse of :func:`network_to_dict`: a builder's network when ``kind`` says so, else a NetSpec. SpecError
    names the field."""
    if not isinstance(data, dict) or data.get("kind") != BUILDER_KIND:
        return from_dict(data)
    data = dict(data)
    data.pop("kind")
    version = data.pop("format", SPEC_FORMAT_VERSION)
    if version != SPEC_FORMAT_VERSION:
        raise SpecError(f"builder.format = {preview(version)}: this scalesearch reads format {SPEC_FORMAT_VERSION}")
    module = _record(ModuleFacts, data.pop("module", None), "module")
    scaling = data.pop("scaling", None)
    if scaling is not None:
        scaling = _record(ScalingRecord, scaling, "scaling")
    known = {f.name for f in dataclasses.fields(BuilderSpec)}
    unknown = sorted(set(data) - known, key=str)
    if unknown:
        raise SpecError(f"builder: unknown field {preview(unknown[0])} (known: {', '.join(sorted(known))})")
    missing = [f.name for f in dataclasses.fields(BuilderSpec)
               if f.default is dataclasses.MISSING and f.name not in data and f.name != "module"]
    if missing:
        raise SpecError(f"builder: missing field {missing[0]!r}")
    return BuilderSpec(module=module, scaling=scaling, **data)


def _record(cls: type, data: Any, where: str) -> Any:
    if not isinstance(data, dict):
        raise SpecError(f"builder.{where}: expected a mapping, got {type(data).__name__}")
    known = {f.name for f in dataclasses.fields(cls)}
    unknown = sorted(set(data) - known, key=str)
    if unknown:
        raise SpecError(f"builder.{where}: unknown field {preview(unknown[0])}")
    try:
        return cls(**data)
    except TypeError as exc:  # a missing required field
        raise SpecError(f"builder.{where}: {exc}") from None
