"""The package imports one way: core -> nn -> measure, train -> family -> search, report -> audit, compare -> cli.

The test reads every module's imports from its source (function-level imports too, since a lazy import
still ties two modules together) and fails on an arrow that runs back up a layer, on an import between
two packages of one layer, on anything but the CLI importing the CLI, and on any import cycle.
"""

from __future__ import annotations

import ast
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
PACKAGE = ROOT / "scalesearch"

# Layer of each top-level folder of the package; folders on one layer may not import each other.
LAYERS = {"core": 0, "nn": 1, "measure": 2, "train": 2, "family": 3, "search": 4, "report": 4,
          "audit": 5, "compare": 5, "cli": 6}
HEAVY = ("torch", "fvcore")


def module_name(path: Path) -> str:
    parts = path.relative_to(ROOT).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def modules() -> dict[str, Path]:
    return {module_name(p): p for p in sorted(PACKAGE.rglob("*.py"))}


def imports(path: Path, known: dict[str, Path], name: str | None = None) -> set[str]:
    """Every scalesearch module ``path`` imports, resolved to the module (a package's __init__ if need be),
    plus third-party top-level names prefixed with '!'."""
    name = name or module_name(path)
    package = name if path.name == "__init__.py" else name.rpartition(".")[0]
    out: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.Import):
            for alias in node.names:
                out.add(alias.name if alias.name.startswith("scalesearch") else "!" + alias.name.split(".")[0])
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                anchor = package.split(".")[: len(package.split(".")) - node.level + 1]
                base = ".".join(anchor + ([base] if base else []))
            if not base.startswith("scalesearch"):
                out.add("!" + base.split(".")[0])
                continue
            for alias in node.names:
                sub = f"{base}.{alias.name}"
                out.add(sub if sub in known else base)
    return out


def part(module: str) -> str:
    return module.split(".")[1] if "." in module else "<face>"


def layer(module: str) -> int:
    return 7 if part(module) == "<face>" else LAYERS[part(module)]


def graph() -> dict[str, set[str]]:
    known = modules()
    return {m: imports(p, known) for m, p in known.items()}


def test_every_part_has_a_layer() -> None:
    assert {part(m) for m in modules()} - {"<face>"} <= set(LAYERS)


def test_the_folders_are_the_layers() -> None:
    # The file list shows the design: every module lives in a layer's folder (only the lazy face, __init__.py,
    # sits at the top), and every folder is a layer.
    flat = sorted(p.name for p in PACKAGE.glob("*.py") if p.name != "__init__.py")
    folders = {p.name for p in PACKAGE.iterdir() if p.is_dir() and (p / "__init__.py").exists()}
    assert flat == []
    assert folders == set(LAYERS)


def test_tests_mirror_the_layers() -> None:
    tests = ROOT / "tests"
    for folder in LAYERS:
        assert list((tests / folder).glob("test_*.py")), f"tests/{folder}/ has no tests"


def test_imports_run_one_way() -> None:
    wrong = []
    for module, targets in graph().items():
        for target in (t for t in targets if not t.startswith("!")):
            if part(target) == part(module):
                continue
            if target == "scalesearch" and part(module) != "cli":
                wrong.append(f"{module} -> the package face (only the CLI may)")
            elif part(target) == "cli":
                wrong.append(f"{module} -> {target} (nothing imports the CLI)")
            elif target != "scalesearch" and module != "scalesearch" and (
                    layer(target) > layer(module) or (layer(target) == layer(module) and layer(module) > 0)):
                wrong.append(f"{module} (layer {layer(module)}) -> {target} (layer {layer(target)})")
    assert wrong == []


def test_core_needs_neither_torch_nor_fvcore() -> None:
    heavy = [f"{m} -> {t[1:]}" for m, ts in graph().items() if part(m) == "core" for t in ts if t[1:] in HEAVY]
    assert heavy == []


def test_no_import_cycles() -> None:
    g = {m: {t for t in ts if not t.startswith("!") and t != m} for m, ts in graph().items()}
    cycles: list[list[str]] = []
    state: dict[str, int] = {}

    def visit(node: str, path: list[str]) -> None:
        state[node] = 1
        for nxt in sorted(g.get(node, ())):
            if nxt == "scalesearch":
                continue  # the face imports lazily on attribute access, never at import time
            if state.get(nxt) == 1:
                cycles.append(path[path.index(nxt):] + [nxt])
            elif nxt not in state:
                visit(nxt, [*path, nxt])
        state[node] = 2

    for m in sorted(g):
        if m not in state:
            visit(m, [m])
    assert cycles == []


def test_the_checker_sees_a_wrong_arrow(tmp_path: Path) -> None:
    # The rule is only as good as the import reader: it must resolve relative and from-imports.
    src = tmp_path / "x.py"
    src.write_text("from scalesearch.search import run\nfrom ..train import data\nimport torch\n"
                   "def f():\n    from scalesearch import cli\n")
    known = {"scalesearch.search.run": src, "scalesearch.train.data": src}
    found = imports(src, known, name="scalesearch.nn.x")
    assert found == {"scalesearch.search.run", "scalesearch.train.data", "!torch", "scalesearch"}


def test_core_imports_without_torch_installed() -> None:
    # A finder first on sys.meta_path makes `import torch` fail as if torch were not installed. (None in
    # sys.modules would too, but scipy.stats, which the core imports, looks torch up there and trips on None.)
    code = ("import sys\n"
            "class NotInstalled:\n"
            "    def find_spec(self, name, path=None, target=None):\n"
            "        if name.partition('.')[0] in ('torch', 'fvcore'):\n"
            "            raise ModuleNotFoundError(f'No module named {name!r}', name=name)\n"
            "sys.meta_path.insert(0, NotInstalled())\n"
            + "".join(f"import {m}\n" for m in modules() if part(m) == "core")
            + "from scalesearch import compound, baseline, NetSpec\n"
            + "assert compound(1.2, 1.1, 1.15, 1) == (1.2, 1.1, 1.15)\n"
            + "print(baseline('efficientnet-b0').name)\n"
            + "from scalesearch.core.stats import spearman\nassert abs(spearman([1, 2, 3], [1, 3, 2]) - 0.5) < 1e-12\n"
            + "assert 'torch' not in sys.modules and 'fvcore' not in sys.modules\n")
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, cwd=ROOT, timeout=120)
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == "efficientnet-b0"
