"""The README's and docs' examples are real: the spec example loads and builds, every `scalesearch` command
they show parses with today's options, the test command is what CI runs, and the images are committed."""

import re
import shlex
from pathlib import Path

import pytest
import torch
import typer.main

from scalesearch.cli.main import app
from scalesearch.core.specio import load_spec
from scalesearch.nn import build

ROOT = Path(__file__).resolve().parents[1]
README = ROOT / "README.md"
DOCS = sorted((ROOT / "docs").glob("*.md"))


def _commands() -> list[tuple[str, str]]:
    """(where, command line) for every `scalesearch ...` line of a code block in the README and docs."""
    found = []
    for page in [README, *DOCS]:
        for block in re.findall(r"```(?:bash|text)?\n(.*?)```", page.read_text(), re.S):
            for line in block.splitlines():
                line = line.strip().removeprefix("$ ")
                if line.startswith("scalesearch ") and not line.endswith("..."):
                    found.append((page.name, line.split(" #", 1)[0].strip()))
    return found


def test_docs_spec_example_loads_and_runs(tmp_path):
    block = re.search(r"```yaml\n(.*?)```", (ROOT / "docs" / "scaling.md").read_text(), re.S)
    assert block is not None
    path = tmp_path / "mine.yaml"
    path.write_text(block.group(1))
    spec = load_spec(path)
    assert len(spec.stages) == 4
    out = build(spec).eval()(torch.zeros(1, 3, 64, 64))
    assert out.shape == (1, spec.num_classes)


def test_every_docs_spec_example_loads_and_runs(tmp_path):
    blocks = re.findall(r"```yaml\n(.*?)```", (ROOT / "docs" / "scaling.md").read_text(), re.S)
    assert len(blocks) >= 2  # the general example and the RegNet-Y / ConvNeXt one
    for i, text in enumerate(blocks):
        path = tmp_path / f"example{i}.yaml"
        path.write_text(text)
        spec = load_spec(path)
        out = build(spec).eval()(torch.zeros(1, 3, spec.resolution, spec.resolution))
        assert out.shape == (1, spec.num_classes)


def test_the_docs_show_every_command():
    shown = {shlex.split(line)[1] for _, line in _commands()}
    assert shown >= {"baselines", "flops", "scale", "train", "grid", "report", "compare", "audit"}


@pytest.mark.parametrize(("page", "line"), _commands())
def test_every_documented_command_parses(page, line):
    """Each command line parses with the command's options as they are (no unknown flag, no value of the
    wrong type); paths it names need not exist here, so only option errors fail."""
    group = typer.main.get_command(app)
    args = shlex.split(line)[1:]
    command = group.commands[args[0]]
    try:
        command.make_context(args[0], args[1:], resilient_parsing=False)
    except typer.Exit:  # --help-style eager options
        pass
    except Exception as exc:  # a path that does not exist here is not the docs' fault
        message = exc.format_message() if hasattr(exc, "format_message") else str(exc)
        assert "does not exist" in message or "No such file" in message, (page, line, message)


def test_readme_test_command_is_what_ci_runs():
    ci = (ROOT / ".ci" / "run").read_text()
    commands = re.findall(r"```bash\n(.*?)\n```", README.read_text(), re.S)
    test_command = next(c for c in commands if "pytest" in c)
    assert test_command in ci


def test_readme_images_are_committed_files():
    images = re.findall(r"!\[[^\]]*\]\(([^)]+)\)", README.read_text())
    assert len(images) >= 5
    for image in images:
        assert (README.parent / image).stat().st_size > 1000, image


def test_readme_links_to_docs_that_exist():
    for link in re.findall(r"\]\(((?:docs|results)/[^)#]+)", README.read_text()):
        assert (ROOT / link).exists(), link
