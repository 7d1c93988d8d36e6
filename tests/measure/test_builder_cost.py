"""Counting a builder's module: the same conventions as a spec's, parts by top-level child, and '(other)' for what
the module's own forward does outside its children."""

from __future__ import annotations

from pathlib import Path

from scalesearch.core.baselines import baseline
from scalesearch.measure import count
from scalesearch.measure.cost import OTHER
from scalesearch.nn import resolve_baseline

ROOT = Path(__file__).resolve().parents[2]
MOBILENET = str(ROOT / "examples" / "mobilenet_v2.py") + ":mobilenet_v2"


def test_the_mobilenet_example_counts_as_the_registered_spec():
    # The same network (Sandler et al. Table 2, torchvision's rounding) written as a builder and as a spec.
    built, spec = resolve_baseline(MOBILENET), baseline("mobilenet-v2")
    for counter in ("fvcore", "meta"):
        a, b = count(built, counter), count(spec, counter)
        assert (a.flops, a.conv_linear_flops, a.params, a.activations) == (b.flops, b.conv_linear_flops, b.params,
                                                                           b.activations)
    cost = count(built, "fvcore")
    assert cost.flops == 314_193_216 and cost.params == 3_504_872  # tests/measure/test_cost.py's reference
    assert [p.name for p in cost.parts] == ["stem", "blocks", "head", "pool", "dropout", "classifier"]
    assert sum(p.flops for p in cost.parts) == cost.flops and sum(p.params for p in cost.parts) == cost.params


def test_what_forward_does_outside_the_children_is_its_own_part(tmp_path):
    path = tmp_path / "pooled.py"
    path.write_text("import torch\nfrom torch import nn\n\n\nclass Net(nn.Module):\n"
                    "    def __init__(self, n):\n        super().__init__()\n        self.conv = nn.Conv2d(3, 8, 3)\n"
                    "        self.fc = nn.Linear(8, n)\n\n"
                    "    def forward(self, x):\n        return self.fc(torch.nn.functional.adaptive_avg_pool2d("
                    "self.conv(x), 1).flatten(1))\n\n\n"
                    "def net(depth, width, num_classes):\n    return Net(num_classes)\n\n\nnet.image_size = 10\n")
    cost = count(resolve_baseline(f"{path}:net"), "fvcore")
    parts = {p.name: p for p in cost.parts}
    assert list(parts) == ["conv", "fc", OTHER]
    assert parts[OTHER].flops == 8 * 8 * 8 and parts[OTHER].params == 0  # fvcore: 1 per pooled input element
    assert sum(p.flops for p in cost.parts) == cost.flops
