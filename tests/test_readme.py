"""The README's examples are real: its spec example loads and builds, its commands exist."""

import re
from pathlib import Path

import torch

from scalesearch.nn import build
from scalesearch.specio import load_spec

README = Path(__file__).resolve().parents[1] / "README.md"


def test_readme_spec_example_loads_and_runs(tmp_path):
    block = re.search(r"```yaml\n(.*?)```", README.read_text(), re.S)
    assert block is not None
    path = tmp_path / "mine.yaml"
    path.write_text(block.group(1))
    spec = load_spec(path)
    assert len(spec.stages) == 4
    out = build(spec).eval()(torch.zeros(1, 3, 64, 64))
    assert out.shape == (1, spec.num_classes)


def test_readme_test_command_is_what_ci_runs():
    ci = (README.parent / ".ci" / "run").read_text()
    commands = re.findall(r"```bash\n(.*?)\n```", README.read_text(), re.S)
    test_command = next(c for c in commands if "pytest" in c)
    assert test_command in ci


def test_readme_images_are_committed_files():
    images = re.findall(r"!\[[^\]]*\]\(([^)]+)\)", README.read_text())
    assert len(images) >= 5
    for image in images:
        assert (README.parent / image).stat().st_size > 1000, image
