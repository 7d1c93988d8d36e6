"""Property-based tests of hostile input: whatever a user types or puts in a spec file, the answer is
either a result or one `error:` line with an exit code in 2-5, never a traceback.

No wall-clock bound: on a busy machine an honest example can take minutes. The work is bounded instead
(lower structural limits, and a memory limit that sends every count down the meta path, which gives
fvcore's figures without a real forward pass), and a hang is caught by an alarm far above any honest run.
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterator
from pathlib import Path

import pytest
import yaml
from hang_guard import no_hang
from hypothesis import HealthCheck, given, settings, strategies as st
from typer.testing import CliRunner

from scalesearch.cli.main import app
from scalesearch.core.baselines import baseline
from scalesearch.core.errors import ScaleSearchError
from scalesearch.core.spec import to_dict
from scalesearch.core.specio import load_spec

runner = CliRunner()
FAST = settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])

# Values people type: numbers of every size and sign, ranges, units, markup and emoji codes, junk.
typed = st.one_of(
    st.floats(allow_nan=True, allow_infinity=True).map(repr),
    st.integers(min_value=-10**30, max_value=10**30).map(str),
    st.sampled_from(["1e300", "-0", "nan", "inf", "1:2:0", "2:1:0.1", "0:1e9", "400M", "0.4G", "1e-300", "[bold]x",
                     ":smile:", "a:b:c", "", " ", "1,2,,3", "--", "1_000"]),
    st.text(max_size=12),
)


HANG = 900  # seconds per example: a hang guard only (the slowest honest example, a cold grid dry run, takes ~10 s)


@pytest.fixture(autouse=True, scope="module")
def _bounded_work(tmp_path_factory: pytest.TempPathFactory) -> Iterator[None]:
    """Smaller structural limits bound every network an example may build; a memory limit of one element
    makes every count take the meta path (fvcore's figures, no real pass). Its own cost cache keeps those
    meta-made entries away from the other tests."""
    mp = pytest.MonkeyPatch()
    mp.setenv("SCALESEARCH_CACHE_DIR", str(tmp_path_factory.mktemp("fuzz-cost-cache")))
    for variable, value in (("SCALESEARCH_MAX_LAYERS", "400"), ("SCALESEARCH_MAX_RESOLUTION", "2048"),
                            ("SCALESEARCH_MAX_ACTIVATIONS", "1")):
        mp.setenv(variable, value)
    yield
    mp.undo()


def _no_hang(what: object, seconds: int = HANG) -> contextlib.AbstractContextManager[None]:
    return no_hang(what, seconds)


def _clean_outcome(args: list[str]) -> None:
    with _no_hang(args):
        result = runner.invoke(app, args)
    assert result.exception is None or isinstance(result.exception, SystemExit), (args, repr(result.exception))
    assert result.exit_code in (0, 2, 3, 4, 5), (args, result.exit_code, result.output)
    if result.exit_code:
        lines = result.stderr.strip().splitlines()
        assert len(lines) == 1 and lines[0].startswith("error: "), (args, result.stderr)
    assert "Traceback" not in result.output


@FAST
@given(flag=st.sampled_from(["--depth", "--width", "--resolution", "--image-size", "--phi"]), value=typed)
def test_flops_values(flag: str, value: str) -> None:
    extra = ["--alpha", "1.2", "--beta", "1.1", "--gamma", "1.15"] if flag == "--phi" else []
    _clean_outcome(["flops", "--counter", "meta", *extra, flag, value])


@FAST
@given(flag=st.sampled_from(["--alpha", "--beta", "--gamma", "--tolerance", "--target-flops", "--w", "--rungs",
                             "--promote", "--references", "--workers", "--study"]), value=typed)
def test_grid_values_in_a_dry_run(flag: str, value: str, tmp_path: Path) -> None:
    # Narrow axes keep a valid dry run to a few candidates; the value under test replaces one of them.
    # No reference strategies unless they are under test: six more B0 networks to count would make each
    # example slow on a busy machine.
    base = {"--alpha": "1.0:1.4:0.2", "--beta": "1.0:1.2:0.1", "--gamma": "1.0:1.3:0.1", "--tolerance": "0.3",
            "--references": "none"}
    base[flag] = value
    args = [x for k, v in base.items() for x in (k, v)]
    _clean_outcome(["grid", "--data", "synthetic", "--dry-run", "--json", "--out", str(tmp_path), *args])


def _mutations() -> st.SearchStrategy:
    fields = ["name", "resolution", "num_classes", "activation", "dropout", "stages", "stem", "head", "format",
              "stages.0.layers", "stages.0.channels", "stages.0.kernel", "stages.0.stride", "stages.0.expansion",
              "stages.0.block", "stem.channels", "head.channels"]
    values = st.one_of(st.none(), st.booleans(), st.integers(min_value=-10**12, max_value=10**12),
                       st.floats(allow_nan=True, allow_infinity=True), st.text(max_size=20),
                       st.lists(st.integers(), max_size=3), st.dictionaries(st.text(max_size=3), st.integers(),
                                                                           max_size=2))
    return st.lists(st.tuples(st.sampled_from(fields), values), min_size=1, max_size=3)


@FAST
@given(changes=_mutations())
def test_spec_files_load_or_fail_in_one_line(changes: list[tuple[str, object]], tmp_path: Path) -> None:
    data = to_dict(baseline("efficientnet-b0"))
    for path, value in changes:
        target, *rest = path.split(".")
        node: object = data
        keys = [target, *rest]
        for k in keys[:-1]:
            if isinstance(node, list) and k.isdigit() and int(k) < len(node):
                node = node[int(k)]
            elif isinstance(node, dict):
                node = node.get(k)
            else:
                node = None  # an earlier change replaced the parent: nothing to change here
        if isinstance(node, dict):
            node[keys[-1]] = value
    file = tmp_path / "fuzzed.yaml"
    file.write_text(yaml.safe_dump(data, sort_keys=False))
    try:
        with _no_hang(changes, 60):
            load_spec(file)
    except ScaleSearchError as exc:
        assert exc.exit_code in (2, 3, 4, 5) and "\n" not in str(exc) and len(str(exc)) < 1000
