"""Score a candidate network by a short proxy training run.

The trained network is the candidate at a reduced width (``proxy_width``, as in reduced-setting proxies)
and at proxy resolution = the data source's base resolution x the candidate's resolution multiplier; depth
is untouched. Cost (FLOPs, parameters, latency) for scoring is never taken from this proxy: it is measured
on the full candidate at its deployment resolution.

Defaults (docs/training.md, 'The proxy-design study'): digits at a 32 px base, proxy width 0.25, 3 epochs,
batch 128, SGD Nesterov at lr 0.1 with warmup and cosine decay, label smoothing 0.1, and BN recalibration
over 512 images. In that study (2-core CPU) this setting ran 10.6 s per candidate and spread 79-94.5% over
eight phi=1 candidates (neither chance nor saturation) with a seed std of 2.0 points. Nine epochs saturate
(96-98%) and hide the differences the search needs to see.
"""

from __future__ import annotations

import dataclasses
import math
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import torch

from scalesearch.core import limits
from scalesearch.core.builderspec import AnySpec
from scalesearch.core.errors import UsageError
from scalesearch.core.runs import ProxyResult, RunStatus
from scalesearch.core.settings import runtime_setting, study_setting
from scalesearch.nn.build import build
from scalesearch.nn.builder import scale_network
from scalesearch.train import loop, runtime
from scalesearch.train.datasets import VAL_SUBSET_SEED, Dataset, stratified_subset
from scalesearch.train.events import EpochDone, ProgressEvent, RunStarted, StepDone
from scalesearch.train.load import load_data
from scalesearch.train.runtime import set_threads

__all__ = ["ProxyConfig", "ProxyResult", "evaluated_epochs", "proxy_spec", "set_threads", "train_proxy",
           "training_images"]

# Validations per run: 5 points draw a learning curve; evaluating after each of a default search's 20-epoch runs
# cost 22% of it (evaluated_epochs).
CURVE_POINTS = 5
OPTIMIZERS = {"sgd": (0.1, 5e-4), "adamw": (2e-3, 0.05)}  # name: (default lr, default weight decay)


@dataclass(frozen=True)
class ProxyConfig:
    """How a candidate is trained. ``lr`` and ``weight_decay`` of None take the optimizer's default
    (sgd: 0.1 and 5e-4; adamw: 2e-3 and 0.05). Each field is marked: a study setting changes the trained result
    (it enters a study's fingerprint and the proxy-run cache's scope), a runtime one only where it runs."""

    epochs: int = study_setting(3)
    batch_size: int = study_setting(128)
    base_resolution: int | None = study_setting(None)  # None: the data source's documented base
    proxy_width: float = study_setting(0.25)  # multiplier on top of the candidate's width
    train_subset: int | None = study_setting(None)  # None: every training image; a seeded choice per seed index
    val_subset: int | None = study_setting(None)  # None: every validation image; one fixed stratified choice
    optimizer: str = study_setting("sgd")
    lr: float | None = study_setting(None)
    weight_decay: float | None = study_setting(None)
    momentum: float = study_setting(0.9)
    label_smoothing: float = study_setting(0.1)
    warmup_epochs: float = study_setting(0.5)
    zero_init: bool = study_setting(True)  # residual branches and classifier start at zero (nn.Net.zero_init: why)
    augment: bool = study_setting(True)  # random crop (zero padding of 1/8 of the side) and, where labels allow, flips
    bn_recalibration: int = study_setting(512)  # images to recompute BN statistics over before each eval; 0: off
    compile: bool = runtime_setting(False)  # torch.compile recompiles for every new architecture: rarely worth it
    device: str = runtime_setting("auto")
    threads: int | None = runtime_setting(None)  # None: cores // workers, or what set_threads() already chose
    workers: int = runtime_setting(1)  # training processes sharing this machine's cores
    eval_batch_size: int = runtime_setting(512)
    # validation after this many evenly spaced epochs, the last always (0: every epoch). The last epoch's
    # accuracy, the run's result, is the same either way; only the learning curve is sparser (evaluated_epochs).
    curve_points: int = runtime_setting(CURVE_POINTS)

    def __post_init__(self) -> None:
        def need(name: str, ok: bool, what: str) -> None:
            if not ok:
                raise UsageError(f"proxy {name} = {getattr(self, name)!r}: {what}")

        def is_int(v: Any) -> bool:
            return isinstance(v, int) and not isinstance(v, bool)

        def is_num(v: Any) -> bool:
            return isinstance(v, (int, float)) and not isinstance(v, bool) and math.isfinite(v)

        need("epochs", is_int(self.epochs) and self.epochs >= 1, "must be an integer >= 1")
        need("batch_size", is_int(self.batch_size) and self.batch_size >= 2, "must be an integer >= 2 (BatchNorm)")
        need("base_resolution", self.base_resolution is None or (is_int(self.base_resolution)
             and self.base_resolution >= 8), "must be an integer number of pixels >= 8")
        need("proxy_width", is_num(self.proxy_width) and 0 < self.proxy_width <= 4, "must lie in (0, 4]")
        for name in ("train_subset", "val_subset"):  # too few for the data's classes: Dataset.check_subsets
            value = getattr(self, name)
            need(name, value is None or (is_int(value) and value >= 0), "must be a whole number of images (or None "
                 "for all)")
        need("optimizer", self.optimizer in OPTIMIZERS, f"must be one of {', '.join(OPTIMIZERS)}")
        need("lr", self.lr is None or (is_num(self.lr) and self.lr > 0), "must be a positive number")
        need("weight_decay", self.weight_decay is None or (is_num(self.weight_decay) and self.weight_decay >= 0),
             "must be a number >= 0")
        need("momentum", is_num(self.momentum) and 0 <= self.momentum < 1, "must lie in [0, 1)")
        need("label_smoothing", is_num(self.label_smoothing) and 0 <= self.label_smoothing < 1, "must lie in [0, 1)")
        need("warmup_epochs", is_num(self.warmup_epochs) and 0 <= self.warmup_epochs <= self.epochs,
             f"must lie in [0, epochs={self.epochs}]")
        need("zero_init", isinstance(self.zero_init, bool), "must be true or false")
        need("augment", isinstance(self.augment, bool), "must be true or false")
        need("compile", isinstance(self.compile, bool), "must be true or false")
        need("bn_recalibration", is_int(self.bn_recalibration) and self.bn_recalibration >= 0,
             "must be an integer >= 0")
        need("threads", self.threads is None or (is_int(self.threads) and self.threads >= 1), "must be >= 1")
        need("workers", is_int(self.workers) and self.workers >= 1, "must be an integer >= 1")
        need("eval_batch_size", is_int(self.eval_batch_size) and self.eval_batch_size >= 1, "must be >= 1")
        need("curve_points", is_int(self.curve_points) and self.curve_points >= 0,
             "must be an integer >= 0 (0: every epoch)")
        need("device", isinstance(self.device, str) and bool(self.device), f"use {runtime.DEVICE_FORMS}")

    @property
    def learning_rate(self) -> float:
        return self.lr if self.lr is not None else OPTIMIZERS[self.optimizer][0]

    @property
    def decay(self) -> float:
        return self.weight_decay if self.weight_decay is not None else OPTIMIZERS[self.optimizer][1]


def evaluated_epochs(epochs: int, points: int) -> tuple[int, ...]:
    """The 1-based epochs after which a run of ``epochs`` measures validation accuracy with ``points`` curve
    points: evenly spaced, the last epoch always; every epoch when ``points`` is 0 or at least ``epochs``.

    Evaluation (BatchNorm recalibration over up to 512 training images, then every validation image) cost 22%
    of a 20-epoch default-task run (4.3 of 19.7 s, docs/training.md, 'The loop'); it never changes the weights
    or the random streams, so the final accuracy does not depend on how often it runs."""
    if points <= 0 or points >= epochs:
        return tuple(range(1, epochs + 1))
    return tuple(sorted({max(1, round(k * epochs / points)) for k in range(1, points + 1)}))


def training_images(config: ProxyConfig, data: Dataset) -> int:
    """Training images one run of ``config`` sees per epoch: its subset, or every training image."""
    n = len(data.train_y)
    return n if config.train_subset is None else min(config.train_subset, n)


@dataclass
class _Outcome:
    """What a run has produced so far. ProxyResult is frozen, so the loop fills this in as it goes (a run cut
    short by OOM, divergence or pruning keeps what it got to) and ``train_proxy`` freezes it at the end."""

    status: RunStatus = RunStatus.OK
    accuracy: float = 0.0
    loss: float = math.nan
    val_loss: float = math.nan
    history: list[float] = field(default_factory=list)
    history_epochs: list[int] = field(default_factory=list)
    loss_history: list[float] = field(default_factory=list)
    epochs_run: int = 0
    images_per_second: float = 0.0
    proxy_params: int = 0
    message: str = ""


def proxy_spec(spec: AnySpec, config: ProxyConfig, data: Dataset,
               resolution_multiplier: float | None = None) -> AnySpec:
    """The network a proxy run trains: ``spec`` at ``config.proxy_width`` more width (depth unchanged), at
    round(base resolution x r) px, with the data's classes. ``r`` is ``resolution_multiplier``, else the
    candidate's achieved resolution multiplier, else 1. Pure: equal inputs give equal architecture keys."""
    if resolution_multiplier is None:
        r = spec.scaling.resolution_achieved if spec.scaling is not None else 1.0
    else:
        r = resolution_multiplier
    if isinstance(r, bool) or not isinstance(r, (int, float)) or not math.isfinite(r) or r <= 0:
        raise UsageError(f"resolution multiplier = {r!r}: must be a positive number")
    base = config.base_resolution or data.base_resolution
    pixels = max(8, int(round(base * r)))
    policy = spec.scaling.policy if spec.scaling is not None else "efficientnet"
    # A builder's network: the builder is asked for proxy_width x the candidate's width (scale_network).
    scaled = scale_network(spec, width=config.proxy_width, policy=policy, image_size=pixels, name=f"{spec.name}-proxy",
                           num_classes=data.num_classes)
    # Keep the candidate's own scaling record (what it was derived from); the key ignores it anyway.
    return dataclasses.replace(scaled, scaling=spec.scaling)


def train_proxy(
    spec: AnySpec,
    data: Dataset | str,
    config: ProxyConfig = ProxyConfig(),
    *,
    seed: int = 0,
    resolution_multiplier: float | None = None,
    on_epoch: Callable[[int, float], bool | None] | None = None,
    progress: Callable[[ProgressEvent], None] | None = None,
) -> ProxyResult:
    """Train the proxy of ``spec`` on ``data`` and return its validation accuracy and run statistics.

    ``on_epoch(epoch, val_accuracy)`` runs after every evaluated epoch (1-based; every epoch unless
    ``config.curve_points`` thins them: ``evaluated_epochs``); returning True stops the run with
    status PRUNED. ``progress`` receives the events of scalesearch.train.events (RunStarted, StepDone,
    EpochDone). Divergence (a NaN/Inf loss) and out-of-memory end the run with status DIVERGED / OOM;
    neither raises. A proxy beyond the memory limits (scalesearch.core.limits: activation elements x batch, x3
    for training) is refused with a SpecError before anything is built. Same seed and same thread count
    give identical results on CPU.
    """
    start = time.perf_counter()
    if isinstance(data, str):
        data = load_data(data)  # split seed 0 for every run: seeds vary the training, never the validation set
    device = runtime.resolve_device(config.device)
    threads = runtime.ensure_threads(config.threads, config.workers)
    pspec = proxy_spec(spec, config, data, resolution_multiplier)
    # A proxy beyond the memory limits is refused in one line before anything is allocated.
    limits.check_memory(pspec, config.batch_size, training=True, doing="train")
    limits.check_memory(pspec, config.eval_batch_size, doing="evaluate")
    res = pspec.resolution
    emit = progress or (lambda event: None)
    outcome = _Outcome()
    runtime.reset_peak_memory(device)
    state: dict[str, Any] = {}  # the run's big objects, dropped on OOM before the allocator cache is freed
    oom = ""
    # fork_rng: seeding for reproducibility must not reset the caller's global random state.
    with torch.random.fork_rng(devices=[device] if device.type == "cuda" else []):
        torch.manual_seed(seed)
        try:
            _run(pspec, data, config, seed, device, threads, outcome, state, on_epoch, emit)
        except Exception as exc:
            if not runtime.is_oom(exc):
                raise
            oom = str(exc).splitlines()[0][:160] if str(exc) else type(exc).__name__
    if oom:  # outside the except block, so the traceback (holding the model and batch) is already gone
        state.clear()
        runtime.free_memory(device)
        outcome.status, outcome.accuracy = RunStatus.OOM, 0.0
        outcome.message = f"out of memory at {res} px, batch {config.batch_size} on {device}: {oom}"
    seconds = time.perf_counter() - start
    peak_bytes, peak_kind = runtime.peak_memory(device)
    return ProxyResult(
        status=outcome.status, accuracy=outcome.accuracy, loss=outcome.loss, val_loss=outcome.val_loss,
        history=tuple(outcome.history), loss_history=tuple(outcome.loss_history), epochs_run=outcome.epochs_run,
        history_epochs=() if outcome.history_epochs == list(range(1, len(outcome.history) + 1))
        else tuple(outcome.history_epochs),
        seconds=seconds,
        images_per_second=outcome.images_per_second, peak_memory_bytes=peak_bytes, peak_memory_kind=peak_kind,
        proxy_resolution=res, proxy_width=config.proxy_width, proxy_params=outcome.proxy_params,
        proxy_key=pspec.architecture_key(), device=str(device), threads=threads, seed=seed,
        message=outcome.message,
    )


def _run(pspec: AnySpec, data: Dataset, config: ProxyConfig, seed: int, device: torch.device, threads: int,
         out: _Outcome, state: dict[str, Any], on_epoch: Callable[[int, float], bool | None] | None,
         emit: Callable[[ProgressEvent], None]) -> None:
    g = torch.Generator().manual_seed(seed)  # data order and augmentation; the model uses the global RNG
    res = pspec.resolution
    data.check_subsets(config.train_subset, config.val_subset)
    train_x, train_y = data.train_x, data.train_y
    if config.train_subset is not None and config.train_subset < len(train_y):
        # drawn by the run's seed: every network trained on seed index k sees the same images (paired)
        keep = torch.randperm(len(train_y), generator=g)[: config.train_subset].sort().values
        train_x, train_y = train_x[keep], train_y[keep]
    val_x, val_y = data.val_x, data.val_y
    if config.val_subset is not None and config.val_subset < len(val_y):
        keep = stratified_subset(val_y, config.val_subset, torch.Generator().manual_seed(VAL_SUBSET_SEED))
        val_x, val_y = val_x[keep], val_y[keep]
    nbytes = (len(train_y) + len(val_y)) * 3 * res * res
    on_device = runtime.data_fits(nbytes, device)
    train = state["train"] = loop.DeviceImages(train_x, train_y, res, device, on_device)
    val = state["val"] = loop.DeviceImages(val_x, val_y, res, device, on_device, train.channel_mean,
                                           train.channel_std)
    batch = min(config.batch_size, len(train))
    recal_idx = torch.randperm(len(train), generator=g)[: config.bn_recalibration].to(device)

    model = state["model"] = build(pspec).to(  # type: ignore[call-overload]  # torch's stubs omit memory_format
        device, memory_format=torch.channels_last)
    zero_init = getattr(model, "zero_init", None)  # a builder's module may define one too (docs/builders.md)
    if config.zero_init and callable(zero_init):
        zero_init()
    out.proxy_params = sum(p.numel() for p in model.parameters())
    step_model = torch.compile(model) if config.compile else model
    opt = state["opt"] = loop.make_optimizer(model, config.optimizer, config.learning_rate, config.decay,
                                             config.momentum)
    criterion = torch.nn.CrossEntropyLoss(label_smoothing=config.label_smoothing)
    steps = len(train) // batch
    total, warmup = steps * config.epochs, int(round(config.warmup_epochs * steps))
    pad = max(1, res // 8) if config.augment else 0
    flip = config.augment and data.flip
    sync_every = 1 if device.type == "cpu" else 25  # .item() stalls an accelerator; it is free on CPU
    emit(RunStarted(epochs=config.epochs, steps_per_epoch=steps, batch_size=batch, resolution=res,
                    params=out.proxy_params, device=str(device), threads=threads))

    model.train()
    train_seconds, images_seen, step_no = 0.0, 0, 0
    evaluate_after = set(evaluated_epochs(config.epochs, config.curve_points))
    for epoch in range(1, config.epochs + 1):
        plan = loop.EpochPlan(len(train), batch, pad, flip, g, device)
        loss_sum = torch.zeros((), device=device)
        t0 = time.perf_counter()
        for i in range(steps):
            for group in opt.param_groups:
                group["lr"] = config.learning_rate * loop.lr_factor(step_no, total, warmup)
            x, y = plan.batch(i, train)
            with loop.autocast(device):
                loss = criterion(step_model(x).float(), y)
            opt.zero_grad(set_to_none=True)
            loss.backward()
            opt.step()
            loss_sum += loss.detach()
            step_no += 1
            if (i + 1) % sync_every == 0 or i + 1 == steps:
                value = float(loss.detach())
                if not math.isfinite(value):
                    out.status, out.loss, out.epochs_run = RunStatus.DIVERGED, value, epoch - 1
                    out.message = f"training loss became {value} at epoch {epoch}, step {i + 1}; lower the lr"
                    return
                elapsed = train_seconds + time.perf_counter() - t0
                emit(StepDone(epoch=epoch, step=i + 1, steps=steps, loss=value,
                              images_per_second=(images_seen + (i + 1) * batch) / max(elapsed, 1e-9)))
        if device.type == "cuda":
            torch.cuda.synchronize(device)
        train_seconds += time.perf_counter() - t0
        images_seen += steps * batch
        out.images_per_second = images_seen / max(train_seconds, 1e-9)
        out.loss = float(loss_sum) / steps
        out.loss_history.append(out.loss)
        if epoch not in evaluate_after:
            continue

        if config.bn_recalibration:
            loop.recalibrate_bn(model, train, recal_idx, config.eval_batch_size)
        acc, val_loss = loop.evaluate(model, val, config.eval_batch_size)
        out.accuracy, out.val_loss, out.epochs_run = acc, val_loss, epoch
        out.history.append(acc)
        out.history_epochs.append(epoch)
        if not math.isfinite(val_loss):
            out.status, out.accuracy = RunStatus.DIVERGED, 0.0
            out.message = f"validation loss became {val_loss} after epoch {epoch}; lower the lr"
            return
        emit(EpochDone(epoch=epoch, epochs=config.epochs, loss=out.loss, val_accuracy=acc, val_loss=val_loss,
                       images_per_second=out.images_per_second))
        if on_epoch is not None and on_epoch(epoch, acc) is True:
            out.status = RunStatus.PRUNED
            out.message = f"pruned after epoch {epoch} at {acc:.1%}"
            return
