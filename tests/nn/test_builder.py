"""Builders: the examples load and count exactly; every way a builder can fail is one line naming it; the meta
device comes first; the structure key is shared by equal networks and changes with the builder."""

from __future__ import annotations

import sys
import textwrap
from pathlib import Path

import pytest
import torch

from scalesearch.core.baselines import baseline
from scalesearch.core.builderspec import BuilderSpec
from scalesearch.core.errors import BuilderError, FieldError, SizeError
from scalesearch.nn import build, builder as builder_module, module_facts, resolve_baseline, scale_network

ROOT = Path(__file__).resolve().parents[2]
RESNET = str(ROOT / "examples" / "cifar_resnet.py") + ":cifar_resnet"
MOBILENET = str(ROOT / "examples" / "mobilenet_v2.py") + ":mobilenet_v2"

HEADER = "import torch\nfrom torch import nn\n\n"
TINY = HEADER + textwrap.dedent("""
    def tiny(depth, width, num_classes):
        c = max(4, round(8 * width))
        layers = [nn.Conv2d(3, c, 3, padding=1), nn.ReLU()]
        layers += [nn.Conv2d(c, c, 3, padding=1) for _ in range(max(1, round(2 * depth)))]
        return nn.Sequential(*layers, nn.AdaptiveAvgPool2d(1), nn.Flatten(), nn.Linear(c, num_classes))

    tiny.image_size = 16
    tiny.num_classes = 5
""")


def forget_builders() -> None:
    builder_module._LOADED.clear()
    for name in [n for n in sys.modules if n.startswith("_scalesearch_builder_")]:
        del sys.modules[name]


def write(tmp_path: Path, source: str, name: str = "model.py") -> Path:
    path = tmp_path / name
    path.write_text(source)
    return path


def ref(path: Path, function: str = "tiny") -> str:
    return f"{path}:{function}"


def test_the_examples_count_as_their_papers_say():
    resnet = resolve_baseline(RESNET)
    # ResNet-20 with 1x1 projection shortcuts (He et al. 2016 section 4.2; option B where the shape changes).
    assert (resnet.resolution, resnet.num_classes, resnet.module.params, resnet.module.layers) == (32, 10, 272_474, 22)
    mobilenet = resolve_baseline(MOBILENET)
    # torchvision's mobilenet_v2() documents 3,504,872 parameters: the example is the same network at width 1.
    assert (mobilenet.resolution, mobilenet.module.params) == (224, 3_504_872)
    narrow = scale_network(mobilenet, width=0.75)
    assert narrow.module.params < mobilenet.module.params and narrow.scaling.params_factor < 1


def test_scaled_networks_are_the_builder_called_at_the_multipliers():
    base = resolve_baseline(RESNET)
    net = scale_network(base, 1.2, 1.1, 1.15, coefficients=(1.2, 1.1, 1.15, 1.0))
    assert isinstance(net, BuilderSpec) and net.call() == "cifar_resnet(1.2, 1.1, 10)" and net.resolution == 36
    model = build(net)
    assert sum(p.numel() for p in model.parameters()) == net.module.params
    assert model(torch.zeros(2, 3, 36, 36)).shape == (2, 10)


def test_a_module_reference_imports_from_the_working_folder(tmp_path, monkeypatch):
    package = tmp_path / "mypkg"
    package.mkdir()
    (package / "__init__.py").write_text("")
    write(package, TINY, "nets.py")
    monkeypatch.chdir(tmp_path)
    spec = resolve_baseline("mypkg.nets:tiny")
    assert spec.builder == "mypkg.nets:tiny" and spec.num_classes == 5 and spec.resolution == 16


def test_equal_networks_share_a_key_and_a_changed_builder_is_refused(tmp_path):
    a = resolve_baseline(ref(write(tmp_path, TINY, "a.py")))
    b = resolve_baseline(ref(write(tmp_path, TINY.replace("def tiny", "def other").replace("tiny.", "other."),
                                   "b.py"), "other"))
    assert a.name != b.name and a.architecture_key() == b.architecture_key()
    strided_source = TINY.replace("padding=1), nn.ReLU()", "padding=1, stride=2), nn.ReLU()")
    strided = resolve_baseline(ref(write(tmp_path, strided_source, "c.py")))
    assert strided.module.params == a.module.params and strided.architecture_key() != a.architecture_key()
    # The same file edited after the network was recorded (a study, best.json): refused, never silently rebuilt.
    forget_builders()  # as a new process would: the file is read again
    write(tmp_path, TINY.replace("round(8 * width)", "round(12 * width)"), "a.py")
    with pytest.raises(BuilderError, match="now builds a different network"):
        scale_network(a, 1.5)


def test_the_size_guard_comes_before_the_users_code(tmp_path):
    path = write(tmp_path, TINY.replace("def tiny(depth, width, num_classes):",
                                        "CALLS = []\n\ndef tiny(depth, width, num_classes):\n    CALLS.append(depth)"))
    base = resolve_baseline(ref(path))
    module = next(m for name, m in sys.modules.items() if name.startswith("_scalesearch_builder_")
                  and getattr(m, "__file__", "") == str(path))
    calls = len(module.CALLS)
    with pytest.raises(SizeError, match="would build about .* conv and linear layers"):
        scale_network(base, depth=1e300)
    assert len(module.CALLS) == calls  # refused from the (1, 1) count alone


def test_a_builder_that_cannot_run_on_the_meta_device_is_built_for_real(tmp_path, monkeypatch):
    source = HEADER + textwrap.dedent("""
        class Net(nn.Module):
            def __init__(self, n):
                super().__init__()
                self.rates = torch.linspace(0, 0.1, 3).tolist()  # no values on the meta device
                self.conv = nn.Conv2d(3, 8, 3)
                self.fc = nn.Linear(8, n)

            def forward(self, x):
                x = self.conv(x).mean((2, 3)) + torch.ones(8)  # a CPU tensor inside forward
                return self.fc(x)

        def net(depth, width, num_classes):
            return Net(num_classes)
    """)
    spec = resolve_baseline(ref(write(tmp_path, source), "net"), image_size=12)
    assert spec.module.params == 3 * 8 * 9 + 8 + 8 * 1000 + 1000 and spec.activations == 8 * 10 * 10 + 1000
    # A real build is held to the memory limit first, estimated from the network at depth and width 1.
    monkeypatch.setenv("SCALESEARCH_MAX_PARAMS", str(spec.module.params * 3))
    with pytest.raises(SizeError, match=r"cannot be built on the meta device, and for real at depth 1, width 2 it "
                                        r"would hold about 3.69e\+04 parameters"):
        scale_network(spec, width=2.0)


BAD = {
    "raises": ("def tiny(depth, width, num_classes):\n    raise ValueError('width too small')\n",
               "builder {ref} raised ValueError: width too small (called at depth 1, width 1, 1000 classes)"),
    "not a module": ("def tiny(depth, width, num_classes):\n    return [nn.Linear(3, num_classes)]\n",
                     "builder {ref} returned list, not a torch.nn.Module"),
    "signature": ("def tiny(width_mult):\n    return nn.Linear(3, 10)\n",
                  "builder {ref}: tiny(width_mult) cannot be called as tiny(depth, width, num_classes)"),
    "output shape": ("def tiny(depth, width, num_classes):\n    return nn.Conv2d(3, num_classes, 1)\n",
                     "builder {ref}: its output for a (2, 3, 16, 16) input is shape (2, 1000, 16, 16), not (batch, "
                     "num_classes) = (2, 1000)"),
    "forward raises": ("def tiny(depth, width, num_classes):\n    return nn.Linear(5, num_classes)\n",
                       "builder {ref}: its forward pass of a (2, 3, 16, 16) input raised RuntimeError"),
    "import fails": ("import no_such_module_here\n", "builder {ref}: importing model.py raised ModuleNotFoundError"),
    "missing function": ("def tinny(depth, width, num_classes):\n    return None\n",
                         "builder {ref}: model.py has no function 'tiny'; did you mean tinny?"),
    "not callable": ("tiny = 3\n", "builder {ref}: model.py.tiny is a int, not a function"),
    "bad attribute": ("def tiny(depth, width, num_classes):\n    return None\ntiny.image_size = 'big'\n",
                      "builder {ref}: its image_size attribute is 'big', not an integer >= 8"),
}


@pytest.mark.parametrize("case", list(BAD))
def test_every_failure_is_one_line_naming_the_builder(tmp_path, case):
    body, message = BAD[case]
    text = ref(write(tmp_path, HEADER + body))
    with pytest.raises(BuilderError) as info:
        resolve_baseline(text, image_size=16)
    assert message.format(ref=text) in str(info.value) and "\n" not in str(info.value)


def test_missing_files_modules_and_sizes(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    with pytest.raises(BuilderError, match=r"builder nets/missing.py:f: file nets/missing.py not found"):
        resolve_baseline("nets/missing.py:f")
    with pytest.raises(BuilderError, match=r"builder nomodule_xyz.nets:f: no module named 'nomodule_xyz' here"):
        resolve_baseline("nomodule_xyz.nets:f")
    path = write(tmp_path, TINY.replace("tiny.image_size = 16\n", ""))
    with pytest.raises(FieldError, match=r"image_size: builder .* declares no image_size"):
        resolve_baseline(ref(path))
    with pytest.raises(FieldError, match="image_size 64: sets the input size of a builder's network"):
        resolve_baseline("efficientnet-b0", image_size=64)


def test_the_users_exception_is_the_cause(tmp_path):
    text = ref(write(tmp_path, HEADER + BAD["raises"][0]))
    with pytest.raises(BuilderError) as info:
        resolve_baseline(text, image_size=16)
    assert isinstance(info.value.__cause__, ValueError)


def test_scale_network_on_a_spec_is_scale(tiny_spec):
    out = scale_network(tiny_spec, 1.2, 1.1, 1.15, num_classes=3)
    assert out.num_classes == 3 and out.stages[1].layers == 3 and out.resolution == 36
    assert module_facts(build(baseline("mobilenet-v2"), device="meta")).params == 3_504_872
