"""Spec files: YAML or JSON, chosen by suffix. Errors name the file, the field and the line.

Files are untrusted input: a file over ``MAX_SPEC_BYTES`` is refused before it is parsed, and a YAML file
whose aliases expand to more than ``MAX_SPEC_NODES`` nodes (an "alias bomb") is refused before it is built.
"""

from __future__ import annotations

import re
from pathlib import Path

import yaml

from scalesearch.core.errors import SpecError
from scalesearch.core.jsonio import write_json, write_text_atomic
from scalesearch.core.spec import NetSpec, from_dict, to_dict

MAX_SPEC_BYTES = 1_000_000  # the largest baseline spec is a few KB
MAX_SPEC_NODES = 100_000  # YAML nodes after alias expansion; a B7 spec has a few hundred

_FIELD_PATH = re.compile(r"^(?:(?P<section>stem|head|scaling|stages)(?:\[(?P<index>\d+)\])?: )?"
                         r"(?:\w+\.(?P<field>\w+) =|(?:\w+: )?(?:missing|unknown) field '(?P<named>\w+)')")


def save_spec(spec: NetSpec, path: str | Path) -> Path:
    """Write ``spec`` as YAML (.yaml/.yml) or JSON (.json). Returns the path written."""
    path = Path(path)
    data = to_dict(spec)
    path.parent.mkdir(parents=True, exist_ok=True)
    if path.suffix.lower() == ".json":
        write_json(path, data)
    elif path.suffix.lower() in {".yaml", ".yml"}:
        write_text_atomic(path, yaml.safe_dump(data, sort_keys=False))
    else:
        raise SpecError(f"{path}: spec files end in .yaml, .yml or .json")
    return path


def load_spec(path: str | Path) -> NetSpec:
    """Read a spec file written by :func:`save_spec` or by hand."""
    path = Path(path).expanduser()
    text = _read_text(path)
    try:
        # YAML 1.1 reads JSON too, and keeps line marks for error messages in both formats.
        node, data = _parse(text)
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f"{path}: line {mark.line + 1}" if mark is not None else str(path)
        problem = getattr(exc, "problem", None) or str(exc).splitlines()[0]
        raise SpecError(f"{where}: not valid YAML/JSON ({_short(str(problem))})") from None
    except SpecError as exc:
        raise SpecError(f"{path}: {exc}") from None
    except RecursionError:
        raise SpecError(f"{path}: nested too deeply to be a spec") from None
    try:
        return from_dict(data)
    except SpecError as exc:
        line = _line_for(node, str(exc))
        where = f"{path}: line {line}" if line else str(path)
        raise SpecError(f"{where}: {exc}") from None


def _read_text(path: Path) -> str:
    """The file's text (UTF-8), or a one-line SpecError naming the file: missing, a folder or a special file,
    too large, unreadable, or not UTF-8."""
    try:
        if not path.exists():
            raise SpecError(f"{path}: spec file not found")
        if path.is_dir():
            raise SpecError(f"{path}: is a folder, not a spec file")
        if not path.is_file():
            raise SpecError(f"{path}: not a regular file (a spec file is a .yaml, .yml or .json file)")
        with path.open("rb") as f:
            raw = f.read(MAX_SPEC_BYTES + 1)
    except OSError as exc:
        raise SpecError(f"{path}: cannot read the spec file ({exc.strerror or type(exc).__name__})") from None
    if len(raw) > MAX_SPEC_BYTES:
        raise SpecError(f"{path}: larger than {MAX_SPEC_BYTES // 1_000_000} MB, too large to be a spec file")
    try:
        return raw.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise SpecError(f"{path}: not UTF-8 text (byte 0x{raw[exc.start]:02x} at offset {exc.start}): "
                        "spec files are YAML or JSON text") from None


class _SpecLoader(yaml.SafeLoader):
    """PyYAML's safe YAML 1.1, which also reads the floats JSON writes without a dot (``1e-06``, ConvNeXt's
    layer scale): YAML 1.1 would read them as strings, so a JSON spec file would not load back."""


_SpecLoader.add_implicit_resolver("tag:yaml.org,2002:float", re.compile(r"^[-+]?[0-9]+[eE][-+]?[0-9]+$"),
                                  list("-+0123456789"))


def _parse(text: str) -> tuple[yaml.Node | None, object]:
    """Compose ``text`` once, refuse it if its aliases expand past MAX_SPEC_NODES, then build the data."""
    loader = _SpecLoader(text)
    try:
        node = loader.get_single_node()
        if node is None:
            return None, None
        _check_expanded_size(node, MAX_SPEC_NODES)
        return node, loader.construct_document(node)
    finally:
        loader.dispose()


def _check_expanded_size(root: yaml.Node, limit: int) -> None:
    """SpecError if the document, with every alias expanded, has more than ``limit`` nodes (or refers to
    itself). Shared nodes are sized once, so this costs the composed size, not the expanded one."""
    sizes: dict[int, int] = {}
    open_: set[int] = set()

    def size(node: yaml.Node) -> int:
        key = id(node)
        if key in sizes:
            return sizes[key]
        if key in open_:
            raise SpecError("a YAML alias refers to a node that contains it")
        open_.add(key)
        if isinstance(node, yaml.SequenceNode):
            children = list(node.value)
        elif isinstance(node, yaml.MappingNode):
            children = [part for pair in node.value for part in pair]
        else:
            children = []
        total = 1
        for child in children:
            total += size(child)
            if total > limit:
                raise SpecError(f"YAML aliases expand to more than {limit} values, too many for a spec "
                                "(an alias bomb?)")
        open_.discard(key)
        sizes[key] = total
        return total

    size(root)


def _short(text: str, limit: int = 120) -> str:
    return text if len(text) <= limit else text[: limit - 3] + "..."


def _line_for(node: yaml.Node | None, message: str) -> int | None:
    """Best-effort line number (1-based) of the field a SpecError message names."""
    if not isinstance(node, yaml.MappingNode):
        return None
    match = _FIELD_PATH.match(message)
    if not match:
        return None
    target: yaml.Node = node
    section, index = match.group("section"), match.group("index")
    if section:
        target = _child(target, section) or target
        if index is not None and isinstance(target, yaml.SequenceNode) and int(index) < len(target.value):
            target = target.value[int(index)]
    field = match.group("field") or match.group("named")
    found = _child(target, field) if field else None
    return (found or target).start_mark.line + 1


def _child(node: yaml.Node, key: str) -> yaml.Node | None:
    if isinstance(node, yaml.MappingNode):
        pairs: list[tuple[yaml.Node, yaml.Node]] = node.value
        for k, v in pairs:
            if k.value == key:
                return v
    return None
