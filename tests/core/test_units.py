import pytest

from scalesearch.core.errors import FieldError
from scalesearch.core.units import format_size, parse_phi, parse_range, parse_size


@pytest.mark.parametrize("text", ["400M", "0.4G", "4e8", "400000000", "400m", " 400 M ", "400000K", 4e8])
def test_sizes(text):
    assert parse_size(text) == 400_000_000


@pytest.mark.parametrize("text", ["", "M", "400X", "four", "-4e8", "0", "1e400"])
def test_bad_sizes_name_the_field(text):
    with pytest.raises(FieldError) as info:
        parse_size(text, "target_flops")
    assert (info.value.field, info.value.value) == ("target_flops", text)


def test_format_size():
    assert format_size(401_659_392) == "401.7M" and format_size(38_449_437_600, 2) == "38.45G"


def test_ranges_keep_every_point():
    assert parse_range("1.0:1.4:0.05") == [1.0, 1.05, 1.1, 1.15, 1.2, 1.25, 1.3, 1.35, 1.4]
    assert len(parse_range("1:2:0.05")) == 21  # float stepping would give 20 or 22 depending on accumulation
    assert parse_range("1.0:1.4:0.1")[-1] == 1.4
    assert parse_range("1.0:1.45:0.1") == [1.0, 1.1, 1.2, 1.3, 1.4]
    assert parse_range("1.2") == [1.2]
    assert parse_range("1.3,1.1,1.1") == [1.1, 1.3]


@pytest.mark.parametrize(("text", "problem"), [
    ("1:x:0.1", "'x' is not a number"),
    ("1:2", "write START:STOP:STEP"),  # no default step for a coefficient range
    ("1:2:0", "the step must be positive"),
    ("1:2:-0.1", "the step must be positive"),
    ("2:1:0.1", "STOP is below START"),
    ("1:2:3:4", "does not parse"),
    ("", "is empty"),
    ("1:nan:0.1", "not a finite number"),
    ("0:1e6:1", "1000001 points"),
])
def test_bad_ranges_name_the_field_and_the_problem(text, problem):
    with pytest.raises(FieldError, match=problem) as info:
        parse_range(text, what="alpha")
    assert (info.value.field, info.value.value) == ("alpha", text)


def test_phi_ranges():
    assert parse_phi("3") == [3.0]
    assert parse_phi("0:7") == [float(i) for i in range(8)]
    assert parse_phi("0:2:0.5") == [0.0, 0.5, 1.0, 1.5, 2.0]
    assert parse_phi("-1,0,1") == [-1.0, 0.0, 1.0]
    with pytest.raises(FieldError, match="'seven' is not a number") as info:
        parse_phi("0:seven")
    assert info.value.field == "phi"


def test_durations_and_cost_targets():
    from scalesearch.core.units import parse_duration, parse_target

    assert (parse_duration("5ms"), parse_duration("0.8 s"), parse_duration("500us")) == (5.0, 800.0, 0.5)
    assert parse_target("400M", "flops") == 4e8 and parse_target("5ms", "latency") == 5.0
    assert parse_target("6.7M", "activations") == 6.7e6 and parse_target("20M", "params") == 2e7
    for text, cost, message in (("400M", "latency", "no time unit"), ("5", "latency", "no time unit"),
                                ("5ms", "flops", "is a duration"), ("0ms", "latency", "positive"),
                                ("5 min", "latency", "not a duration"), ("1G", "speed", "choose one of")):
        with pytest.raises(FieldError, match=message):
            parse_target(text, cost)


@pytest.mark.parametrize("text", ["1.0-2.0", "1.0..2.0", "1 to 2"])
def test_a_range_in_another_form_says_which_forms_parse(text):
    # `--alpha 1.0-2.0` said only "not a number".
    with pytest.raises(FieldError) as info:
        parse_range(text, what="alpha")
    assert "is not a number; write START:STOP:STEP (e.g. 1.0:1.4:0.05), a list a,b,c or one number" in str(info.value)
    with pytest.raises(FieldError, match=r"write START:STOP \(step 1\), START:STOP:STEP \(e\.g\. 0:2:0\.5\), a list"):
        parse_phi(text)


B0_FLOPS = 401_659_392


def test_a_target_far_below_the_baselines_cost_is_refused_with_that_cost():
    from scalesearch.core.units import TARGET_FLOOR, check_target

    for ok in (400e6, 2 * B0_FLOPS, B0_FLOPS / TARGET_FLOOR, 1e15):
        check_target(ok, B0_FLOPS, field="target_flops", cost="flops", baseline="efficientnet-b0")
    with pytest.raises(FieldError) as info:
        check_target(400, B0_FLOPS, field="target_flops", cost="flops", baseline="efficientnet-b0")
    assert (info.value.field, info.value.value) == ("target_flops", 400)
    assert str(info.value) == (
        "target_flops 400: under 1/10 of efficientnet-b0's own cost, 401,659,392 multiply-adds (401.7M): a target "
        "that far below the baseline fits none of its scaled networks and is usually a missing unit (400 for 400M); "
        "write e.g. 803.3M (twice the baseline's cost: the phi = 1 networks)")
    with pytest.raises(FieldError, match=r"^target '0.5ms': under 1/10 of b's own cost, 12.5 ms: .* e.g. 25ms"):
        check_target(0.5, 12.5, field="target", cost="latency", baseline="b")
    with pytest.raises(FieldError, match=r"5,288,548 parameters \(5.3M\)"):
        check_target(500_000, 5_288_548, field="target", cost="params", baseline="b")
    with pytest.raises(FieldError):  # just under the floor
        check_target(B0_FLOPS / TARGET_FLOOR - 1, B0_FLOPS, field="target_flops", cost="flops", baseline="b")
