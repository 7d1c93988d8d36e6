import pytest
import torch

from scalesearch.baselines import baseline, baselines
from scalesearch.nn import build
from scalesearch.scaling import scale
from scalesearch.spec import BlockKind, HeadSpec, NetSpec, StageSpec, StemSpec


@pytest.mark.parametrize("name", baselines())
def test_every_baseline_builds_on_meta_without_memory(name):
    model = build(baseline(name), device="meta")
    assert all(p.device.type == "meta" for p in model.parameters())


@pytest.mark.parametrize("kind", list(BlockKind))
def test_every_block_kind_runs_forward_and_backward(kind):
    stage_args = {"expansion": 4.0 if kind is BlockKind.BOTTLENECK else 3.0, "se_ratio": 0.25}
    if kind in (BlockKind.CONV, BlockKind.DEPTHWISE_SEPARABLE):
        stage_args = {}
    spec = NetSpec(
        name=kind.value, stem=StemSpec(channels=8), num_classes=5, resolution=32, drop_path=0.1,
        stages=(StageSpec(block=kind, channels=16, layers=2, **stage_args),
                StageSpec(block=kind, channels=32, layers=1, stride=2, **stage_args)),
        head=HeadSpec(channels=48),
    )
    model = build(spec).train()
    out = model(torch.randn(2, 3, 32, 32))
    assert out.shape == (2, 5)
    out.sum().backward()
    assert all(p.grad is not None for p in model.parameters())


def test_scaled_b0_runs_on_a_tiny_real_input():
    spec = scale(baseline("efficientnet-b0"), width=0.25, depth=0.5)
    model = build(spec).eval()
    with torch.no_grad():
        out = model(torch.randn(1, 3, 32, 32))
    assert out.shape == (1, 1000) and torch.isfinite(out).all()


def test_residuals_only_where_shapes_match():
    model = build(baseline("efficientnet-b0"), device="meta")
    first = model.stages[1][0]  # stride 2, 16 -> 24
    second = model.stages[1][1]  # stride 1, 24 -> 24
    assert not first.residual and second.residual


def test_resnet_stem_has_max_pool_and_projection_shortcuts():
    model = build(baseline("resnet-50"), device="meta")
    assert isinstance(model.stem[1], torch.nn.MaxPool2d)
    assert not isinstance(model.stages[0][0].shortcut, torch.nn.Identity)  # 64 -> 256
    assert isinstance(model.stages[0][1].shortcut, torch.nn.Identity)
