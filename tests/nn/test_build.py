import copy

import pytest
import torch

from scalesearch.core.baselines import baseline, baselines
from scalesearch.core.scaling import scale
from scalesearch.core.spec import Activation, BlockKind, HeadSpec, NetSpec, StageSpec, StemSpec
from scalesearch.nn import build
from scalesearch.nn.blocks import BLOCKS, Block, ZeroInitLast


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


# -- zero-init: every residual block owns it ------------------------------------------------------------

def _stage(kind: BlockKind, channels: int = 16) -> StageSpec:
    if kind in (BlockKind.CONV, BlockKind.DEPTHWISE_SEPARABLE):
        return StageSpec(block=kind, channels=channels, layers=1)
    return StageSpec(block=kind, channels=channels, layers=1, se_ratio=0.25,
                     expansion=4.0 if kind is BlockKind.BOTTLENECK else 3.0)


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
