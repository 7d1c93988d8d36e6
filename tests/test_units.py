import pytest

from scalesearch.errors import FieldError
from scalesearch.units import format_size, parse_phi, parse_range, parse_size


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
    from scalesearch.units import parse_duration, parse_target

    assert (parse_duration("5ms"), parse_duration("0.8 s"), parse_duration("500us")) == (5.0, 800.0, 0.5)
    assert parse_target("400M", "flops") == 4e8 and parse_target("5ms", "latency") == 5.0
    assert parse_target("6.7M", "activations") == 6.7e6 and parse_target("20M", "params") == 2e7
    for text, cost, message in (("400M", "latency", "no time unit"), ("5", "latency", "no time unit"),
                                ("5ms", "flops", "is a duration"), ("0ms", "latency", "positive"),
                                ("5 min", "latency", "not a duration"), ("1G", "speed", "choose one of")):
        with pytest.raises(FieldError, match=message):
            parse_target(text, cost)
