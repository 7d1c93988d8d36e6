"""Spec files: YAML or JSON, chosen by suffix. Errors name the file, the field and the line."""

from __future__ import annotations

import json
import re
from pathlib import Path

import yaml

from scalesearch.errors import SpecError
from scalesearch.spec import NetSpec, from_dict, to_dict

_FIELD_PATH = re.compile(r"^(?:(?P<section>stem|head|scaling|stages)(?:\[(?P<index>\d+)\])?: )?"
                         r"(?:\w+\.(?P<field>\w+) =|(?:\w+: )?(?:missing|unknown) field '(?P<named>\w+)')")


def save_spec(spec: NetSpec, path: str | Path) -> Path:
    """Write ``spec`` as YAML (.yaml/.yml) or JSON (.json). Returns the path written."""
    path = Path(path)
    data = to_dict(spec)
    path.parent.mkdir(parents=True, exist_ok=True)
    if path.suffix.lower() == ".json":
        path.write_text(json.dumps(data, indent=2) + "\n")
    elif path.suffix.lower() in {".yaml", ".yml"}:
        path.write_text(yaml.safe_dump(data, sort_keys=False))
    else:
        raise SpecError(f"{path}: spec files end in .yaml, .yml or .json")
    return path


def load_spec(path: str | Path) -> NetSpec:
    """Read a spec file written by :func:`save_spec` or by hand."""
    path = Path(path).expanduser()
    if not path.is_file():
        raise SpecError(f"{path}: spec file not found")
    text = path.read_text()
    try:
        # YAML 1.1 reads JSON too, and keeps line marks for error messages in both formats.
        node = yaml.compose(text, Loader=yaml.SafeLoader)
        data = yaml.safe_load(text)
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f"{path}: line {mark.line + 1}" if mark is not None else str(path)
        problem = getattr(exc, "problem", None) or str(exc).splitlines()[0]
        raise SpecError(f"{where}: not valid YAML/JSON ({problem})") from None
    try:
        return from_dict(data)
    except SpecError as exc:
        line = _line_for(node, str(exc))
        where = f"{path}: line {line}" if line else str(path)
        raise SpecError(f"{where}: {exc}") from None


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
        for k, v in node.value:
            if k.value == key:
                return v
    return None
