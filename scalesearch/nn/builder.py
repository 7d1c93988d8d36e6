"""A user's builder as a baseline: ``function(depth, width, num_classes) -> torch.nn.Module``.

This is the only module that imports user code, and it does so only for a builder a command names
(``--baseline path/to/file.py:function`` or ``package.module:function``, or a study made with one, whose record
keeps the reference). A builder is called on the meta device first: its module is counted (parameters, conv and
linear layers, the structure key of core.builderspec) and a (2, 3, px, px) input is passed through it there,
so the size limits (core.limits) are checked before anything real is allocated. Where the builder or its
forward pass cannot run on the meta device (a ``.tolist()`` while building, a tensor made on the CPU inside
``forward``), scalesearch falls back to a real build, once the parameters counted so far are within the limits.

Every problem is a one-line ``BuilderError`` naming the builder: a file that does not exist, a missing function,
a signature that cannot take ``(depth, width, num_classes)``, a builder that raises, returns something that is
not a Module, or whose output is not ``(batch, num_classes)``. The user's exception is the error's cause
(``SCALESEARCH_DEBUG=1`` prints its traceback).
"""

from __future__ import annotations

import dataclasses
import difflib
import hashlib
import importlib
import importlib.util
import inspect
import json
import os
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

import torch
from torch import nn

from scalesearch.core import limits
from scalesearch.core.baselines import baseline as registered_baseline
from scalesearch.core.builderspec import (
    DEFAULT_NUM_CLASSES,
    AnySpec,
    BuilderRef,
    BuilderSpec,
    ModuleFacts,
    parse_reference,
)
from scalesearch.core.errors import BuilderError, FieldError, SizeError
from scalesearch.core.scaling import DEFAULT_POLICY, RoundingPolicy, scale, scale_builder

CHECK_BATCH = 2  # the test input's batch: (2, 3, px, px) must give (2, num_classes)
# Before calling a builder at depth d and width w, its size at (1, 1) times d (layers) or w (the widest layer)
# is held to this many times the limit: a typo such as --depth 1e300 never reaches the user's code, and the
# exact count on the meta device decides everything nearer the limit.
ESTIMATE_SLACK = 2
_WEIGHT_LAYERS = (nn.Conv1d, nn.Conv2d, nn.Conv3d, nn.Linear)


def _why(exc: BaseException) -> str:
    """``ValueError: the first line of its message`` (shortened), for a one-line error."""
    text = str(exc).strip().splitlines()[0] if str(exc).strip() else ""
    text = text if len(text) <= 160 else text[:157] + "..."
    return f"{type(exc).__name__}: {text}" if text else type(exc).__name__


def _at(depth: float, width: float, classes: int) -> str:
    return f"depth {depth:g}, width {width:g}, {classes} classes"


class Builder:
    """One loaded builder: the user's function, what it declares, and what was counted of its networks
    (per process: every count is memoized by its arguments)."""

    def __init__(self, shown: str, reference: str, function: Callable[..., Any]) -> None:
        self.shown = shown  # as the user wrote it: every message names the builder so
        self.reference = reference  # the file's absolute path, or the module: what a BuilderSpec records
        self.function = function
        self.name = getattr(function, "__name__", None) or reference.rpartition(":")[2]
        self.image_size = self._declared("image_size", 8)
        self.num_classes = self._declared("num_classes", 2) or DEFAULT_NUM_CLASSES
        self._facts: dict[tuple[float, float, int], ModuleFacts] = {}
        self._activations: dict[tuple[float, float, int, int], int] = {}

    def _declared(self, attribute: str, minimum: int) -> int | None:
        value = getattr(self.function, attribute, None)
        if value is None:
            return None
        if isinstance(value, bool) or not isinstance(value, int) or value < minimum:
            raise BuilderError(f"builder {self.shown}: its {attribute} attribute is {value!r}, not an integer >= "
                               f"{minimum}")
        return value

    # -- calling the user's function -------------------------------------------------------------------------
    def call(self, depth: float, width: float, classes: int, device: str | torch.device = "cpu") -> nn.Module:
        """The module the builder returns, built on ``device``; a BuilderError if it raises or returns no Module."""
        try:
            with torch.device(device):
                module = self.function(depth, width, classes)
        except Exception as exc:
            raise BuilderError(f"builder {self.shown} raised {_why(exc)} (called at {_at(depth, width, classes)})"
                               ) from exc
        if not isinstance(module, nn.Module):
            raise BuilderError(f"builder {self.shown} returned {type(module).__name__}, not a torch.nn.Module (called "
                               f"at {_at(depth, width, classes)})")
        return module

    def _precheck(self, depth: float, width: float) -> None:
        """Refuse, before the user's code runs, multipliers that would build far beyond the structural limits."""
        if depth <= 1 and width <= 1:
            return
        base = self.facts(1.0, 1.0, self.num_classes)
        for name, size, grow, what in (("layers", base.layers, depth, "conv and linear layers"),
                                       ("channels", base.widest, width, "channels in its widest layer")):
            estimate = size * max(grow, 1.0)
            cap = limits.limit(name)
            if estimate > ESTIMATE_SLACK * cap:
                raise SizeError(f"builder {self.shown} at depth {depth:g}, width {width:g} would build about "
                                f"{estimate:.3g} {what} ({size:,} at depth and width 1), over {ESTIMATE_SLACK}x the "
                                f"limit of {cap:,}; lower the multipliers, or set {limits.LIMITS[name][0]} to raise "
                                "the limit")

    def _module(self, depth: float, width: float, classes: int) -> nn.Module:
        """The network, on the meta device when the builder can build it there, else for real (once its size at
        (1, 1) allows)."""
        self._precheck(depth, width)
        try:
            return self.call(depth, width, classes, "meta")
        except BuilderError as meta_error:
            if meta_error.__cause__ is None:  # it built, but no Module: the same for real
                raise
        self._check_real_build(depth, width)
        return self.call(depth, width, classes)  # the builder's own error, if it fails for real too

    def _check_real_build(self, depth: float, width: float) -> None:
        """Refuse a real build whose parameters, estimated from the builder's network at (1, 1) (x depth x width^2),
        are beyond the memory limit. At (1, 1) or below it is the user's own network: built as asked."""
        if depth <= 1 and width <= 1:
            return
        base = self.facts(1.0, 1.0, self.num_classes)
        estimate = base.params * max(depth, 1.0) * max(width, 1.0) ** 2
        cap = limits.limit("params")
        if estimate > cap:
            raise SizeError(f"builder {self.shown} cannot be built on the meta device, and for real at depth "
                            f"{depth:g}, width {width:g} it would hold about {estimate:.3g} parameters "
                            f"({base.params:,} at depth and width 1), over the limit of {cap:,} "
                            f"({limits.LIMITS['params'][0]})")

    # -- counting ---------------------------------------------------------------------------------------------
    def facts(self, depth: float, width: float, classes: int) -> ModuleFacts:
        """The facts of the module at these arguments (memoized)."""
        key = (depth, width, classes)
        if key not in self._facts:
            self._facts[key] = module_facts(self._module(depth, width, classes))
        return self._facts[key]

    def count(self, depth: float, width: float, classes: int, px: int) -> tuple[ModuleFacts, int]:
        """(facts, conv and linear output elements per image at ``px``) once a (2, 3, px, px) input gives
        (2, classes): core.scaling.BuilderCounter."""
        key = (depth, width, classes, px)
        if key not in self._activations:
            module = self._module(depth, width, classes)
            if key[:3] not in self._facts:
                self._facts[key[:3]] = module_facts(module)
            self._activations[key] = self._checked_forward(module, depth, width, classes, px)
        return self._facts[key[:3]], self._activations[key]

    def _checked_forward(self, module: nn.Module, depth: float, width: float, classes: int, px: int) -> int:
        device = _device_of(module)
        try:
            out, elements = _forward(module, px, device)
        except Exception as exc:
            if device.type != "meta":
                raise BuilderError(f"builder {self.shown}: its forward pass of a ({CHECK_BATCH}, 3, {px}, {px}) input "
                                   f"raised {_why(exc)} (at {_at(depth, width, classes)})") from exc
            facts = self.facts(depth, width, classes)
            limits.check_memory(_Sized(self.name, facts, px), doing="run a forward pass")
            return self._checked_forward(self.call(depth, width, classes), depth, width, classes, px)
        if not isinstance(out, torch.Tensor) or tuple(out.shape) != (CHECK_BATCH, classes):
            got = f"shape {tuple(out.shape)}" if isinstance(out, torch.Tensor) else f"a {type(out).__name__}"
            raise BuilderError(f"builder {self.shown}: its output for a ({CHECK_BATCH}, 3, {px}, {px}) input is {got}, "
                               f"not (batch, num_classes) = ({CHECK_BATCH}, {classes}) "
                               f"(at {_at(depth, width, classes)})")
        return elements // CHECK_BATCH


@dataclasses.dataclass(frozen=True)
class _Sized:
    """What core.limits reads of a network that has no spec yet."""

    name: str
    facts: ModuleFacts
    resolution: int

    def measured_size(self) -> limits.SizeEstimate:
        return limits.SizeEstimate(self.facts.layers, self.resolution, self.facts.widest, 0, self.facts.params,
                                   side=1)  # not known before its forward pass, which is checked next


def _device_of(module: nn.Module) -> torch.device:
    for tensor in (*module.parameters(), *module.buffers()):
        return tensor.device
    return torch.device("cpu")


def _forward(module: nn.Module, px: int, device: torch.device) -> tuple[Any, int]:
    """(output of the eval-mode module for a (CHECK_BATCH, 3, px, px) input, conv and linear output elements)."""
    sink: list[int] = []

    def hook(_m: nn.Module, _i: Any, out: Any) -> None:
        if isinstance(out, torch.Tensor):
            sink.append(out.numel())

    handles = [m.register_forward_hook(hook) for m in module.modules() if isinstance(m, _WEIGHT_LAYERS)]
    x = torch.zeros(CHECK_BATCH, 3, px, px, device=device)
    try:
        with torch.no_grad():
            out = module.eval()(x)
    finally:
        for h in handles:
            h.remove()
    return out, sum(sink)


def module_facts(module: nn.Module) -> ModuleFacts:
    """The facts of a built module: its structure key (each module in order: its nesting level, type name, settings
    as ``extra_repr`` prints them, parameter and buffer shapes; no names, no file), parameters, and its conv and
    linear layers."""
    rows = []
    layers = channels = widest = 0
    for name, m in module.named_modules():
        rows.append([name.count(".") + 1 if name else 0, type(m).__name__, m.extra_repr(),
                     [list(p.shape) for p in m.parameters(recurse=False)],
                     [list(b.shape) for b in m.buffers(recurse=False)]])
        if isinstance(m, _WEIGHT_LAYERS):
            out = m.out_features if isinstance(m, nn.Linear) else m.out_channels
            layers, channels, widest = layers + 1, channels + out, max(widest, out)
    blob = json.dumps(rows, separators=(",", ":"))
    return ModuleFacts(structure=hashlib.sha256(blob.encode()).hexdigest()[:16],
                       params=sum(p.numel() for p in module.parameters()), layers=layers, channels=channels,
                       widest=widest)


# -- loading ---------------------------------------------------------------------------------------------------

_LOADED: dict[str, Builder] = {}


def load_builder(text: str) -> Builder:
    """The builder ``text`` names, imported once per process. A BuilderError for every way it can fail."""
    ref = parse_reference(text)
    if ref is None:
        raise BuilderError(f"{text!r} is not a builder: write path/to/file.py:function or package.module:function")
    if ref.is_file:
        path = Path(ref.target).expanduser()
        if not path.exists():
            raise BuilderError(f"builder {text}: file {path} not found")
        if not path.is_file():
            raise BuilderError(f"builder {text}: {path} is not a file")
        reference = f"{path.resolve()}:{ref.function}"
    else:
        reference = ref.text
    if reference not in _LOADED:
        module = _import_file(text, Path(reference.rpartition(":")[0])) if ref.is_file else _import_module(text, ref)
        _LOADED[reference] = Builder(text, reference, _function(text, ref, module))
    return _LOADED[reference]


def _import_file(text: str, path: Path) -> Any:
    """The module of ``path``, run once under a private name (the file's folder on sys.path meanwhile, so it can
    import its neighbours)."""
    name = "_scalesearch_builder_" + hashlib.sha256(str(path).encode()).hexdigest()[:12]
    if name in sys.modules:
        return sys.modules[name]
    spec = importlib.util.spec_from_file_location(name, path)
    if spec is None or spec.loader is None:
        raise BuilderError(f"builder {text}: {path} cannot be imported as Python")
    module = importlib.util.module_from_spec(spec)
    sys.modules[name] = module  # dataclasses and pickling look classes up here
    sys.path.insert(0, str(path.parent))
    try:
        spec.loader.exec_module(module)
    except (Exception, SystemExit) as exc:
        del sys.modules[name]
        raise BuilderError(f"builder {text}: importing {path.name} raised {_why(exc)}") from exc
    finally:
        sys.path.remove(str(path.parent))
    return module


def _import_module(text: str, ref: BuilderRef) -> Any:
    """The module ``ref`` names, imported with the working folder on sys.path (as ``python -m`` has it)."""
    here = os.getcwd()
    sys.path.insert(0, here)
    try:
        return importlib.import_module(ref.target)
    except ModuleNotFoundError as exc:
        missing = exc.name or ref.target
        if ref.target == missing or ref.target.startswith(missing + "."):
            raise BuilderError(f"builder {text}: no module named {missing!r} here (run from the folder that holds it, "
                               "install it, or name the file: path/to/file.py:function)") from exc
        raise BuilderError(f"builder {text}: importing {ref.target} raised {_why(exc)}") from exc
    except (Exception, SystemExit) as exc:
        raise BuilderError(f"builder {text}: importing {ref.target} raised {_why(exc)}") from exc
    finally:
        sys.path.remove(here)


def _function(text: str, ref: BuilderRef, module: Any) -> Callable[..., Any]:
    """The builder function of ``module``, once it can be called as f(depth, width, num_classes)."""
    where = Path(ref.target).name if ref.is_file else ref.target
    function = getattr(module, ref.function, None)
    if function is None:
        defined = [n for n, v in vars(module).items() if callable(v) and not n.startswith("_")
                   and getattr(v, "__module__", None) == module.__name__]
        close = difflib.get_close_matches(ref.function, defined, n=3, cutoff=0.5)
        hint = f"; did you mean {', '.join(close)}?" if close else (
            f" (it defines {', '.join(defined[:6])})" if defined else "")
        raise BuilderError(f"builder {text}: {where} has no function {ref.function!r}{hint}")
    if not callable(function):
        raise BuilderError(f"builder {text}: {where}.{ref.function} is a {type(function).__name__}, not a function")
    try:
        signature: inspect.Signature | None = inspect.signature(function)
    except (TypeError, ValueError):  # a builtin without a signature: its call shows
        signature = None
    if signature is not None:
        try:
            signature.bind(1.0, 1.0, DEFAULT_NUM_CLASSES)
        except TypeError:
            raise BuilderError(f"builder {text}: {ref.function}{signature} cannot be called as {ref.function}(depth, "
                               "width, num_classes)") from None
    return function


# -- the network-level API: resolve, scale, build ---------------------------------------------------------------

def resolve_baseline(name_or_ref: str | Path, image_size: int | None = None) -> AnySpec:
    """A registered baseline, a spec file, or a builder's network at depth and width 1 (``file.py:function`` or
    ``package.module:function``; importing it runs the user's code). ``image_size`` is a builder's input size in px
    (default: its ``image_size`` attribute); a spec has its own."""
    text = str(name_or_ref)
    if parse_reference(text) is None:
        if image_size is not None:
            raise FieldError("image_size", image_size, "sets the input size of a builder's network (file.py:function); "
                             f"the baseline {text!r} has its own resolution")
        return registered_baseline(text)
    return builder_baseline(text, image_size)


def builder_baseline(text: str, image_size: int | None = None) -> BuilderSpec:
    """The builder's network at depth 1 and width 1, for its declared classes (``num_classes`` attribute, default
    1000), fed ``image_size`` px (default: its ``image_size`` attribute)."""
    builder = load_builder(text)
    px = image_size if image_size is not None else builder.image_size
    if px is None:
        raise FieldError("image_size", None, f"builder {text} declares no image_size: give its input size in pixels "
                         f"(or set {builder.name}.image_size = PX in its file)")
    if isinstance(px, bool) or not isinstance(px, int) or px < 8:
        raise FieldError("image_size", px, "must be an integer number of pixels >= 8")
    facts, activations = builder.count(1.0, 1.0, builder.num_classes, px)
    return BuilderSpec(name=builder.name, builder=builder.reference, depth=1.0, width=1.0, resolution=px,
                       num_classes=builder.num_classes, module=facts, activations=activations)


def loaded(spec: BuilderSpec) -> Builder:
    """The builder of ``spec``, once it still builds the network ``spec`` recorded (a study or best.json may
    outlive an edit of the file)."""
    builder = load_builder(spec.builder)
    now = builder.facts(spec.depth, spec.width, spec.num_classes)
    if now.structure != spec.module.structure:
        raise BuilderError(f"builder {spec.builder} now builds a different network at "
                           f"{_at(spec.depth, spec.width, spec.num_classes)} than the {spec.name} that was recorded "
                           f"({now.params:,} params, was {spec.module.params:,}): the file changed since; rerun from "
                           "the builder")
    return builder


def scale_network(
    spec: AnySpec,
    depth: float = 1.0,
    width: float = 1.0,
    resolution: float = 1.0,
    policy: str | RoundingPolicy = DEFAULT_POLICY,
    *,
    image_size: int | None = None,
    coefficients: tuple[float, float, float, float] | None = None,
    name: str | None = None,
    max_resolution: int | None = None,
    num_classes: int | None = None,
) -> AnySpec:
    """core.scaling.scale for either kind of network: a builder's is built (on the meta device) at the new
    multipliers. ``num_classes`` sets the class count of the result (a proxy on a dataset)."""
    if isinstance(spec, BuilderSpec):
        return scale_builder(spec, depth, width, resolution, policy, count=loaded(spec).count, image_size=image_size,
                             coefficients=coefficients, name=name, max_resolution=max_resolution,
                             num_classes=num_classes)
    out = scale(spec, depth, width, resolution, policy, image_size=image_size, coefficients=coefficients, name=name,
                max_resolution=max_resolution)
    return out if num_classes is None else dataclasses.replace(out, num_classes=num_classes)


def build_module(spec: BuilderSpec, device: str | torch.device = "cpu") -> nn.Module:
    """The builder's module for ``spec`` on ``device``; a BuilderError if it is not the network ``spec`` records."""
    module = loaded(spec).call(spec.depth, spec.width, spec.num_classes, device)
    if module_facts(module).structure != spec.module.structure:
        raise BuilderError(f"builder {spec.builder} built a different network at "
                           f"{_at(spec.depth, spec.width, spec.num_classes)} on {device} than on the meta device: "
                           "a builder must build the same modules every time it is called")
    return module
