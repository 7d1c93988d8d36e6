"""The CLI's error boundary and its shared options: a library FieldError is reported with the flag that set
the field, a choice Typer refuses is one line listing the choices, the choices are the library's, and the
help groups options in panels that fit 80 columns."""

from __future__ import annotations

import json
import re
from typing import Annotated

import pytest
import typer
from typer.testing import CliRunner

from scalesearch.cli.main import app, guarded
from scalesearch.cli.options import CounterName, OptimizerName, PolicyName
from scalesearch.core.errors import FieldError
from scalesearch.core.scaling import POLICIES
from scalesearch.measure import COUNTERS
from scalesearch.train.proxy import OPTIMIZERS

runner = CliRunner()
B0 = ["--alpha", "1.2", "--beta", "1.1", "--gamma", "1.15"]


def assert_one_line_error(result, text: str, code: int = 2) -> None:
    assert result.exit_code == code, result.output
    assert result.stdout == "" and "Traceback" not in result.output
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("error: "), result.stderr
    assert text in lines[0]


def one_command_app(field: str) -> typer.Typer:
    """A command whose library call fails on ``field``, registered through `guarded` like every command."""

    def command(
        batch_size: Annotated[int, typer.Option("--batch-size")] = 128,
        compile_: Annotated[bool, typer.Option("--compile/--no-compile")] = False,
        heartbeat: Annotated[int, typer.Option("--heartbeat")] = 10,
        json_out: Annotated[bool, typer.Option("--json")] = False,
    ) -> None:
        raise FieldError(field, 0, "must be >= 1")

    probe = typer.Typer(add_completion=False)
    probe.command()(guarded(command))
    return probe


@pytest.mark.parametrize(("field", "shown"), [
    ("batch_size", "--batch-size 0"),  # parameter name -> flag
    ("proxy.batch_size", "--batch-size 0"),  # a nested setting's field, by its last part
    ("compile", "--compile 0"),  # the parameter is compile_, the flag --compile
    ("heartbeat_interval", "--heartbeat 0"),  # explicitly mapped: the flag has another name
    ("json", "--json 0"),  # the parameter is json_out, the flag --json
    ("seeds", "seeds 0"),  # no flag sets it: the library's field name stays
])
def test_field_error_names_the_flag_that_set_the_field(field: str, shown: str) -> None:
    result = runner.invoke(one_command_app(field), [])
    assert_one_line_error(result, f"error: {shown}: must be >= 1")


def test_field_error_from_the_library_under_a_real_command(monkeypatch: pytest.MonkeyPatch) -> None:
    def refuse(spec, counter, **_):
        raise FieldError("counter", counter, "not available on this machine")

    monkeypatch.setattr("scalesearch.cli.flops.measure", refuse)
    assert_one_line_error(runner.invoke(app, ["flops", "--counter", "meta"]),
                          "error: --counter 'meta': not available on this machine")


@pytest.mark.parametrize(("args", "text"), [
    (["flops", *B0, "--phi", "5000"], "--phi 5000.0: too large"),  # scaling.compound
    (["flops", "--image-size", "7"], "--image-size 7: must be an integer number of pixels >= 8"),  # scaling.scale
    (["scale", "--phi", "0:", *B0], "--phi '0:': does not parse"),  # units.parse_range, before anything is written
    (["scale", "--phi", "2:1", *B0], "--phi '2:1': STOP is below START"),
])
def test_library_field_errors_reach_the_user_as_flags(args: list[str], text: str) -> None:
    assert_one_line_error(runner.invoke(app, args), text)


@pytest.mark.parametrize("args", [
    ["flops"],
    ["train"],  # refused before any data is read or anything trains
    ["scale", "--phi", "1", *B0],
])
def test_a_bad_policy_is_one_line_listing_the_library_policies(args: list[str]) -> None:
    result = runner.invoke(app, [*args, "--policy", "floor"])
    choices = ", ".join(repr(name) for name in POLICIES)
    assert_one_line_error(result, f"Invalid value for '--policy': 'floor' is not one of {choices}.")


@pytest.mark.parametrize(("args", "table"), [
    (["flops", "--counter", "thop"], COUNTERS),
    (["baselines", "--counter", "thop"], COUNTERS),
    (["train", "--optimizer", "lamb"], OPTIMIZERS),
])
def test_other_choices_are_refused_the_same_way(args: list[str], table) -> None:
    choices = ", ".join(repr(name) for name in table)
    assert_one_line_error(runner.invoke(app, args), f"is not one of {choices}.")


def test_choices_are_the_library_tables() -> None:
    assert [p.value for p in PolicyName] == list(POLICIES)
    assert [c.value for c in CounterName] == list(COUNTERS)
    assert [o.value for o in OptimizerName] == list(OPTIMIZERS)


def test_a_chosen_value_reaches_the_library_as_a_plain_name() -> None:
    result = runner.invoke(app, ["flops", "--depth", "1.2", "--policy", "nearest", "--counter", "meta", "--json"])
    assert result.exit_code == 0, result.output
    data = json.loads(result.stdout)
    assert data["spec"]["scaling"]["policy"] == "nearest" and data["cost"]["counter"] == "meta"
    # B0 stage layers 1,2,2,3,3,4,1 x 1.2 rounded to nearest: 1,2,2,4,4,5,1 (ceil would give 2,3,3,4,4,5,2)
    assert [s["layers"] for s in data["spec"]["stages"]] == [1, 2, 2, 4, 4, 5, 1]


@pytest.mark.parametrize(("command", "panels"), [
    ("flops", ["Network", "Latency (measured: depends on the machine)", "Output"]),
    ("scale", ["Network", "Budget (solves phi instead of --phi)", "Latency (measured: depends on the machine)",
               "Output"]),
    ("train", ["Network", "Proxy training", "Output"]),
    ("baselines", ["Output"]),
])
def test_help_groups_every_option_in_panels_within_80_columns(command: str, panels: list[str]) -> None:
    result = runner.invoke(app, [command, "--help"], env={"COLUMNS": "80", "TERMINAL_WIDTH": "80"})
    assert result.exit_code == 0, result.output
    lines = result.output.splitlines()
    assert max(len(line) for line in lines) <= 80
    titles = re.findall(r"╭─ (.+?) ─", result.output)
    assert titles == ["Options", *panels]
    click_command = typer.main.get_command(app).commands[command]  # type: ignore[attr-defined]  # a Typer app with commands: a click.Group
    for param in click_command.params:
        for flag in param.opts + param.secondary_opts:
            assert re.search(rf"{re.escape(flag)}\b", result.output), f"{flag} missing or cut"


@pytest.mark.parametrize("args, shown", [
    (["scale", "--phi", "1:smile:2", "--alpha", "1.2", "--beta", "1.1", "--gamma", "1.15"], "'1:smile:2'"),
    (["grid", "--alpha", "a:b:c", "--dry-run"], "'a:b:c'"),
    (["flops", "--baseline", "[bold]x.yaml"], "[bold]x.yaml"),
])
def test_error_lines_show_what_the_user_typed(args: list[str], shown: str) -> None:
    # Rich would turn :smile: into an emoji and swallow [bold] as markup.
    result = runner.invoke(app, args)
    assert result.exit_code == 2
    assert shown in result.stderr and len(result.stderr.strip().splitlines()) == 1


# --- issue 22: one target rule for grid and scale; help that reads as help ------------------------------------

def test_grid_and_scale_refuse_a_target_far_below_the_baseline_with_the_same_line(
        monkeypatch: pytest.MonkeyPatch) -> None:
    # `grid --target-flops 400` started a study scoring (FLOPs / 400)^-0.07; `scale` refused it. One rule now,
    # applied before the candidates are counted (grid) or any network but the baseline is measured (scale).
    def never(*_args, **_kwargs):
        raise AssertionError("counted candidates before checking the target")

    monkeypatch.setattr("scalesearch.search.plan.build_space", never)
    line = ("error: --target-flops 400: under 1/10 of efficientnet-b0's own cost, 401,659,392 multiply-adds "
            "(401.7M): a target that far below the baseline fits none of its scaled networks and is usually a "
            "missing unit (400 for 400M); write e.g. 803.3M (twice the baseline's cost: the phi = 1 networks)")
    grid = runner.invoke(app, ["grid", "--target-flops", "400", "--data", "synthetic", "--dry-run"])
    assert_one_line_error(grid, line)
    scale = runner.invoke(app, ["scale", "--strategy", "paper", "--target-flops", "400", "--json"])
    assert_one_line_error(scale, line)
    assert grid.stderr == scale.stderr


COMMANDS = ["", "baselines", "flops", "scale", "train", "grid", "report", "compare", "audit"]


@pytest.mark.parametrize("command", COMMANDS)
def test_help_shows_no_value_type_for_flags_and_fits_80_columns(command: str) -> None:
    result = runner.invoke(app, [*command.split(), "--help"], env={"COLUMNS": "80", "TERMINAL_WIDTH": "80"})
    assert result.exit_code == 0, result.output
    assert "<bool>" not in result.output and max(map(len, result.output.splitlines())) <= 80
    assert re.search(r"--help +Show this message", result.output)  # a flag: no type between flag and help
    group = typer.main.get_command(app)
    click_command = group.commands[command] if command else group  # type: ignore[attr-defined]  # a Typer app with commands: a click.Group
    # Help paragraphs flow: the docstring's line breaks are gone, so rich wraps them at the terminal's width.
    assert "\n" not in (click_command.help or "").replace("\n\n", "")


def test_a_required_argument_reads_as_required_in_the_usage_line() -> None:
    audit = runner.invoke(app, ["audit", "--help"], env={"COLUMNS": "80"}).output
    assert re.search(r"Usage: \S+ audit \[OPTIONS\] STUDY_DIR\s*$", audit, re.M), audit
    report = runner.invoke(app, ["report", "--help"], env={"COLUMNS": "80"}).output  # optional with --storage
    assert re.search(r"Usage: \S+ report \[OPTIONS\] \[STUDY_DIR\]\s*$", report, re.M), report
    assert_one_line_error(runner.invoke(app, ["audit"]), "error: Missing argument 'STUDY_DIR'.")


def test_a_range_in_another_form_names_the_forms_that_parse() -> None:
    assert_one_line_error(runner.invoke(app, ["grid", "--alpha", "1.0-2.0", "--dry-run"]),
                          "error: --alpha '1.0-2.0': does not parse: '1.0-2.0' is not a number; write "
                          "START:STOP:STEP (e.g. 1.0:1.4:0.05), a list a,b,c or one number")
