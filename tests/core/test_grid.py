"""Grid arithmetic errors name the setting (alpha, tolerance), never a command-line flag."""

import pytest

from scalesearch.core.errors import FieldError
from scalesearch.core.grid import Ranges, band


@pytest.mark.parametrize("axis", ["alpha", "beta", "gamma"])
@pytest.mark.parametrize(("text", "problem"), [("1.0:x:0.1", "does not parse"), ("-1,1.2", "must be positive")])
def test_a_bad_axis_names_its_field(axis, text, problem):
    axes = {"alpha": "1.0", "beta": "1.0", "gamma": "1.0", axis: text}
    with pytest.raises(FieldError, match=problem) as info:
        Ranges.parse(**axes)
    assert (info.value.field, info.value.value) == (axis, text)
    assert not str(info.value).startswith("--")


@pytest.mark.parametrize("tolerance", [-0.1, 1.0])
def test_tolerance_outside_the_unit_interval(tolerance):
    with pytest.raises(FieldError, match=r"\[0, 1\)") as info:
        band(tolerance)
    assert info.value.field == "tolerance"
