import copy
import dataclasses
from typing import Any

import pytest
import torch

from scalesearch.core.baselines import baseline, baselines
from scalesearch.core.scaling import scale
from scalesearch.core.spec import Activation, BlockKind, HeadSpec, NetSpec, StageSpec, StemSpec
from scalesearch.nn import build
from scalesearch.nn.blocks import BLOCKS, Block, ZeroInitLast
from scalesearch.nn.layers import LayerNorm2d


@pytest.mark.parametrize("name", baselines())
def test_every_baseline_builds_on_meta_without_memory(name):
    model = build(baseline(name), device="meta")
    assert all(p.device.type == "meta" for p in model.parameters())


def _kind_args(kind: BlockKind) -> dict[str, Any]:
    """Stage fields that exercise each kind: expansion and SE where it has them, a group width of 8 for
    RegNet-Y (bottlenecks of 8 and 16), a layer scale large enough to change ConvNeXt's output."""
    if kind in (BlockKind.CONV, BlockKind.DEPTHWISE_SEPARABLE):
        return {}
    if kind is BlockKind.REGNET_Y:
        return {"expansion": 2.0, "se_ratio": 0.25, "group_width": 8}
    if kind is BlockKind.CONVNEXT:
        return {"expansion": 3.0, "layer_scale": 0.5}
    return {"expansion": 4.0 if kind is BlockKind.BOTTLENECK else 3.0, "se_ratio": 0.25}


@pytest.mark.parametrize("kind", list(BlockKind))
def test_every_block_kind_runs_forward_and_backward(kind):
    stage_args = _kind_args(kind)
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


# -- zero-init: every residual block owns it ------------------------------------------------------------

def _stage(kind: BlockKind, channels: int = 16) -> StageSpec:
    return StageSpec(block=kind, channels=channels, layers=1, **_kind_args(kind))


def _residual_config(kind: BlockKind, act: Activation = Activation.RELU) -> Block:
    """The kind at stride 1 with as many channels out as in: residual if the kind can be at all."""
    return BLOCKS[kind](16, 16, 1, _stage(kind), act, 0.0).eval()


def _has_skip_path(block: Block) -> bool:
    """Behaviourally, whatever the block calls its attributes: with every weight zero a block without a skip
    path outputs zero, one with a skip path still passes (non-negative) input through."""
    block = copy.deepcopy(block)
    with torch.no_grad():
        for p in block.parameters():
            p.zero_()
        return bool(block(torch.rand(2, 16, 8, 8) + 0.1).abs().sum() > 0)


def test_the_block_registry_covers_every_kind() -> None:
    assert set(BLOCKS) == set(BlockKind)


@pytest.mark.parametrize("kind", list(BlockKind))
def test_every_residual_block_kind_says_so_and_owns_its_zero_init(kind: BlockKind) -> None:
    block = _residual_config(kind)
    assert block.residual == _has_skip_path(block), "the residual flag must match the block's skip path"
    if block.residual:
        assert isinstance(block, ZeroInitLast), f"{type(block).__name__} is residual but has no zero_init_last()"


@pytest.mark.parametrize("kind", [k for k in BlockKind if _residual_config(k).residual])
def test_zero_init_last_makes_a_residual_block_the_identity(kind: BlockKind) -> None:
    # ReLU and non-negative input, as inside a ReLU network: Bottleneck applies its activation after the sum,
    # so only there does act(x + 0) == x hold for it.
    block = _residual_config(kind)
    x = torch.rand(2, 16, 8, 8)
    with torch.no_grad():
        assert not torch.allclose(block(x), x)  # the builder's init is not the identity: the test can fail
        block.zero_init_last()
        assert torch.equal(block(x), x)


@pytest.mark.parametrize("kind", [BlockKind.MBCONV, BlockKind.FUSED_MBCONV])
def test_zero_init_last_refuses_a_block_without_its_residual(kind: BlockKind) -> None:
    block = BLOCKS[kind](16, 24, 2, _stage(kind, 24), Activation.SILU, 0.0)
    assert not block.residual
    with pytest.raises(ValueError, match="non-residual"):
        block.zero_init_last()


def test_net_zero_init_zeroes_exactly_the_last_bn_of_each_residual_branch_and_the_classifier() -> None:
    # The parameters the trainer's zero-init touched before blocks owned it (checked by running both): the
    # residual MBConv (16 -> 16), the second expanding fused block (its 1x1 projection, not the expansion:
    # zeroing either makes the branch output zero, so only the parameter names tell them apart), the fused
    # block without expansion, both Bottlenecks (projection shortcut or not); not the depthwise-separable.
    spec = NetSpec(
        name="mixed", stem=StemSpec(channels=16), num_classes=5, resolution=32,
        stages=(StageSpec(block=BlockKind.MBCONV, channels=16, layers=1, se_ratio=0.25),
                StageSpec(block=BlockKind.FUSED_MBCONV, channels=24, layers=2, stride=2, expansion=4.0),
                StageSpec(block=BlockKind.FUSED_MBCONV, channels=24, layers=1),
                StageSpec(block=BlockKind.DEPTHWISE_SEPARABLE, channels=24, layers=1),
                StageSpec(block=BlockKind.BOTTLENECK, channels=32, layers=2, expansion=4.0)),
        head=HeadSpec(channels=48),
    )
    model = build(spec)
    before = {k: v.clone() for k, v in model.state_dict().items()}
    model.zero_init()
    changed = {k for k, v in model.state_dict().items() if not torch.equal(v, before[k])}
    assert changed == {"stages.0.0.body.2.1.weight", "stages.1.1.body.1.1.weight", "stages.2.0.body.0.1.weight",
                       "stages.4.0.body.2.1.weight", "stages.4.1.body.2.1.weight", "classifier.weight"}
    assert all(not model.state_dict()[k].any() for k in changed | {"classifier.bias"})
    model.eval()
    with torch.no_grad():
        assert not model(torch.randn(2, 3, 32, 32)).any()  # zero logits: the loss starts at ln(classes)


def test_net_zero_init_fails_loudly_for_a_residual_block_without_zero_init_last(tiny_spec: NetSpec) -> None:
    class Skip(Block):
        residual = True

        def forward(self, x: torch.Tensor) -> torch.Tensor:
            return x

    model = build(tiny_spec)
    model.stages[0][0] = Skip()
    with pytest.raises(TypeError, match="Skip defines no zero_init_last"):
        model.zero_init()


# -- RegNet-Y and ConvNeXt ---------------------------------------------------------------------------------

@pytest.mark.parametrize("name", ["regnety-400mf", "regnety-800mf", "convnext-tiny"])
@pytest.mark.parametrize("policy", ["efficientnet", "regnet"])
def test_scaled_regnet_and_convnext_run_forward_and_backward_at_a_tiny_resolution(name, policy):
    # The proxy's setting (x0.25 width at 32 px) at depth down and up: every RegNet width a whole number of
    # groups, ConvNeXt's stride-32 downsampling left with one pixel.
    for depth in (0.5, 1.5):
        spec = dataclasses.replace(scale(baseline(name), depth=depth, width=0.25, image_size=32, policy=policy),
                                   num_classes=10)
        model = build(spec).train()
        out = model(torch.randn(2, 3, 32, 32))
        assert out.shape == (2, 10) and torch.isfinite(out).all()
        out.sum().backward()
        assert all(p.grad is not None for p in model.parameters())


def test_convnext_structure_follows_torchvision():
    model = build(baseline("convnext-tiny"), device="meta")
    conv, norm = model.stem[0].conv, model.stem[0].norm
    assert (conv.kernel_size, conv.stride, conv.padding, conv.bias is not None) == ((4, 4), (4, 4), (0, 0), True)
    assert isinstance(norm, LayerNorm2d) and norm.eps == 1e-6
    first, second = model.stages[1][0], model.stages[1][1]
    assert isinstance(first.downsample[0], LayerNorm2d)  # 96 -> 192: LayerNorm, then 2x2 stride 2
    assert first.downsample[1].kernel_size == (2, 2) and first.downsample[1].stride == (2, 2)
    assert isinstance(second.downsample, torch.nn.Identity) and isinstance(model.stages[0][0].downsample,
                                                                          torch.nn.Identity)
    assert first.depthwise.kernel_size == (7, 7) and first.depthwise.groups == 192
    assert first.expand.out_channels == 768 and isinstance(first.act, torch.nn.GELU)
    assert first.gamma.shape == (192,)
    assert isinstance(model.norm, LayerNorm2d) and model.norm.normalized_shape == (768,)


def test_convnext_layer_scale_and_init_follow_the_spec():
    spec = baseline("convnext-tiny")
    model = build(dataclasses.replace(spec, stages=spec.stages[:2]))
    block = model.stages[0][0]
    assert torch.equal(block.gamma, torch.full((96,), 1e-6))
    assert block.depthwise.weight.std().item() == pytest.approx(0.02, rel=0.2)  # truncated normal, std 0.02
    assert not block.expand.bias.any() and not model.stem[0].conv.bias.any()
    no_scale = dataclasses.replace(spec.stages[0], layer_scale=0.0)
    assert BLOCKS[BlockKind.CONVNEXT](96, 96, 1, no_scale, Activation.GELU, 0.0).gamma is None


def test_regnet_y_block_follows_torchvision():
    model = build(baseline("regnety-800mf"), device="meta")
    block = model.stages[1][0]  # 64 -> 144, stride 2, group width 16
    assert block.body[1][0].groups == 144 // 16 and block.body[1][0].stride == (2, 2)
    se = block.body[2]
    assert (se.reduce.in_channels, se.reduce.out_channels) == (144, 16)  # 0.25 x the block's input (64)
    assert block.shortcut[0].stride == (2, 2) and isinstance(block.act, torch.nn.ReLU)
    assert isinstance(model.stages[1][1].shortcut, torch.nn.Identity)


def test_net_zero_init_zeroes_convnext_layer_scales_and_starts_at_zero_logits():
    spec = baseline("convnext-tiny")
    spec = dataclasses.replace(scale(spec, width=0.25, image_size=32), num_classes=5)
    model = build(spec)
    model.zero_init()
    assert all(not b.gamma.any() for stage in model.stages for b in stage)
    model.eval()
    with torch.no_grad():
        assert not model(torch.randn(2, 3, 32, 32)).any()
