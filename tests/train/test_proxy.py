"""The proxy trainer: config validation, the proxy network, learning, reproducibility, and the statuses."""

from __future__ import annotations

import dataclasses
import json
import math

import pytest
import torch

from scalesearch.core.baselines import baseline
from scalesearch.core.errors import UsageError
from scalesearch.core.runs import RunStatus
from scalesearch.core.scaling import scale
from scalesearch.core.spec import NetSpec
from scalesearch.nn import Net
from scalesearch.train import (
    ProxyConfig,
    ProxyResult,
    load_data,
    loop,
    proxy,
    proxy_spec,
    runtime,
    set_threads,
    train_proxy,
)
from scalesearch.train.events import EpochDone, ProgressEvent, RunStarted, StepDone


@pytest.mark.parametrize("field, value", [
    ("epochs", 0), ("batch_size", 1), ("proxy_width", 0.0), ("optimizer", "lamb"), ("lr", -1.0),
    ("warmup_epochs", 5.0), ("label_smoothing", 1.0), ("train_subset", -1), ("threads", 0), ("base_resolution", 4),
    ("epochs", True),
])
def test_config_rejects_bad_values_naming_the_field(field: str, value: object) -> None:
    with pytest.raises(UsageError, match=f"proxy {field} = "):
        ProxyConfig(**{field: value})


def test_config_defaults_per_optimizer() -> None:
    assert (ProxyConfig().learning_rate, ProxyConfig().decay) == (0.1, 5e-4)
    assert ProxyConfig(optimizer="adamw").learning_rate == 2e-3
    assert ProxyConfig(lr=0.3).learning_rate == 0.3


def test_proxy_spec_width_resolution_classes_and_purity() -> None:
    data = load_data("digits")
    b0 = baseline("efficientnet-b0")
    cand = scale(b0, depth=1.2, width=1.1, resolution=1.15)
    p = proxy_spec(cand, ProxyConfig(), data)
    assert p.resolution == round(32 * cand.scaling.resolution_achieved)  # 32 px base x 1.1429 -> 37
    assert p.num_classes == 10 and p.dropout == cand.dropout and p.drop_path == cand.drop_path
    assert [s.layers for s in p.stages] == [s.layers for s in cand.stages]  # depth untouched
    assert p.stages[-1].channels == scale(cand, width=0.25).stages[-1].channels < cand.stages[-1].channels
    assert proxy_spec(cand, ProxyConfig(), data).architecture_key() == p.architecture_key()
    assert proxy_spec(b0, ProxyConfig(), data).resolution == 32  # no scaling record: r = 1
    assert proxy_spec(b0, ProxyConfig(base_resolution=20), data, resolution_multiplier=2.0).resolution == 40
    with pytest.raises(UsageError, match="resolution multiplier"):
        proxy_spec(b0, ProxyConfig(), data, resolution_multiplier=0.0)


def test_random_crop_matches_a_per_sample_reference() -> None:
    x = torch.randint(0, 256, (6, 3, 5, 7), dtype=torch.uint8)
    offsets = torch.randint(0, 5, (2, 6))
    got = loop.random_crop(x, offsets, pad=2)
    padded = torch.nn.functional.pad(x, (2, 2, 2, 2))
    for i in range(6):
        oy, ox = offsets[:, i].tolist()
        assert torch.equal(got[i], padded[i, :, oy:oy + 5, ox:ox + 7])


def test_lr_schedule_warms_up_then_decays_to_zero() -> None:
    lrs = [loop.lr_factor(s, 100, 10) for s in range(100)]
    assert lrs[0] == pytest.approx(0.1) and lrs[9] == 1.0 and lrs[10] == 1.0
    assert all(a >= b for a, b in zip(lrs[10:], lrs[11:], strict=False)) and lrs[-1] < 0.01


def test_bn_recalibration_replaces_stale_statistics(tiny_spec: NetSpec) -> None:
    from scalesearch.nn.build import build

    images = loop.DeviceImages(load_data("synthetic").train_x[:64], torch.zeros(64, dtype=torch.long), 16,
                               torch.device("cpu"), True)
    model = build(tiny_spec)
    bn = model.stem[0][1]
    bn.running_mean.fill_(5.0)
    loop.recalibrate_bn(model, images, torch.arange(64), 32)
    assert bn.running_mean.abs().max() < 5.0 and bn.momentum == 0.1 and model.training


def test_a_short_run_learns_and_reports_everything(tiny_spec: NetSpec, fast: ProxyConfig) -> None:
    events: list[ProgressEvent] = []
    seen: list[tuple[int, float]] = []
    r = train_proxy(tiny_spec, "synthetic", dataclasses.replace(fast, epochs=3), seed=0, progress=events.append,
                    on_epoch=lambda e, a: seen.append((e, a)))
    assert r.status is RunStatus.OK and r.epochs_run == 3 and len(r.history) == 3
    assert r.accuracy >= 0.5, r.history  # 10 classes: chance is 0.1
    assert seen == list(enumerate(r.history, start=1))
    assert r.proxy_resolution == 16 and r.threads == 1 and r.device == "cpu" and r.seed == 0
    assert r.images_per_second > 0 and r.seconds > 0 and r.peak_memory_bytes > 0 and r.proxy_params > 0
    assert math.isfinite(r.loss) and math.isfinite(r.val_loss)
    with pytest.raises(dataclasses.FrozenInstanceError):
        r.accuracy = 1.0  # type: ignore[misc]  # on purpose: the result is frozen
    # the result survives JSON (strict: no NaN) unchanged, as the study and the run cache store it
    assert ProxyResult.from_dict(json.loads(json.dumps(r.to_dict(), allow_nan=False))) == r

    started, steps, rest = events[0], [e for e in events if isinstance(e, StepDone)], events[1:]
    assert isinstance(started, RunStarted) and started.epochs == 3 and started.resolution == 16
    assert started.params == r.proxy_params and started.threads == 1 and started.device == "cpu"
    assert len(steps) == 3 * started.steps_per_epoch  # the CPU reads every step's loss
    assert [e.step for e in steps[: started.steps_per_epoch]] == list(range(1, started.steps_per_epoch + 1))
    done = [e for e in rest if isinstance(e, EpochDone)]
    assert [e.val_accuracy for e in done] == list(r.history) and done[-1].loss == r.loss
    assert len(done) + len(steps) == len(rest)  # one RunStarted, then only steps and epochs


def test_same_seed_same_accuracy_on_cpu(tiny_spec: NetSpec, fast: ProxyConfig) -> None:
    a = train_proxy(tiny_spec, "synthetic", fast, seed=3)
    b = train_proxy(tiny_spec, "synthetic", fast, seed=3)
    c = train_proxy(tiny_spec, "synthetic", fast, seed=4)
    assert a.history == b.history and a.loss == b.loss and a.val_loss == b.val_loss
    assert (c.history, c.loss) != (a.history, a.loss)


def test_the_global_random_state_is_left_alone(tiny_spec: NetSpec, fast: ProxyConfig) -> None:
    torch.manual_seed(123)
    expected = torch.rand(3)
    torch.manual_seed(123)
    train_proxy(tiny_spec, "synthetic", dataclasses.replace(fast, epochs=1), seed=9)
    assert torch.equal(torch.rand(3), expected)


def test_huge_learning_rate_diverges_without_raising(tiny_spec: NetSpec, fast: ProxyConfig) -> None:
    r = train_proxy(tiny_spec, "synthetic", dataclasses.replace(fast, lr=1e12, warmup_epochs=0.0, label_smoothing=0.0),
                    seed=0)
    assert r.status is RunStatus.DIVERGED and r.accuracy == 0.0
    assert "lower the lr" in r.message
    assert json.loads(json.dumps(r.to_dict(), allow_nan=False))["status"] == "diverged"  # non-finite: null


class _Exploding(torch.nn.Module):
    def __init__(self, error: Exception) -> None:
        super().__init__()
        self.w = torch.nn.Parameter(torch.zeros(1))
        self.error = error

    def zero_init(self) -> None:
        pass

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        raise self.error


@pytest.mark.parametrize("error", [
    torch.OutOfMemoryError("CUDA out of memory. Tried to allocate 20.00 GiB"),
    RuntimeError("[enforce fail at alloc_cpu.cpp:117] DefaultCPUAllocator: can't allocate memory: you tried ..."),
])
def test_out_of_memory_ends_the_run_with_status_oom(tiny_spec: NetSpec, fast: ProxyConfig,
                                                    monkeypatch: pytest.MonkeyPatch, error: Exception) -> None:
    monkeypatch.setattr(proxy, "build", lambda spec: _Exploding(error))
    r = train_proxy(tiny_spec, "synthetic", fast, seed=0)
    assert r.status is RunStatus.OOM and r.accuracy == 0.0 and "out of memory" in r.message


def test_other_errors_still_raise(tiny_spec: NetSpec, fast: ProxyConfig, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(proxy, "build", lambda spec: _Exploding(ValueError("a real bug")))
    with pytest.raises(ValueError, match="a real bug"):
        train_proxy(tiny_spec, "synthetic", fast, seed=0)


def test_on_epoch_true_prunes(tiny_spec: NetSpec, fast: ProxyConfig) -> None:
    r = train_proxy(tiny_spec, "synthetic", dataclasses.replace(fast, epochs=3), on_epoch=lambda e, a: e == 1)
    assert r.status is RunStatus.PRUNED and r.epochs_run == 1 and len(r.history) == 1 and r.accuracy == r.history[0]


def test_train_subset_and_adamw(tiny_spec: NetSpec, fast: ProxyConfig) -> None:
    events: list[ProgressEvent] = []
    r = train_proxy(tiny_spec, "synthetic", dataclasses.replace(fast, train_subset=130, optimizer="adamw"),
                    progress=events.append)
    assert r.status is RunStatus.OK and r.images_per_second > 0
    started = events[0]
    assert isinstance(started, RunStarted) and started.steps_per_epoch == 130 // 64  # 130 images, batch 64


@pytest.mark.parametrize("zero_init", [True, False])
def test_the_trainer_leaves_zero_init_to_the_model(tiny_spec: NetSpec, fast: ProxyConfig,
                                                   monkeypatch: pytest.MonkeyPatch, zero_init: bool) -> None:
    calls: list[Net] = []
    original = Net.zero_init

    def spy(self: Net) -> None:
        calls.append(self)
        original(self)

    monkeypatch.setattr(Net, "zero_init", spy)
    train_proxy(tiny_spec, "synthetic", dataclasses.replace(fast, epochs=1, zero_init=zero_init))
    assert len(calls) == (1 if zero_init else 0)


def test_threads_and_devices() -> None:  # conftest's autouse fixture puts the thread count back
    assert set_threads(1) == 1 and torch.get_num_threads() == 1
    assert runtime.ensure_threads(None, 1) == 1  # a worker's earlier choice survives auto
    assert set_threads(None, workers=runtime.available_cores()) == 1
    with pytest.raises(UsageError, match="threads"):
        set_threads(0)
    assert runtime.resolve_device("cpu").type == "cpu"
    assert runtime.resolve_device("auto").type in {"cpu", "cuda", "mps"}
    with pytest.raises(UsageError, match="auto, cpu, cuda, cuda:N or mps"):
        runtime.resolve_device("tpu")
    if not torch.cuda.is_available():
        with pytest.raises(UsageError, match="no CUDA"):
            runtime.resolve_device("cuda:0")


@pytest.mark.parametrize("epochs, points, expected", [
    (20, 5, (4, 8, 12, 16, 20)), (10, 5, (2, 4, 6, 8, 10)), (6, 5, (1, 2, 4, 5, 6)), (3, 5, (1, 2, 3)),
    (7, 0, (1, 2, 3, 4, 5, 6, 7)), (4, 1, (4,)), (1, 3, (1,)),
])
def test_evaluated_epochs_are_evenly_spaced_and_end_with_the_last(epochs: int, points: int,
                                                                  expected: tuple[int, ...]) -> None:
    assert proxy.evaluated_epochs(epochs, points) == expected


def test_fewer_curve_points_give_the_same_result_and_a_thinner_curve(tiny_spec: NetSpec, fast: ProxyConfig) -> None:
    seen: list[tuple[int, float]] = []
    every = train_proxy(tiny_spec, "synthetic", dataclasses.replace(fast, epochs=4, curve_points=0), seed=2)
    thin = train_proxy(tiny_spec, "synthetic", dataclasses.replace(fast, epochs=4, curve_points=2), seed=2,
                       on_epoch=lambda e, a: seen.append((e, a)))
    # validation never touches the weights or the random streams: the last epoch's numbers are identical
    assert (thin.accuracy, thin.loss, thin.val_loss, thin.loss_history) == (
        every.accuracy, every.loss, every.val_loss, every.loss_history)
    assert thin.epochs_run == every.epochs_run == 4 and every.history_epochs == ()
    assert thin.history_epochs == (2, 4) and thin.history == (every.history[1], every.history[3])
    assert seen == list(thin.curve) == [(2, every.history[1]), (4, every.history[3])]
    assert every.curve == tuple(enumerate(every.history, start=1))
    assert ProxyResult.from_dict(json.loads(json.dumps(thin.to_dict()))) == thin
    assert "history_epochs" not in every.to_dict()  # a record of every epoch reads as it always has
    with pytest.raises(UsageError, match="curve_points"):
        ProxyConfig(curve_points=-1)
