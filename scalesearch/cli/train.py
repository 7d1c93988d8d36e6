"""`scalesearch train`: one proxy training run of a (scaled) baseline, with a progress bar and a result table."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import typer
from rich.progress import BarColumn, Progress, TextColumn, TimeElapsedColumn

from scalesearch.report.console import console, err_console, fmt_int, print_json, table
from scalesearch.train import DEFAULT_DATA, ProxyConfig, load_data, proxy_spec, resolve_device, train_proxy

from .common import (
    AlphaOpt,
    BaselineOpt,
    BetaOpt,
    DepthOpt,
    GammaOpt,
    ImageSizeOpt,
    JsonOpt,
    PhiOpt,
    PolicyOpt,
    ResolutionOpt,
    WidthOpt,
    multipliers,
    resolve_network,
)

_D = ProxyConfig()  # the defaults shown in --help come from the library, never restated here


def train(
    baseline: str = BaselineOpt,
    depth: float | None = DepthOpt, width: float | None = WidthOpt, resolution: float | None = ResolutionOpt,
    alpha: float | None = AlphaOpt, beta: float | None = BetaOpt, gamma: float | None = GammaOpt,
    phi: float | None = PhiOpt, image_size: int | None = ImageSizeOpt, policy: str = PolicyOpt,
    data: str = typer.Option(DEFAULT_DATA, "--data", help="digits (embedded, default), synthetic, cifar10:DIR, "
                             "cifar100:DIR or imagefolder:DIR."),
    cache_size: int | None = typer.Option(None, "--cache-size", help="Pixels images are stored at after decoding "
                                          "(imagefolder default 80; others keep their native size)."),
    epochs: int = typer.Option(_D.epochs, "--epochs", help="Proxy training epochs."),
    batch_size: int = typer.Option(_D.batch_size, "--batch-size", help="Training batch size."),
    base_resolution: int | None = typer.Option(None, "--base-resolution", help="Proxy base resolution in px; the "
                                               "candidate trains at base x its resolution multiplier "
                                               "(default: the data's: 32 for digits, CIFAR and synthetic, "
                                               "64 for imagefolder)."),
    proxy_width: float = typer.Option(_D.proxy_width, "--proxy-width", help="Width multiplier applied on top of "
                                      "the candidate's width for the proxy run."),
    train_subset: int | None = typer.Option(None, "--train-subset", help="Train on this many training images "
                                            "(seeded choice; default: all)."),
    optimizer: str = typer.Option(_D.optimizer, "--optimizer", help="sgd (Nesterov momentum) or adamw."),
    lr: float | None = typer.Option(None, "--lr", help="Peak learning rate (default: 0.1 sgd, 2e-3 adamw)."),
    weight_decay: float | None = typer.Option(None, "--weight-decay", help="Weight decay, not on BN or biases "
                                              "(default: 5e-4 sgd, 0.05 adamw)."),
    label_smoothing: float = typer.Option(_D.label_smoothing, "--label-smoothing"),
    warmup_epochs: float = typer.Option(_D.warmup_epochs, "--warmup-epochs", help="Linear warmup, then cosine."),
    bn_recalibration: int = typer.Option(_D.bn_recalibration, "--bn-recalibration", help="Training images to "
                                         "recompute BatchNorm statistics over before each evaluation (0: off)."),
    augment: bool = typer.Option(_D.augment, "--augment/--no-augment", help="Random crop and (where labels "
                                 "allow) horizontal flip, in whole batches on the device."),
    compile_: bool = typer.Option(_D.compile, "--compile/--no-compile", help="torch.compile the proxy "
                                  "(recompiles for every new architecture)."),
    device: str = typer.Option(_D.device, "--device", help="auto (CUDA, then MPS, then CPU), cpu, cuda, cuda:N, mps."),
    threads: int | None = typer.Option(None, "--threads", help="Torch threads (default: available cores)."),
    seed: int = typer.Option(0, "--seed", help="Seeds model init, data order, augmentation, subset."),
    save: Path | None = typer.Option(None, "--save", help="Also write the result (as --json prints it) to this "
                                     ".json file."),
    json_out: bool = JsonOpt,
) -> None:
    """Train a candidate's reduced proxy briefly: validation accuracy, loss, time, images/s, memory.

    The proxy is the candidate at --proxy-width x its width, at --base-resolution x its resolution multiplier.
    Cost for scoring is always measured on the full candidate at its deployment resolution, never on the proxy.
    """
    m = multipliers(depth, width, resolution, alpha, beta, gamma, phi)
    _, net = resolve_network(baseline, m, image_size, policy)
    config = ProxyConfig(
        epochs=epochs, batch_size=batch_size, base_resolution=base_resolution, proxy_width=proxy_width,
        train_subset=train_subset, optimizer=optimizer, lr=lr, weight_decay=weight_decay,
        label_smoothing=label_smoothing, warmup_epochs=warmup_epochs, bn_recalibration=bn_recalibration,
        augment=augment, compile=compile_, device=device, threads=threads,
    )
    resolve_device(config.device)  # a bad --device fails before any data is read
    dataset = load_data(data, cache_size=cache_size)  # the split never depends on --seed
    for note in dataset.notes:
        err_console.print(f"[yellow]note:[/] {note}", highlight=False, soft_wrap=True)
    proxy = proxy_spec(net, config, dataset)

    columns = [TextColumn("{task.description}"), BarColumn(), TextColumn("{task.fields[status]}"),
               TimeElapsedColumn()]
    with Progress(*columns, console=err_console, transient=True, disable=json_out) as bar:
        task = bar.add_task(f"training {proxy.name} at {proxy.resolution} px", total=None, status="")
        last_acc = ["-"]

        def on_progress(event: dict[str, Any]) -> None:
            if event["event"] == "start":
                bar.update(task, total=event["epochs"] * event["steps_per_epoch"])
            elif event["event"] == "step":
                done = (event["epoch"] - 1) * event["steps"] + event["step"]
                bar.update(task, completed=done, status=f"epoch {event['epoch']}/{config.epochs}  loss "
                           f"{event['loss']:.3f}  val acc {last_acc[0]}  {event['images_per_second']:.0f} img/s")
            elif event["event"] == "epoch":
                last_acc[0] = f"{event['val_accuracy']:.1%}"

        result = train_proxy(net, dataset, config, seed=seed, progress=on_progress)

    payload = {"network": net.name, "baseline": baseline, "data": dataset.name, "config": _config_dict(config),
               "result": result.to_dict()}
    if save is not None:
        save.parent.mkdir(parents=True, exist_ok=True)
        save.write_text(json.dumps(payload, indent=2) + "\n")
    if json_out:
        print_json(payload)
        return
    peak = f"{result.peak_memory_bytes / 2**20:,.0f} MiB ({result.peak_memory_kind.replace('_', ' ')})"
    rows: list[list[Any]] = [
        ["status", result.status + (f": {result.message}" if result.message else "")],
        ["validation top-1", f"{result.accuracy:.2%}"],
        ["per epoch", "  ".join(f"{a:.1%}" for a in result.history) or "-"],
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
    console.print(table(f"proxy training of {net.name}", ["", "value"], rows,
                        caption="Accuracy of the reduced proxy only. Cost for scoring is measured on the full "
                        f"candidate at its deployment resolution ({net.resolution} px), never on the proxy."))


def _config_dict(config: ProxyConfig) -> dict[str, Any]:
    from dataclasses import asdict

    out = asdict(config)
    out["lr"], out["weight_decay"] = config.learning_rate, config.decay
    return out
