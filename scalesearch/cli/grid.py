"""`scalesearch grid`: the constrained compound-coefficient search (see scalesearch.search and docs/search.md)."""

from __future__ import annotations

import shlex
import sys
from pathlib import Path

import typer

from scalesearch.report.console import FLOPS_HEADER, console, err_console, print_json, table
from scalesearch.report.study import ranked_table, write_outputs
from scalesearch.search.config import DEFAULT_W, GridConfig
from scalesearch.search.progress import RichDisplay
from scalesearch.search.run import plan, run_grid
from scalesearch.search.space import DEFAULT_ALPHA, DEFAULT_BETA, DEFAULT_GAMMA, DEFAULT_TOLERANCE
from scalesearch.search.storage import redact
from scalesearch.train import DEFAULT_DATA, ProxyConfig
from scalesearch.units import format_size, parse_size

from .common import BaselineOpt, JsonOpt, PolicyOpt

_D = ProxyConfig()
_G = GridConfig()


def _command() -> str:
    return "scalesearch " + shlex.join(sys.argv[1:])


def grid(
    target_flops: str | None = typer.Option(None, "--target-flops", help="Target T of the score, in multiply-adds: "
                                            "400M, 0.4G or 4e8 (default: 2 x the baseline's)."),
    w: float = typer.Option(DEFAULT_W, "--w", help="Score exponent: score = accuracy x (FLOPs / T)^w."),
    baseline: str = BaselineOpt,
    policy: str = PolicyOpt,
    alpha: str = typer.Option(DEFAULT_ALPHA, "--alpha", help="Depth coefficients START:STOP:STEP (or a,b,c)."),
    beta: str = typer.Option(DEFAULT_BETA, "--beta", help="Width coefficients START:STOP:STEP."),
    gamma: str = typer.Option(DEFAULT_GAMMA, "--gamma", help="Resolution coefficients START:STOP:STEP."),
    tolerance: float = typer.Option(DEFAULT_TOLERANCE, "--tolerance", help="Keep alpha*beta^2*gamma^2 within this "
                                    "relative distance of 2 (0.05: [1.9, 2.1])."),
    constraint: str = typer.Option("formula", "--constraint", help="formula (alpha*beta^2*gamma^2) or measured "
                                   "(the built network's FLOPs ratio to the baseline)."),
    data: str = typer.Option(DEFAULT_DATA, "--data", help="digits (embedded, default), synthetic, cifar10:DIR, "
                             "cifar100:DIR or imagefolder:DIR."),
    epochs: int = typer.Option(_D.epochs, "--epochs", help="Proxy training epochs."),
    batch_size: int = typer.Option(_D.batch_size, "--batch-size", help="Proxy training batch size."),
    base_resolution: int | None = typer.Option(None, "--base-resolution", help="Proxy base resolution in px "
                                               "(default: the data's; a candidate trains at base x r)."),
    proxy_width: float = typer.Option(_D.proxy_width, "--proxy-width", help="Proxy width on top of the candidate's."),
    train_subset: int | None = typer.Option(None, "--train-subset", help="Train proxies on this many images."),
    optimizer: str = typer.Option(_D.optimizer, "--optimizer", help="sgd or adamw."),
    lr: float | None = typer.Option(None, "--lr", help="Peak learning rate (default: the optimizer's)."),
    device: str = typer.Option(_D.device, "--device", help="auto, cpu, cuda, cuda:N or mps."),
    seeds: int = typer.Option(_G.seeds, "--seeds", help="Seeds per candidate in the sweep."),
    confirm: int = typer.Option(_G.confirm, "--confirm", help="After the sweep, re-train the leading N networks..."),
    confirm_seeds: int = typer.Option(_G.confirm_seeds, "--confirm-seeds", help="...until each has this many seeds."),
    sampler: str = typer.Option("grid", "--sampler", help="grid (every candidate), tpe or random (--n-trials)."),
    n_trials: int | None = typer.Option(None, "--n-trials", help="Trial budget for tpe/random."),
    pruner: str = typer.Option("none", "--pruner", help="none, median or hyperband (per-epoch val accuracy)."),
    storage: str | None = typer.Option(None, "--storage", help="Optuna RDB URL (postgresql://... to share one study "
                                       "between machines); default: SQLite in the study folder."),
    study: str | None = typer.Option(None, "--study", help="Study name (default: derived from the settings)."),
    out: Path = typer.Option(Path("results"), "--out", help="Output root; files go to OUT/STUDY/."),
    workers: int | None = typer.Option(None, "--workers", help="Local worker processes (default: 2 on a CPU "
                                       "with >= 2 cores, one per GPU when several)."),
    devices: str | None = typer.Option(None, "--devices", help="Devices for workers in turn, e.g. cuda:0,cuda:1."),
    cache: bool = typer.Option(True, "--cache/--no-cache", help="Reuse proxy results of identical runs from "
                               "earlier studies."),
    dedup: bool = typer.Option(True, "--dedup/--no-dedup", hidden=True, help="Train identical proxies once."),
    heartbeat: int = typer.Option(_G.heartbeat_interval, "--heartbeat", hidden=True),
    grace: int = typer.Option(_G.grace_period, "--grace", hidden=True),
    dry_run: bool = typer.Option(False, "--dry-run", help="List the feasible candidates and train nothing."),
    json_out: bool = JsonOpt,
) -> None:
    """Search alpha, beta, gamma: train a proxy of every feasible candidate, score it, rank, write results.

    Resumable (rerun the same command), distributed (--workers; --storage postgresql://... on many machines).
    Outputs OUT/STUDY/trials.csv (a row per triple) and best.json (for `scalesearch scale --from`).
    """
    proxy = ProxyConfig(epochs=epochs, batch_size=batch_size, base_resolution=base_resolution,
                        proxy_width=proxy_width, train_subset=train_subset, optimizer=optimizer, lr=lr,
                        device=device)
    config = GridConfig(
        target_flops=parse_size(target_flops, "--target-flops") if target_flops is not None else None, w=w,
        baseline=baseline, policy=policy, alpha=alpha, beta=beta, gamma=gamma, tolerance=tolerance,
        constraint=constraint, data=data, proxy=proxy, seeds=seeds, confirm=confirm, confirm_seeds=confirm_seeds,
        sampler=sampler, n_trials=n_trials, pruner=pruner, dedup=dedup, study=study, storage=storage, out=out,
        workers=workers, devices=devices, cache=cache, heartbeat_interval=heartbeat, grace_period=grace,
    )
    try:
        with RichDisplay(config, disable=json_out, transient=True) as display:
            p = plan(config, progress=display.measuring, check_storage=not dry_run)
    except KeyboardInterrupt:
        # Nothing is trained yet; every count finished so far is in the cost cache, so a rerun resumes.
        err_console.print(f"interrupted while measuring candidates: finished counts are cached. Resume with:\n"
                          f"  {_command()}", highlight=False, soft_wrap=True)
        raise typer.Exit(130) from None
    space = p.space
    if dry_run:
        rows = [c.row() for c in space.candidates]
        if json_out:
            print_json(rows)
            return
        console.print(table(
            f"{len(space.candidates) - (not space.candidates[0].feasible)} feasible of {space.grid_points} grid "
            f"points ({space.constraint} constraint, tolerance {space.tolerance:g}); {space.n_groups} distinct "
            f"networks, {len(space.proxy_groups)} distinct proxies to train",
            ["alpha", "beta", "gamma", "a*b^2*g^2", "px", FLOPS_HEADER, "params", "FLOPs ratio", "group",
             "proxy group"],
            [[f"{r['alpha']:g}", f"{r['beta']:g}", f"{r['gamma']:g}", f"{r['product']:.4f}", r["resolution"],
              f"{r['flops']:,}", f"{r['params']:,}", f"{r['flops_ratio']:.3f}x",
              f"{r['group']}{' (base)' if r['baseline'] else ''}", r["proxy_group"]] for r in rows],
            caption="FLOPs: fvcore multiply-adds of the full candidate at its deployment resolution, batch 1.",
        ))
        return

    err_console.print(f"study [bold]{p.study_name}[/] ({redact(p.storage_url)}): {len(space.candidates)} "
                      f"candidates, {len(space.proxy_groups)} distinct proxy networks", highlight=False)
    with RichDisplay(config, disable=json_out) as display:
        outcome = run_grid(config, display=display, the_plan=p)
    frame, noise, paths = write_outputs(outcome.study, p.study_dir, storage=redact(p.storage_url),
                                        command=_command(), finished=not outcome.interrupted,
                                        seconds=outcome.seconds)
    if json_out:
        print_json({"study": p.study_name, "interrupted": outcome.interrupted, "seconds": outcome.seconds,
                    "noise": noise, "files": {k: str(v) for k, v in paths.items()},
                    "rows": frame.astype(object).where(frame.notna(), None).to_dict(orient="records")})
    else:
        caption = (f"score = proxy accuracy x (FLOPs / {format_size(p.target_flops)})^{config.w:g}; FLOPs in "
                   f"multiply-adds. {noise['verdict']}. Short proxies under-rate depth: the order is more "
                   f"trustworthy than the gaps.")
        # A pipe or file gets the full table, not an 80-column squeeze; a terminal keeps its own width.
        console.print(ranked_table(frame, caption=caption), width=None if console.is_terminal else 150)
        for name, path in paths.items():
            console.print(f"{name}: {path}", highlight=False)
        console.print(f"wall time {outcome.seconds:.0f} s", highlight=False)
    if outcome.interrupted:
        err_console.print(f"interrupted: finished runs are kept in the study. Resume with:\n  {_command()}",
                          highlight=False, soft_wrap=True)
        raise typer.Exit(130)
