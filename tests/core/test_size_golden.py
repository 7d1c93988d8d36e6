"""The size estimate behind the limits (scalesearch.core.limits.estimate) against the meta counter.

The golden table: every registered baseline at phi 0..8 with the paper's coefficients (1.2, 1.1, 1.15); the
rows of the EfficientNet paper's Table 3 (MobileNetV1, MobileNetV2 and ResNet-50 at d=4, w=2, r=2 singly and
compound d=1.4, w=1.2, r=1.3); and every baseline at single multipliers d in {1, 2, 4}, w in {0.5, 1, 2},
r in {1, 2}. Estimated parameters and activations (conv and linear output elements at batch 1, what
scalesearch's counters call activations) must lie within [0.5x, 2x] of the measured ones. The estimate
mirrors the builder, so today the ratios are exactly 1; the band is what the guards need.
"""

from __future__ import annotations

import pytest

from scalesearch.core.baselines import baseline, baselines
from scalesearch.core.limits import estimate
from scalesearch.core.scaling import compound, scale
from scalesearch.core.spec import BlockKind, HeadSpec, NetSpec, StageSpec, StemSpec
from scalesearch.measure import measure

PAPER = (1.2, 1.1, 1.15)
TABLE3 = {"mobilenet-v1": [(4, 1, 1), (1, 2, 1), (1, 1, 2), (1.4, 1.2, 1.3)],
          "mobilenet-v2": [(4, 1, 1), (1, 2, 1), (1, 1, 2), (1.4, 1.2, 1.3)],
          "resnet-50": [(4, 1, 1), (1, 2, 1), (1, 1, 2), (1.4, 1.2, 1.3)]}
SINGLE = [(d, 1, 1) for d in (1, 2, 4)] + [(1, w, 1) for w in (0.5, 2)] + [(1, 1, 2)]


def _unique(specs: list[NetSpec]) -> list[NetSpec]:
    return list({s.architecture_key(): s for s in specs}.values())


def _table3() -> list[NetSpec]:
    return [scale(baseline(name), *m) for name, rows in TABLE3.items() for m in rows]


def _golden() -> list[NetSpec]:
    specs = _table3()
    for name in baselines():
        base = baseline(name)
        specs += [scale(base, *compound(*PAPER, phi)) for phi in range(9)]
        specs += [scale(base, *m) for m in SINGLE]
    return _unique(specs)


def _ratios(specs: list[NetSpec]) -> tuple[list[float], list[float]]:
    acts, params = [], []
    for spec in specs:
        measured = measure(spec, "meta")  # the meta device: nothing allocated, cached for the session
        size = estimate(spec)
        acts.append(size.activations / measured.activations)
        params.append(size.params / measured.params)
    return acts, params


def _check(specs: list[NetSpec]) -> None:
    acts, params = _ratios(specs)
    for spec, a, p in zip(specs, acts, params, strict=True):
        assert 0.5 <= a <= 2 and 0.5 <= p <= 2, (spec.name, a, p)
    print(f"\nestimate / measured over {len(specs)} networks: activations {min(acts):.4f}-{max(acts):.4f}, "
          f"parameters {min(params):.4f}-{max(params):.4f}")


def test_estimate_is_within_2x_on_table_3_and_the_baselines() -> None:
    _check(_unique(_table3() + [baseline(name) for name in baselines()]))


@pytest.mark.slow
def test_estimate_is_within_2x_on_the_golden_table() -> None:
    specs = _golden()
    assert len(specs) > 190  # 15 baselines x (9 phis + 5 single multipliers) + Table 3, fewer the duplicates
    _check(specs)


def _net(*stages: StageSpec, head: int = 0, max_pool: bool = False, resolution: int = 37) -> NetSpec:
    return NetSpec(name="kinds", stem=StemSpec(channels=8, kernel=5, stride=2, max_pool=max_pool), stages=stages,
                   head=HeadSpec(channels=head), resolution=resolution, num_classes=7)


KINDS = {
    "mbconv, SE, odd expansion": _net(
        StageSpec(block=BlockKind.MBCONV, channels=8, layers=1, expansion=1, se_ratio=0.25),
        StageSpec(block=BlockKind.MBCONV, channels=12, layers=3, stride=2, kernel=5, expansion=2.5, se_ratio=0.3),
        head=40),
    "inverted residual": _net(
        StageSpec(block=BlockKind.INVERTED_RESIDUAL, channels=16, layers=2, stride=2, expansion=6),
        StageSpec(block=BlockKind.INVERTED_RESIDUAL, channels=16, layers=2, stride=3, expansion=1.5)),
    "fused mbconv": _net(
        StageSpec(block=BlockKind.FUSED_MBCONV, channels=8, layers=2, expansion=1, se_ratio=0.25),
        StageSpec(block=BlockKind.FUSED_MBCONV, channels=20, layers=3, stride=2, expansion=4, se_ratio=0.25),
        StageSpec(block=BlockKind.FUSED_MBCONV, channels=24, layers=1, stride=2, expansion=3), head=32),
    "depthwise separable": _net(
        StageSpec(block=BlockKind.DEPTHWISE_SEPARABLE, channels=16, layers=2, kernel=3),
        StageSpec(block=BlockKind.DEPTHWISE_SEPARABLE, channels=24, layers=3, stride=2, kernel=7, expansion=3)),
    "bottleneck": _net(
        StageSpec(block=BlockKind.BOTTLENECK, channels=8, layers=2, expansion=4),  # cin == cout: no projection
        StageSpec(block=BlockKind.BOTTLENECK, channels=32, layers=3, stride=2, expansion=3, se_ratio=0.5),
        max_pool=True),
    "conv": _net(StageSpec(block=BlockKind.CONV, channels=12, layers=3, stride=2, kernel=7),
                 StageSpec(block=BlockKind.CONV, channels=5, layers=1, stride=4), head=9, resolution=101),
    "regnet-y, SE, groups, odd widths": _net(
        StageSpec(block=BlockKind.REGNET_Y, channels=8, layers=2, group_width=4, se_ratio=0.25),  # no projection
        StageSpec(block=BlockKind.REGNET_Y, channels=30, layers=3, stride=2, group_width=5, se_ratio=0.3),  # 7.5 SE
        StageSpec(block=BlockKind.REGNET_Y, channels=24, layers=2, stride=3, expansion=2, group_width=12), head=16,
        max_pool=True),
    "convnext, patchify stem, layer-norm head": NetSpec(
        name="kinds", stem=StemSpec(channels=8, kernel=3, stride=3, patchify=True), num_classes=7, resolution=61,
        head=HeadSpec(layer_norm=True), stages=(
            StageSpec(block=BlockKind.CONVNEXT, channels=8, layers=2, kernel=7, expansion=4, layer_scale=1e-6),
            StageSpec(block=BlockKind.CONVNEXT, channels=12, layers=1, kernel=5, expansion=2.5),  # 1x1 downsample
            StageSpec(block=BlockKind.CONVNEXT, channels=20, layers=3, kernel=3, stride=2, expansion=3,
                      layer_scale=0.1),  # odd side: 2x2 stride-2 drops the last row
        )),
    "convnext after a conv stem": _net(
        StageSpec(block=BlockKind.CONVNEXT, channels=16, layers=2, kernel=7, stride=3, expansion=4, layer_scale=0.5),
        head=24),
}


def test_every_block_kind_is_in_the_exact_table() -> None:
    assert {s.block for spec in KINDS.values() for s in spec.stages} == set(BlockKind)


NEW_FAMILIES = ["regnety-400mf", "regnety-800mf", "convnext-tiny"]


@pytest.mark.parametrize("name", NEW_FAMILIES)
def test_estimate_equals_the_meta_count_on_the_regnet_and_convnext_families(name: str) -> None:
    # The baseline, its phi 1 and phi 3 (paper coefficients) under each policy, and the tiny proxies (x0.25
    # width at 32 px): widths that RegNet's group step moves, stems the regnet policy keeps, odd sides.
    base = baseline(name)
    specs = [base] + [scale(base, *compound(*PAPER, phi), policy=pol) for phi in (1, 3)
                      for pol in ("efficientnet", "regnet")]
    specs += [scale(base, width=0.25, image_size=px, policy=pol) for px in (32, 44) for pol in ("nearest", "regnet")]
    for spec in _unique(specs):
        measured = measure(spec, "meta", cache=False)
        size = estimate(spec)
        assert (size.params, size.activations) == (measured.params, measured.activations), spec.name


@pytest.mark.parametrize("name", list(KINDS))
def test_estimate_follows_every_block_kind_exactly(name: str) -> None:
    # Odd input sizes, strides 2-4, non-integer expansions, SE, heads and max pooling: the closed forms
    # follow scalesearch.nn.blocks to the element. A change to a block shows here first.
    spec = KINDS[name]
    measured = measure(spec, "meta", cache=False)
    size = estimate(spec)
    assert (size.params, size.activations) == (measured.params, measured.activations)
