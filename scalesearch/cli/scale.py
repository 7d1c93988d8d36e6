"""`scalesearch scale`: coefficients -> one buildable spec file per phi, measured, with a summary CSV."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer
from rich.markup import escape
from rich.progress import Progress

from scalesearch.baselines import baseline as load_baseline
from scalesearch.cli.output import check_writable_dir, console, err_console, fmt_flops, fmt_short, print_json, table
from scalesearch.errors import UsageError
from scalesearch.family import family_dir, reference_arguments, scale_family, write_family
from scalesearch.scaling import DEFAULT_POLICY, policy as get_policy
from scalesearch.units import parse_phi

from .options import (
    BASELINE_HELP,
    DEFAULT_BASELINE,
    DEFAULT_COUNTER,
    NETWORK,
    OUTPUT,
    POLICY_HELP,
    Alpha,
    Beta,
    Counter,
    Gamma,
    Json,
    PolicyName,
    SpecFormat,
)


def scale(
    phi: Annotated[str, typer.Option(
        "--phi", help="phi, or a range: 3, 0:7 (step 1), 0:2:0.5, -1,0,1.", rich_help_panel=NETWORK)],
    alpha: Alpha = None, beta: Beta = None, gamma: Gamma = None,
    baseline: Annotated[str | None, typer.Option(
        "--baseline", "-b", help=f"{BASELINE_HELP} (default: {DEFAULT_BASELINE}, or the study's with --from)",
        rich_help_panel=NETWORK)] = None,
    from_: Annotated[Path | None, typer.Option(
        "--from", help="A grid study folder (or its best.json): take alpha, beta, gamma, baseline and rounding "
        "policy from it.", rich_help_panel=NETWORK)] = None,
    policy: Annotated[PolicyName | None, typer.Option(
        "--policy", metavar="<name>", help=f"{POLICY_HELP} (default: {DEFAULT_POLICY}, or the study's with --from)",
        rich_help_panel=NETWORK)] = None,
    counter: Counter = DEFAULT_COUNTER,
    out: Annotated[Path, typer.Option(
        "--out", help="Root folder; files go in a subfolder named after the baseline and coefficients.",
        rich_help_panel=OUTPUT)] = Path("results"),
    fmt: Annotated[SpecFormat, typer.Option("--format", help="Spec file format.", rich_help_panel=OUTPUT)] = (
        SpecFormat.YAML),
    json_out: Json = False,
) -> None:
    """Turn (alpha, beta, gamma) into concrete models for each phi: spec files + summary.csv under --out."""
    phis = parse_phi(phi)
    check_writable_dir(out, "--out")  # before any counting
    if from_ is not None:
        from scalesearch.report.best import load_best

        given = [flag for flag, v in (("--alpha", alpha), ("--beta", beta), ("--gamma", gamma)) if v is not None]
        if given:
            raise UsageError(f"{given[0]} conflicts with --from, which provides alpha, beta and gamma")
        best = load_best(from_)
        if best.record.get("search_finished") is False:
            err_console.print(f"[yellow]warning:[/] the search behind this best.json ({escape(str(best.path))}) was "
                              "interrupted: its leader is provisional; rerun the grid command to finish it",
                              highlight=False, soft_wrap=True)
        alpha, beta, gamma = best.alpha, best.beta, best.gamma
        base = best.baseline_spec if baseline is None else load_baseline(baseline)
        policy_name = policy.value if policy is not None else best.policy
    else:
        missing = [flag for flag, v in (("--alpha", alpha), ("--beta", beta), ("--gamma", gamma)) if v is None]
        if missing:
            raise UsageError(f"{', '.join(missing)} missing: give --alpha, --beta and --gamma, or --from a study")
        base = load_baseline(baseline or DEFAULT_BASELINE)
        policy_name = policy.value if policy is not None else DEFAULT_POLICY
    rounding = get_policy(policy_name).name
    assert alpha is not None and beta is not None and gamma is not None  # narrowed above for the type checker

    with Progress(console=err_console, transient=True, disable=json_out) as bar:
        task = bar.add_task(f"scaling {base.name}", total=len(phis))
        base_cost, members = scale_family(base, alpha, beta, gamma, phis, policy=rounding, counter=counter.value,
                                          progress=lambda _phi: bar.advance(task))
    folder = family_dir(out, base, alpha, beta, gamma, rounding)
    try:
        members, summary = write_family(members, folder, fmt.value)
    except OSError as exc:
        raise UsageError(f"--out {folder}: cannot write the spec files ({exc.strerror or exc})") from None

    references = [ref for m in members if (ref := reference_arguments(base, m)) is not None]
    if json_out:
        print_json({"baseline": base.name, "alpha": alpha, "beta": beta, "gamma": gamma, "policy": rounding,
                    "counter": counter.value, "baseline_flops": base_cost.flops, "summary_csv": str(summary),
                    "models": [m.row() for m in members], "reference_arguments": references})
        return
    rows = []
    for m in members:
        r = m.spec.scaling
        rows.append([
            f"{m.phi:g}", f"{r.depth:.3f} / {r.depth_achieved:.3f}", f"{r.width:.3f} / {r.width_achieved:.3f}",
            f"{r.resolution:.3f} / {r.resolution_achieved:.3f}", m.spec.resolution, fmt_short(m.cost.params, 2),
            fmt_short(m.cost.flops, 2), f"{m.flops_ratio:.2f}x", f"{2 ** m.phi:.2f}x",
        ])
    console.print(table(
        f"{base.name} scaled by alpha={alpha:g}, beta={beta:g}, gamma={gamma:g} ({rounding} rounding, "
        f"{counter} counter)",
        ["phi", "d req / got", "w req / got", "r req / got", "px", "params", "multiply-adds", "/ base", "2^phi"],
        rows,
        caption=f"FLOPs are multiply-adds at batch 1; baseline {fmt_flops(base_cost.flops)} at {base.resolution} px. "
        "'got' is measured on the rounded network (layers, stage channels, pixels).",
        keep=["phi", "multiply-adds", "/ base", "2^phi"], prefer=["d req / got", "w req / got", "r req / got", "px"],
        more=str(summary),
    ))
    if references:
        console.print(table(
            "The same networks in torchvision / timm (EfficientNet-B0 table + multipliers)",
            ["phi", "width_mult = channel_multiplier", "depth_mult = depth_multiplier", "input px", "depth_trunc",
             "torchvision head"],
            [[f"{x['phi']:g}", f"{x['width_mult']:g}", f"{x['depth_mult']:g}", x["input_px"], x["depth_trunc"],
              "same" if x["torchvision_matches"] else f"{x['torchvision_head']} (here {x['head']})"]
             for x in references],
            caption="torchvision: models.efficientnet._efficientnet_conf('efficientnet_b0', width_mult, depth_mult); "
            "timm: models.efficientnet._gen_efficientnet('efficientnet_b0', channel_multiplier, depth_multiplier, "
            "depth_trunc). torchvision's head is 4x the last stage and it always ceils depth.",
            more="--json",
        ))
    console.print(f"wrote {len(members)} spec file(s) and {summary}")
