"""`scalesearch train`: one proxy training run of a (scaled) baseline, with a progress bar and a result table."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Annotated, Any

import typer
from rich.progress import BarColumn, Progress, TextColumn, TimeElapsedColumn

from scalesearch.cli.output import console, err_console, fmt_int, print_json, save_file, save_text, table
from scalesearch.train import ProxyConfig, load_data, proxy_spec, resolve_device, train_proxy
from scalesearch.train.events import EpochDone, ProgressEvent, RunStarted, StepDone

from .network import multipliers, resolve_network
from .options import (
    DEFAULT_BASELINE,
    DEFAULT_OPTIMIZER,
    DEFAULT_POLICY,
    OUTPUT,
    PROXY,
    PROXY_DEFAULTS as _D,
    Alpha,
    Baseline,
    BaseResolution,
    BatchSize,
    Beta,
    Data,
    Depth,
    Device,
    Epochs,
    Gamma,
    ImageSize,
    Json,
    LearningRate,
    Optimizer,
    Phi,
    Policy,
    ProxyWidth,
    Resolution,
    TrainSubset,
    ValSubset,
    WeightDecay,
    Width,
)

# One run at the proxy defaults (3 epochs) is tuned for the full digits; the search's default task
# (digits-300) needs the longer trainings of its rungs.
TRAIN_DATA = "digits"


def train(
    baseline: Baseline = DEFAULT_BASELINE,
    depth: Depth = None, width: Width = None, resolution: Resolution = None,
    alpha: Alpha = None, beta: Beta = None, gamma: Gamma = None, phi: Phi = None,
    image_size: ImageSize = None, policy: Policy = DEFAULT_POLICY,
    data: Data = TRAIN_DATA,
    cache_size: Annotated[int | None, typer.Option(
        "--cache-size", help="Pixels images are stored at after decoding (imagefolder default 80; others keep "
        "their native size).", rich_help_panel=PROXY)] = None,
    epochs: Epochs = _D.epochs,
    batch_size: BatchSize = _D.batch_size,
    base_resolution: BaseResolution = _D.base_resolution,
    proxy_width: ProxyWidth = _D.proxy_width,
    train_subset: TrainSubset = _D.train_subset,
    val_subset: ValSubset = _D.val_subset,
    optimizer: Optimizer = DEFAULT_OPTIMIZER,
    lr: LearningRate = _D.lr,
    weight_decay: WeightDecay = _D.weight_decay,
    label_smoothing: Annotated[float, typer.Option(
        "--label-smoothing", help="Label smoothing of the training loss.", rich_help_panel=PROXY,
    )] = _D.label_smoothing,
    warmup_epochs: Annotated[float, typer.Option(
        "--warmup-epochs", help="Linear warmup, then cosine.", rich_help_panel=PROXY)] = _D.warmup_epochs,
    bn_recalibration: Annotated[int, typer.Option(
        "--bn-recalibration", help="Training images to recompute BatchNorm statistics over before each evaluation "
        "(0: off).", rich_help_panel=PROXY)] = _D.bn_recalibration,
    augment: Annotated[bool, typer.Option(
        "--augment/--no-augment", help="Random crop and (where labels allow) horizontal flip, in whole batches on "
        "the device.", rich_help_panel=PROXY)] = _D.augment,
    compile_: Annotated[bool, typer.Option(
        "--compile/--no-compile", help="torch.compile the proxy (recompiles for every new architecture).",
        rich_help_panel=PROXY)] = _D.compile,
    device: Device = _D.device,
    threads: Annotated[int | None, typer.Option(
        "--threads", help="Torch threads (default: available cores).", rich_help_panel=PROXY)] = _D.threads,
    seed: Annotated[int, typer.Option(
        "--seed", help="Seeds model init, data order, augmentation, subset.", rich_help_panel=PROXY)] = 0,
    save: Annotated[Path | None, typer.Option(
        "--save", help="Also write the result (as --json prints it) to this .json file.", rich_help_panel=OUTPUT,
        callback=save_file("--save", ".json"))] = None,
    json_out: Json = False,
) -> None:
    """Train a candidate's reduced proxy briefly: validation accuracy, loss, time, images/s, memory.

    The proxy is the candidate at --proxy-width x its width, at --base-resolution x its resolution multiplier.
    Cost for scoring is always measured on the full candidate at its deployment resolution, never on the proxy.
    """
    m = multipliers(depth, width, resolution, alpha, beta, gamma, phi)
    _, net = resolve_network(baseline, m, image_size, policy.value)
    config = ProxyConfig(
        epochs=epochs, batch_size=batch_size, base_resolution=base_resolution, proxy_width=proxy_width,
        train_subset=train_subset, val_subset=val_subset, optimizer=optimizer.value, lr=lr, weight_decay=weight_decay,
        label_smoothing=label_smoothing, warmup_epochs=warmup_epochs, bn_recalibration=bn_recalibration,
        augment=augment, compile=compile_, device=device, threads=threads, curve_points=0,  # one run: every epoch shown
    )
    resolve_device(config.device)  # a bad --device fails before any data is read (--save: as it was parsed)
    dataset = load_data(data, cache_size=cache_size)  # the split never depends on --seed
    for note in dataset.notes:
        err_console.print(f"[yellow]note:[/] {note}", highlight=False, soft_wrap=True)
    proxy = proxy_spec(net, config, dataset)

    columns = [TextColumn("{task.description}"), BarColumn(), TextColumn("{task.fields[status]}"),
               TimeElapsedColumn()]
    with Progress(*columns, console=err_console, transient=True, disable=json_out) as bar:
        task = bar.add_task(f"training {proxy.name} at {proxy.resolution} px", total=None, status="")
        last_acc = ["-"]

        def on_progress(event: ProgressEvent) -> None:
            if isinstance(event, RunStarted):
                bar.update(task, total=event.epochs * event.steps_per_epoch)
            elif isinstance(event, StepDone):
                done = (event.epoch - 1) * event.steps + event.step
                bar.update(task, completed=done, status=f"epoch {event.epoch}/{config.epochs}  loss "
                           f"{event.loss:.3f}  val acc {last_acc[0]}  {event.images_per_second:.0f} img/s")
            elif isinstance(event, EpochDone):
                last_acc[0] = f"{event.val_accuracy:.1%}"

        result = train_proxy(net, dataset, config, seed=seed, progress=on_progress)

    payload = {"network": net.name, "baseline": baseline, "data": dataset.name, "config": _config_dict(config),
               "result": result.to_dict()}
    if json_out:
        print_json(payload)
    else:
        _print_result(net, proxy, config, dataset, result, seed)
    if save is not None:  # after the result is shown: a failed save never loses it
        save_text(save, json.dumps(payload, indent=2) + "\n")


def _print_result(net: Any, proxy: Any, config: Any, dataset: Any, result: Any, seed: int) -> None:
    peak = f"{result.peak_memory_bytes / 2**20:,.0f} MiB ({result.peak_memory_kind.replace('_', ' ')})"
    rows: list[list[Any]] = [
        ["status", result.status + (f": {result.message}" if result.message else "")],
        ["validation top-1", f"{result.accuracy:.2%}"],
        ["per epoch", "  ".join(f"{a:.1%}" if len(result.history_epochs) == 0 else f"{e}: {a:.1%}"
                                for e, a in result.curve) or "-"],
        ["train loss / val loss", f"{result.loss:.4f} / {result.val_loss:.4f}"],
        ["proxy network", f"{proxy.name}: width x{config.proxy_width:g}, {result.proxy_resolution} px, "
                          f"{fmt_int(result.proxy_params)} params"],
        ["data", dataset.describe()],
        ["epochs run", f"{result.epochs_run} of {config.epochs}, batch {config.batch_size}, seed {seed}"],
        ["wall time", f"{result.seconds:.1f} s"],
        ["training speed", f"{result.images_per_second:,.0f} images/s"],
        ["peak memory", peak],
        ["device", f"{result.device}, {result.threads} thread(s)"],
    ]
    console.print(table(f"proxy training of {net.name}", ["", "value"], rows, wrap=["value"],
                        caption="Accuracy of the reduced proxy only. Cost for scoring is measured on the full "
                        f"candidate at its deployment resolution ({net.resolution} px), never on the proxy."))


def _config_dict(config: ProxyConfig) -> dict[str, Any]:
    from dataclasses import asdict

    out = asdict(config)
    out["lr"], out["weight_decay"] = config.learning_rate, config.decay
    return out
