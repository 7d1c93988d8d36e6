"""`scalesearch compare`: the paper's Table 3 on your data: depth-only, width-only, resolution-only, the
compound coefficients and the reference strategies at one measured FLOPs target, trained on paired seeds,
with the verdict whether compound beats every single dimension by more than the noise."""

from __future__ import annotations

import time
from pathlib import Path
from typing import Annotated, Any

import typer
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

from scalesearch import compare as lib
from scalesearch.cli.output import check_writable_dir, console, err_console, fmt_short, out_dir, print_json, table
from scalesearch.core.builderspec import BuilderSpec
from scalesearch.core.errors import UsageError
from scalesearch.core.scaling import policy as get_policy
from scalesearch.nn import resolve_baseline
from scalesearch.search.config import DEFAULT_BATCH
from scalesearch.train import DEFAULT_DATA, ProxyConfig, load_data, resolve_device

from .options import (
    BASELINE_HELP,
    DATA_HELP,
    DEFAULT_BASELINE,
    DEFAULT_OPTIMIZER,
    OUTPUT,
    POLICY_HELP,
    PROXY,
    PROXY_DEFAULTS as _D,
    BaseResolution,
    BatchSize,
    Device,
    Json,
    LearningRate,
    Optimizer,
    PolicyName,
    ProxyWidth,
    TrainSubset,
    ValSubset,
    WeightDecay,
)

TARGET = "Strategies and target"
# Proxy settings a study provides with --from (its own, at its final rung) unless given on the command line.
STUDY_PROXY = ("batch_size", "base_resolution", "proxy_width", "train_subset", "val_subset", "optimizer", "lr",
               "weight_decay")


def _references(text: str) -> tuple[str, ...]:
    value = text.strip().lower()
    if value == "all":
        return tuple(lib.REFERENCES)
    if value in ("none", ""):
        return ()
    return tuple(part.strip() for part in value.split(",") if part.strip())


def compare(
    ctx: typer.Context,
    from_: Annotated[Path | None, typer.Option(
        "--from", help="A finished grid study folder: its baseline, recommended alpha, beta, gamma, rounding, data "
        "and proxy settings (final rung's epochs and seeds).", rich_help_panel=TARGET)] = None,
    phi: Annotated[float, typer.Option(
        "--phi", help="Target = the baseline's measured multiply-adds x 2^phi.", rich_help_panel=TARGET)] = 2.0,
    baseline: Annotated[str | None, typer.Option(
        "--baseline", "-b", help=f"{BASELINE_HELP} (default: {DEFAULT_BASELINE}, or the study's with --from)",
        rich_help_panel=TARGET)] = None,
    image_size: Annotated[int | None, typer.Option(
        "--image-size", help="A builder baseline's input size in pixels (default: the builder's image_size "
        "attribute).", rich_help_panel=TARGET)] = None,
    alpha: Annotated[float | None, typer.Option("--alpha", help="Compound depth coefficient (without --from).",
                                                rich_help_panel=TARGET)] = None,
    beta: Annotated[float | None, typer.Option("--beta", help="Compound width coefficient (without --from).",
                                               rich_help_panel=TARGET)] = None,
    gamma: Annotated[float | None, typer.Option("--gamma", help="Compound resolution coefficient (without --from).",
                                                rich_help_panel=TARGET)] = None,
    policy: Annotated[PolicyName | None, typer.Option(
        "--policy", metavar="<name>", help=f"{POLICY_HELP} (default: efficientnet, or the study's)",
        rich_help_panel=TARGET)] = None,
    tolerance: Annotated[float, typer.Option(
        "--tolerance", help="Each row's measured multiply-adds must lie within this fraction of the target.",
        rich_help_panel=TARGET)] = lib.DEFAULT_TOLERANCE,
    references: Annotated[str, typer.Option(
        "--references", metavar="all|none|NAME,...",
        help=f"Reference strategies given a row beside the single dimensions and compound ({', '.join(lib.REFERENCES)}"
        "; each costs a row of training).", rich_help_panel=TARGET)] = "all",
    phi_step: Annotated[float, typer.Option(
        "--phi-step", help="Resolution of each strategy's solved phi (bisection on the rounded network).",
        rich_help_panel=TARGET)] = 0.01,
    data: Annotated[str | None, typer.Option(
        "--data", help=DATA_HELP + " (default: digits-300, or the study's).", rich_help_panel=PROXY)] = None,
    epochs: Annotated[int | None, typer.Option(
        "--epochs", help=f"Proxy training epochs (default: {lib.DEFAULT_EPOCHS}, the grid's final rung, or the "
        "study's).", rich_help_panel=PROXY)] = None,
    seeds: Annotated[int | None, typer.Option(
        "--seeds", help=f"Seeds per row, the same for every row (paired); 2+ measure the noise (default: "
        f"{lib.DEFAULT_SEEDS}, or the study's final rung's if more).", rich_help_panel=PROXY)] = None,
    cache_size: Annotated[int | None, typer.Option(
        "--cache-size", help="Pixels images are stored at after decoding (imagefolder default 80).",
        rich_help_panel=PROXY)] = None,
    batch_size: BatchSize = DEFAULT_BATCH, base_resolution: BaseResolution = _D.base_resolution,
    proxy_width: ProxyWidth = _D.proxy_width, train_subset: TrainSubset = _D.train_subset,
    val_subset: ValSubset = _D.val_subset,
    optimizer: Optimizer = DEFAULT_OPTIMIZER, lr: LearningRate = _D.lr, weight_decay: WeightDecay = _D.weight_decay,
    device: Device = _D.device,
    threads: Annotated[int | None, typer.Option(
        "--threads", help="Torch threads (default: available cores).", rich_help_panel=PROXY)] = _D.threads,
    out: Annotated[Path | None, typer.Option(
        "--out", help="Folder for compare.csv, compare.json and compare.png (default: results/compare, or the "
        "study folder's compare/ with --from).", rich_help_panel=OUTPUT, callback=out_dir("--out"))] = None,
    json_out: Json = False,
) -> None:
    """Compound scaling against scaling one dimension at the same measured FLOPs (the paper's Table 3), trained
    on your data with paired seeds; a rerun resumes from the proxy-run cache."""
    base, coefficients, pol, settings, source = _inputs(from_, baseline, alpha, beta, gamma, policy, image_size)
    proxy, study_seeds = lib.study_proxy(settings, epochs) if settings else (None, None)
    given = {name: _typed(ctx, name) for name in STUDY_PROXY}
    values: dict[str, Any] = {  # ProxyConfig's keywords
        "batch_size": batch_size, "base_resolution": base_resolution, "proxy_width": proxy_width,
        "train_subset": train_subset, "val_subset": val_subset, "optimizer": optimizer.value,
        "lr": lr, "weight_decay": weight_decay}
    if proxy is not None:  # the study's settings, overridden only by what was typed
        values = {k: v if given[k] else getattr(proxy, k) for k, v in values.items()}
    config = lib.CompareConfig(
        data=data or settings.get("data") or DEFAULT_DATA,
        proxy=ProxyConfig(epochs=epochs or (proxy.epochs if proxy else lib.DEFAULT_EPOCHS), device=device,
                          threads=threads, **values),
        seeds=seeds if seeds is not None else max(study_seeds or 0, lib.DEFAULT_SEEDS), tolerance=tolerance,
        cache_size=cache_size, phi_resolution=phi_step, references=_references(references))
    folder = out or (from_ / "compare" if from_ is not None and from_.is_dir() else Path("results") / "compare")
    check_writable_dir(folder, "--out", files=list(lib.FILES.values()))  # before any counting or training
    resolve_device(config.proxy.device)  # a bad --device fails before any counting

    start = time.perf_counter()
    plain = not json_out and not err_console.is_terminal  # a CI log or a file: one line per strategy instead

    def solving(model: str) -> None:
        text = f"solving {model}'s multiplier on the rounded network"
        if plain:
            err_console.print(text, highlight=False, markup=False)
        bar.update(task, description=text)

    with Progress(TextColumn("{task.description}"), console=err_console, transient=True,
                  disable=json_out or plain) as bar:
        task = bar.add_task("solving each strategy's multiplier for the target", total=None)
        base_cost, planned = lib.match_models(base, coefficients, phi, config, policy=pol, progress=solving)
    dataset = load_data(config.data, cache_size=config.cache_size)
    for note in dataset.notes:
        err_console.print(f"[yellow]note:[/] {note}", highlight=False, soft_wrap=True)
    todo = lib.pending(planned, dataset, config)
    runs = len(planned) * config.seeds
    if todo:
        seconds = lib.estimate_seconds(planned, dataset, config, todo)
        each = f"{config.proxy.epochs} epoch{'s' * (config.proxy.epochs != 1)}"
        err_console.print(f"{len(todo)} proxy run(s) to train, {each} each (the rest of the {runs} rows x seeds "
                          "are in the cache or shared by rows that build the same network); training steps about "
                          f"{_duration(seconds)} on {lib.device_description(config.proxy)}, timed per network, plus "
                          "a few seconds per run to build and evaluate. Ctrl-C keeps finished runs; rerun to resume.",
                          highlight=False, soft_wrap=True)
    else:
        err_console.print(f"all {runs} proxy runs are in the cache: nothing to train", highlight=False)

    results, trained = _train(planned, dataset, config, json_out)
    result = lib.judge(base, coefficients, phi, config, base_cost, planned, results, policy=pol, source=source,
                       seconds=time.perf_counter() - start, trained=trained)
    try:
        paths = lib.write_files(result, folder)
    except OSError as exc:
        raise UsageError(f"--out {folder}: cannot write ({exc.strerror or exc})") from None
    if json_out:
        print_json({**result.to_dict(), "files": {k: str(v) for k, v in paths.items()}})
        return
    _print(result, paths)


def _typed(ctx: typer.Context, name: str) -> bool:
    """Whether option ``name`` was given on the command line (not its default). Compared by name: Typer bundles
    its own click, whose ParameterSource enum is not importable as ``click``."""
    source = ctx.get_parameter_source(name)
    return source is not None and source.name == "COMMANDLINE"


def _inputs(from_: Path | None, baseline: str | None, alpha: float | None, beta: float | None, gamma: float | None,
            policy: PolicyName | None, image_size: int | None = None
            ) -> tuple[Any, tuple[float, float, float], str, dict[str, Any], str]:
    """(baseline spec, compound coefficients, rounding policy, the study's settings or {}, source). A builder is
    imported here (a study's too, from the path it recorded)."""

    def load_baseline(name: str) -> Any:
        return resolve_baseline(name, image_size)

    given = [flag for flag, v in (("--alpha", alpha), ("--beta", beta), ("--gamma", gamma)) if v is not None]
    if from_ is not None:
        if given:
            raise UsageError(f"{given[0]} conflicts with --from, which provides alpha, beta and gamma")
        base, coefficients, study_policy, settings = lib.study_inputs(from_)
        if baseline is None and image_size is not None:
            raise UsageError("--image-size with --from: the study's baseline has its size; give --baseline too")
        if baseline is not None:
            base = load_baseline(baseline)
        return base, coefficients, get_policy(policy.value if policy else study_policy).name, settings, str(from_)
    if len(given) < 3:
        missing = [f for f in ("--alpha", "--beta", "--gamma") if f not in given]
        raise UsageError(f"{', '.join(missing)} missing: give --from a study, or --alpha, --beta and --gamma")
    assert alpha is not None and beta is not None and gamma is not None  # all three given (checked above)
    for flag, v in (("--alpha", alpha), ("--beta", beta), ("--gamma", gamma)):
        if not v >= 1:
            raise UsageError(f"{flag} {v:g}: compound coefficients are >= 1 (the paper's constraint)")
    pol = get_policy(policy.value if policy else "efficientnet").name
    return load_baseline(baseline or DEFAULT_BASELINE), (alpha, beta, gamma), pol, {}, "given"


def _train(planned: list[lib.Planned], dataset: Any, config: lib.CompareConfig,
           quiet: bool) -> tuple[dict[str, dict[int, Any]], int]:
    trained = [0]
    columns = [TextColumn("{task.description}"), BarColumn(), MofNCompleteColumn(), TimeElapsedColumn()]
    plain = not quiet and not err_console.is_terminal  # a CI log: one line per finished run, no bar
    with Progress(*columns, console=err_console, transient=True, disable=quiet or plain) as bar:
        task = bar.add_task("proxy runs", total=len(planned) * config.seeds)

        def on_step(step: lib.Step) -> None:
            if step.result is None:
                bar.update(task, description=f"training {step.model} seed {step.seed}")
                return
            trained[0] += not step.cached
            bar.update(task, completed=step.done)
            if plain and not step.cached:
                err_console.print(f"[{step.done}/{step.total}] {step.model} seed {step.seed}: {step.result.status} "
                                  f"{step.result.accuracy:.1%}", highlight=False, markup=False)

        try:
            results = lib.train_rows(planned, dataset, config, progress=on_step)
        except KeyboardInterrupt:
            bar.stop()
            err_console.print(f"interrupted: {trained[0]} finished run(s) kept in the proxy-run cache; rerun the "
                              "same command to resume", highlight=False)
            raise typer.Exit(130) from None
    return results, trained[0]


def _duration(seconds: float) -> str:
    if seconds < 90:
        return f"{seconds:.0f} s"
    if seconds < 5400:
        return f"{seconds / 60:.0f} min"
    return f"{seconds / 3600:.1f} h"


def _pct(x: float | None) -> str:
    return "-" if x is None else f"{x:.1%}"


def _print(result: lib.Comparison, paths: dict[str, Path]) -> None:
    rows = []
    for r in result.rows:
        d = r.to_dict()
        acc = _pct(r.mean) + (f" ± {_pct(r.std)}" if r.std is not None else "")
        rows.append([d["model"], f"{d['d']:.2f}", f"{d['w']:.2f}", f"{d['r']:.2f}", d["resolution_px"],
                     fmt_short(d["flops"], 2), f"{d['flops_ratio_to_target']:.3f}x", fmt_short(d["params"], 2),
                     acc, f"{d['strategy_phi']:g}"])
    c = result.config
    a, b, g = result.coefficients
    console.print(table(
        f"{result.baseline.name} at phi {result.phi:g}: target {fmt_short(result.target_flops, 2)} multiply-adds "
        f"(baseline x {2 ** result.phi:.2f})",
        ["model", "d", "w", "r", "px", "FLOPs (multiply-adds)", "/ target", "params", "accuracy", "phi"],
        rows,
        caption=f"d, w, r: achieved multipliers of the rounded network ({_measured_as(result.baseline)}) vs the "
        f"baseline; FLOPs measured ({c.counter}) within {c.tolerance:.0%} of the target; compound = alpha, beta, "
        f"gamma = {a:g}, {b:g}, {g:g}; phi: each strategy's solved phi. Accuracy: proxy validation top-1, mean ± "
        f"seed std over {c.seeds} paired seed(s), {c.proxy.epochs} epoch(s) on {c.data}.",
        keep=["model", "d", "w", "r", "FLOPs (multiply-adds)", "accuracy"], prefer=["/ target", "params"],
        more=str(paths["csv"]),
    ))
    for line in result.verdict.lines():
        console.print(line, highlight=False)  # wrapped at words to the terminal, like the table
    console.print(f"test: {lib.RULE}", highlight=False, style="dim")
    console.print(f"{result.trained} run(s) trained, {len(result.rows) * c.seeds - result.trained} from the cache, "
                  f"{result.seconds:.0f} s on {result.device}", highlight=False)
    console.print("wrote " + ", ".join(str(p) for p in paths.values()), highlight=False, soft_wrap=True)


def _measured_as(base: Any) -> str:
    """What the achieved d, w, r are ratios of: a builder's network is measured on its module."""
    if isinstance(base, BuilderSpec):
        return "conv and linear layers, their mean output channels, pixels: the builder rounds d and w itself"
    return "layers, stage channels, pixels"
