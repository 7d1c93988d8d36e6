"""`scalesearch scale`: coefficients or a named strategy -> one buildable spec file per phi, measured, with a
summary CSV; or, given a budget instead of phi, the largest family member within it."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import Annotated, Any

import typer
from rich.markup import escape

from scalesearch.cli.output import (
    Steps,
    check_writable_dir,
    console,
    err_console,
    fmt_flops,
    fmt_short,
    out_dir,
    print_json,
    table,
)
from scalesearch.core import strategies
from scalesearch.core.builderspec import AnySpec, BuilderSpec
from scalesearch.core.errors import FieldError, UsageError
from scalesearch.core.scaling import DEFAULT_POLICY, policy as get_policy
from scalesearch.core.units import parse_phi, parse_target
from scalesearch.family import (
    BUDGET_COSTS,
    Budget,
    Member,
    Recipe,
    Solution,
    family_dir,
    family_files,
    reference_arguments,
    scale_family,
    solve_phi,
    write_family,
)
from scalesearch.nn import resolve_baseline

from .options import (
    BASELINE_HELP,
    DEFAULT_BASELINE,
    DEFAULT_COUNTER,
    DEFAULT_DTYPE,
    DEFAULT_MODE,
    LATENCY_DEFAULTS,
    LATENCY_NOTE,
    NETWORK,
    OUTPUT,
    POLICY_HELP,
    Alpha,
    Beta,
    BuilderImageSize,
    Counter,
    Gamma,
    Json,
    LatencyBatch,
    LatencyDevice,
    LatencyDtype,
    LatencyMode,
    LatencyThreads,
    PolicyName,
    SpecFormat,
    latency_config,
)

BUDGET = "Budget (solves phi instead of --phi)"


def scale(
    phi: Annotated[str | None, typer.Option(
        "--phi", help="phi, or a range: 3, 0:7 (step 1), 0:2:0.5, -1,0,1. Or give a budget instead.",
        rich_help_panel=NETWORK)] = None,
    alpha: Alpha = None, beta: Beta = None, gamma: Gamma = None,
    strategy: Annotated[str | None, typer.Option(
        "--strategy", help=f"A named strategy instead of alpha, beta, gamma: {', '.join(strategies.names())}, "
        "or dwr:A (A in 0..1).", rich_help_panel=NETWORK)] = None,
    baseline: Annotated[str | None, typer.Option(
        "--baseline", "-b", help=f"{BASELINE_HELP} (default: {DEFAULT_BASELINE}, or the study's with --from)",
        rich_help_panel=NETWORK)] = None,
    image_size: BuilderImageSize = None,
    from_: Annotated[Path | None, typer.Option(
        "--from", help="A grid study folder (or its best.json): take alpha, beta, gamma, baseline and rounding "
        "policy from it.", rich_help_panel=NETWORK)] = None,
    policy: Annotated[PolicyName | None, typer.Option(
        "--policy", metavar="<name>", help=f"{POLICY_HELP} (default: {DEFAULT_POLICY}, or the study's with --from)",
        rich_help_panel=NETWORK)] = None,
    max_resolution: Annotated[int | None, typer.Option(
        "--max-resolution", help="Cap the input size in px: beyond it only depth and width grow (EfficientNetV2 "
        "caps inference resolution at 480).", rich_help_panel=NETWORK)] = None,
    target_flops: Annotated[str | None, typer.Option(
        "--target-flops", help="The largest member within this many multiply-adds, e.g. 2G.",
        rich_help_panel=BUDGET)] = None,
    target_params: Annotated[str | None, typer.Option(
        "--target-params", help="The largest member within this many parameters, e.g. 20M.",
        rich_help_panel=BUDGET)] = None,
    target_latency: Annotated[str | None, typer.Option(
        "--target-latency", help=f"The largest member within this measured latency, e.g. 8ms (see the latency "
        f"options). {LATENCY_NOTE}", rich_help_panel=BUDGET)] = None,
    latency_device: LatencyDevice = LATENCY_DEFAULTS.device, latency_batch: LatencyBatch = LATENCY_DEFAULTS.batch,
    latency_dtype: LatencyDtype = DEFAULT_DTYPE, latency_mode: LatencyMode = DEFAULT_MODE,
    latency_threads: LatencyThreads = None,
    counter: Counter = DEFAULT_COUNTER,
    out: Annotated[Path | None, typer.Option(
        "--out", help="Root folder; files go in a subfolder named after the baseline and coefficients (default: "
        "results, or the study's folder with --from, where `scalesearch report` draws the family).",
        rich_help_panel=OUTPUT, callback=out_dir("--out"))] = None,
    fmt: Annotated[SpecFormat, typer.Option("--format", help="Spec file format.", rich_help_panel=OUTPUT)] = (
        SpecFormat.YAML),
    json_out: Json = False,
) -> None:
    """Turn (alpha, beta, gamma) or a named strategy into concrete models for each phi, or into the largest
    model within a budget: spec files + summary.csv under --out."""
    targets = [(f, cost, v) for f, cost, v in (("--target-flops", "flops", target_flops),
                                                ("--target-params", "params", target_params),
                                                ("--target-latency", "latency", target_latency)) if v is not None]
    if len(targets) > 1:
        raise UsageError(f"{targets[0][0]} and {targets[1][0]} together: give one budget")
    if phi is not None and targets:
        raise UsageError(f"--phi and {targets[0][0]} together: a budget solves phi; give one of them")
    if phi is None and not targets:
        raise UsageError("--phi missing: give --phi, or a budget (--target-flops, --target-params or "
                         "--target-latency) to solve it")
    phis = parse_phi(phi) if phi is not None else []
    budget = None
    if targets:
        flag, cost, text = targets[0]
        timing = latency_config(latency_device, latency_batch, latency_dtype, latency_mode, latency_threads) if (
            cost == "latency") else None
        budget = Budget(cost, parse_target(text, cost, flag), timing)
        if timing is not None:
            from scalesearch.measure.latency import where

            try:
                where(timing)  # an absent device is refused before any counting
            except FieldError:  # a bad --latency-* value (more threads than cores): names its flag
                raise
            except UsageError as exc:
                raise UsageError(f"--latency-device: {exc}") from None
    base, recipe, study = _recipe(alpha, beta, gamma, strategy, baseline, from_, policy, max_resolution, image_size)
    # The family of a study's coefficients goes into the study's folder: it belongs to that study, and
    # `scalesearch report STUDY_DIR` draws it from there. --out itself was checked as it was parsed.
    root = out if out is not None else study if study is not None else Path("results")
    folder = family_dir(root, base, recipe.alpha, recipe.beta, recipe.gamma, recipe.policy, recipe)
    names = family_files(base, phis, fmt.value)  # a budget's phi is not known yet
    check_writable_dir(folder, "--out", files=names)  # before any counting

    def measured(m: Member) -> None:
        steps.done(f"phi {m.phi:g}: {_px(m)} px, {fmt_short(m.cost.params, 2)} params, "
                   f"{fmt_short(m.cost.flops, 2)} multiply-adds")

    if budget is not None:
        with Steps(f"solving phi for {base.name} within {budget.show(budget.limit)}: each distinct network on the "
                   "way is built and measured", quiet=json_out) as steps:
            solution = solve_phi(base, recipe, budget, counter=counter.value, progress=measured)
        members = [solution.chosen]
        base_cost = solution.base_cost
    else:
        with Steps(f"scaling {base.name}: building and measuring {len(phis)} network(s)", len(phis),
                   quiet=json_out) as steps:
            base_cost, members = scale_family(base, recipe.alpha, recipe.beta, recipe.gamma, phis,
                                              counter=counter.value, recipe=recipe, progress=measured)
    try:
        members, summary = write_family(members, folder, fmt.value, recipe.label())
    except OSError as exc:
        raise UsageError(f"--out {folder}: cannot write the spec files ({exc.strerror or exc})") from None

    references = [ref for m in members if (ref := reference_arguments(base, m)) is not None]
    if json_out:
        data = {"baseline": base.name, "alpha": recipe.alpha, "beta": recipe.beta, "gamma": recipe.gamma,
                "strategy": recipe.strategy, "max_resolution": recipe.max_resolution, "policy": recipe.policy,
                "counter": counter.value, "baseline_flops": base_cost.flops, "summary_csv": str(summary),
                "models": [m.row() for m in members], "reference_arguments": references}
        if budget is not None:
            data["solution"] = _solution_dict(solution)
        print_json(data)
        return
    if budget is not None:
        _print_solution(base, solution)
    else:
        _print_family(base, recipe, members, base_cost.flops, counter.value, str(summary))
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
    on_meta = [f"{m.phi:g}" for m in members if m.cost.counter == "fvcore" and m.cost.device == "meta"]
    if on_meta:
        console.print(f"phi {', '.join(on_meta)}: counted on the meta device (nothing allocated: beyond the memory "
                      "limits of a real fvcore pass); same figures by fvcore's rules", style="dim")
    if isinstance(base, BuilderSpec):
        console.print(f"wrote {members[0].path} (build(phi) rebuilds each of the {len(members)} member(s) with the "
                      f"builder) and {summary}", highlight=False, soft_wrap=True)
    else:
        console.print(f"wrote {len(members)} spec file(s) and {summary}")


def _recipe(alpha: float | None, beta: float | None, gamma: float | None, strategy: str | None,
            baseline: str | None, from_: Path | None, policy: PolicyName | None,
            max_resolution: int | None, image_size: int | None = None) -> tuple[AnySpec, Recipe, Path | None]:
    """The baseline, how to grow it, and the study's folder with --from: from --strategy, --from or
    --alpha/--beta/--gamma (exactly one). A builder is imported here (a study's too, from the path it recorded)."""

    def load_baseline(name: str) -> AnySpec:
        return resolve_baseline(name, image_size)

    given = [flag for flag, v in (("--alpha", alpha), ("--beta", beta), ("--gamma", gamma)) if v is not None]
    if strategy is not None:
        if given or from_ is not None:
            raise UsageError(f"--strategy conflicts with {given[0] if given else '--from'}: a strategy gives alpha, "
                             "beta and gamma")
        recipe = Recipe.from_strategy(strategy, get_policy(policy.value if policy else DEFAULT_POLICY).name,
                                      max_resolution)
        return load_baseline(baseline or DEFAULT_BASELINE), recipe, None
    if from_ is not None:
        from scalesearch.report.best import load_best

        if given:
            raise UsageError(f"{given[0]} conflicts with --from, which provides alpha, beta and gamma")
        best = load_best(from_)
        if best.record.get("search_finished") is False:
            err_console.print(f"[yellow]warning:[/] the search behind this best.json ({escape(str(best.path))}) was "
                              "interrupted: its leader is provisional; rerun the grid command to finish it",
                              highlight=False, soft_wrap=True)
        if baseline is None and image_size is not None:
            raise UsageError("--image-size with --from: the study's baseline has its size; give --baseline too")
        err_console.print(_chosen(best.record, best.alpha, best.beta, best.gamma), highlight=False, soft_wrap=True,
                          markup=False)
        base = best.baseline_spec if baseline is None else load_baseline(baseline)
        rounding = get_policy(policy.value if policy is not None else best.policy).name
        folder = best.path.parent if best.path is not None else None  # load_best always sets the path
        return base, Recipe(best.alpha, best.beta, best.gamma, rounding, max_resolution), folder
    missing = [flag for flag, v in (("--alpha", alpha), ("--beta", beta), ("--gamma", gamma)) if v is None]
    if missing:
        raise UsageError(f"{', '.join(missing)} missing: give --alpha, --beta and --gamma, --strategy, or --from a "
                         "study")
    assert alpha is not None and beta is not None and gamma is not None  # narrowed above for the type checker
    rounding = get_policy(policy.value if policy is not None else DEFAULT_POLICY).name
    return load_baseline(baseline or DEFAULT_BASELINE), Recipe(alpha, beta, gamma, rounding, max_resolution), None


def _px(m: Member) -> str:
    r = m.spec.scaling
    capped = r is not None and r.max_resolution is not None and m.spec.resolution == r.max_resolution
    return f"{m.spec.resolution}*" if capped else str(m.spec.resolution)


def _cap_note(recipe: Recipe, members: Sequence[Member | None]) -> str:
    if not any(m is not None and _px(m).endswith("*") for m in members):
        return ""
    return (f" px* = capped at --max-resolution {recipe.max_resolution}: beyond it only depth and width grow, "
            "and '/ base' (the achieved FLOPs factor, also in the spec's scaling.flops_factor) falls below 2^phi.")


def _print_family(base: AnySpec, recipe: Recipe, members: list[Member], base_flops: int, counter: str,
                  summary: str) -> None:
    rows = []
    for m in members:
        r = m.spec.scaling
        assert r is not None  # every member is made by scale()
        rows.append([
            f"{m.phi:g}", f"{r.depth:.3f} / {r.depth_achieved:.3f}", f"{r.width:.3f} / {r.width_achieved:.3f}",
            f"{r.resolution:.3f} / {r.resolution_achieved:.3f}", _px(m), fmt_short(m.cost.params, 2),
            fmt_short(m.cost.flops, 2), f"{m.flops_ratio:.2f}x", f"{2 ** m.phi:.2f}x",
        ])
    console.print(table(
        f"{base.name} scaled by {recipe.label()} ({recipe.policy} rounding, {counter} counter)",
        ["phi", "d req / got", "w req / got", "r req / got", "px", "params", "multiply-adds", "/ base", "2^phi"],
        rows,
        caption=f"FLOPs are multiply-adds at batch 1; baseline {fmt_flops(base_flops)} at {base.resolution} px. "
        + ("'got' is measured on the module the builder returned, against the builder at depth and width 1 (its conv "
           "and linear layers, their mean output channels, pixels): the builder rounds depth and width itself."
           if isinstance(base, BuilderSpec) else
           "'got' is measured on the rounded network (layers, stage channels, pixels).") + _cap_note(recipe, members),
        keep=["phi", "multiply-adds", "/ base", "2^phi"], prefer=["d req / got", "w req / got", "r req / got", "px"],
        more=summary,
    ))


def _solution_dict(s: Solution) -> dict[str, Any]:
    return {
        "cost": s.budget.cost, "limit": s.budget.limit, "unit": BUDGET_COSTS[s.budget.cost],
        "phi": s.chosen.phi, "value": s.budget.of(s.chosen.cost),
        "next_phi": s.next_step.phi if s.next_step else None,
        "next_value": s.budget.of(s.next_step.cost) if s.next_step else None,
        "phi_resolution": s.phi_resolution, "networks_measured": s.networks_measured,
        "latency": s.chosen.cost.latency.to_dict() if s.chosen.cost.latency else None,
    }


def _ms(x: float) -> str:
    """A spread bound short enough for an 80-column table: 21, 194, 3.4."""
    return f"{x:.0f}" if x >= 10 else f"{x:.1f}"


def _print_solution(base: AnySpec, s: Solution) -> None:
    latency = s.budget.cost == "latency"
    rows: list[list[Any]] = []
    for label, m in (("chosen", s.chosen), ("next step", s.next_step)):
        if m is None:
            rows.append([label, "-", "-", "-", "-", "-", "beyond the size limits"] + (["-", "-"] if latency else []))
            continue
        lat = m.cost.latency
        rows.append([label, f"{m.phi:g}", _px(m), m.spec.total_layers, fmt_short(m.cost.params, 2),
                     fmt_short(m.cost.flops, 2), f"{m.flops_ratio:.2f}x"]
                    + ([f"{lat.median_ms:.1f}", f"{_ms(lat.p10_ms)}-{_ms(lat.p90_ms)}"] if lat and latency else []))
    caption = (f"phi solved on the measured, rounded network to {s.phi_resolution:g} ({s.networks_measured} "
               "distinct networks measured): 'next step' is the smallest larger phi whose network exceeds the "
               "budget. FLOPs are multiply-adds at batch 1." + _cap_note(s.recipe, [s.chosen, s.next_step]))
    if latency and s.chosen.cost.latency is not None:
        lat = s.chosen.cost.latency
        caption += (f" Latency: median ms per pass of {lat.batch} and its p10-p90 spread, {lat.dtype} {lat.mode}, "
                    f"{lat.threads} thread(s) on {lat.device} ({lat.device_name}). {LATENCY_NOTE}")
    console.print(table(
        f"Largest {base.name} within {s.budget.show(s.budget.limit)}: {s.recipe.label()} ({s.recipe.policy} "
        "rounding)",
        ["", "phi", "px", "layers", "params", "multiply-adds", "/ base"] + (["ms", "p10-p90"] if latency else []),
        rows, caption=caption, keep=["", "phi", "multiply-adds"] + (["ms"] if latency else []),
        prefer=["px", "/ base", "params", "layers"], more="--json",
    ))


def _chosen(record: dict[str, Any], alpha: float, beta: float, gamma: float) -> str:
    """Which point of the study ``scale --from`` takes, and why: the race's decision when there was one."""
    point = f"({alpha:g}, {beta:g}, {gamma:g})"
    confirmed = record.get("confirmed")
    if isinstance(confirmed, dict) and confirmed.get("phi") is not None:
        return (f"--from: {point}, the race's survivors confirmed at phi = {confirmed['phi']:g} "
                f"({confirmed.get('decision')}; grid --confirm-phi)")
    race = record.get("decision")
    if not isinstance(race, dict):
        return f"--from: the study's leader {point} (no race decided it)"
    survivors = race.get("survivors") or []
    verdict = race.get("decision")
    if verdict == "winner":
        return f"--from: the race's winner {point}"
    if verdict == "equivalent":
        margin = race.get("equivalence_points")
        return (f"--from: {point}, the cheapest of {len(survivors)} networks the race found equivalent (within "
                f"{margin:g} score points); any of them is as well supported" if isinstance(margin, int | float)
                else f"--from: {point}, the cheapest of {len(survivors)} equivalent networks")
    return f"--from: {point}, the best survivor of an undecided race ({len(survivors)} survivors)"
