"""Parsing of the numbers people type: sizes (400M, 0.4G, 4e8) and ranges (1.0:1.4:0.05, 0:7).

Ranges are parsed in decimal arithmetic so that a float step never drops or adds a grid point
(1.0 + 4 * 0.1 is 1.4000000000000001 in binary; here it is 1.4).

A value that does not parse is a FieldError naming ``what``: the setting's field name (``phi``, ``alpha``),
which the CLI turns into the flag that set it (``--phi``).
"""

from __future__ import annotations

import math
import re
from decimal import Decimal, InvalidOperation

from scalesearch.core.errors import FieldError

_SUFFIXES = {"": 1, "K": 10**3, "M": 10**6, "G": 10**9, "B": 10**9, "T": 10**12}
_SIZE = re.compile(r"^\s*([0-9]*\.?[0-9]+(?:[eE][+-]?[0-9]+)?)\s*([kKmMgGbBtT]?)\s*$")


def parse_size(text: str | int | float, what: str = "size") -> int:
    """'400M', '0.4G', '4e8', '400000000' -> 400000000. K/M/G/T are powers of 1000 (B = G, as in 0.39B)."""
    if isinstance(text, (int, float)) and not isinstance(text, bool):
        value = float(text)
    else:
        match = _SIZE.match(str(text))
        if not match:
            raise FieldError(what, text, "does not parse: write e.g. 400M, 0.4G, 4e8 or 400000000")
        value = float(match.group(1)) * _SUFFIXES[match.group(2).upper()]
    if not math.isfinite(value) or value <= 0:
        raise FieldError(what, text, "must be a positive number")
    return int(round(value))


def format_size(value: float, digits: int = 1) -> str:
    """400_000_000 -> '400.0M'. Used for display only; files keep exact integers."""
    for suffix, scale in (("T", 1e12), ("G", 1e9), ("M", 1e6), ("K", 1e3)):
        if abs(value) >= scale:
            return f"{value / scale:.{digits}f}{suffix}"
    return f"{value:.0f}"


def _forms(default_step: str | None) -> str:
    """What a range may be written as, for the messages."""
    if default_step is not None:
        return f"write START:STOP (step {default_step}), START:STOP:STEP (e.g. 0:2:0.5), a list a,b,c or one number"
    return "write START:STOP:STEP (e.g. 1.0:1.4:0.05), a list a,b,c or one number"


def _decimal(text: str, what: str, whole: str, default_step: str | None = None) -> Decimal:
    try:
        value = Decimal(text.strip())
    except InvalidOperation:
        raise FieldError(what, whole, f"does not parse: {text.strip()!r} is not a number; "
                         f"{_forms(default_step)}") from None
    if not value.is_finite():
        raise FieldError(what, whole, f"does not parse: {text.strip()!r} is not a finite number")
    return value


def parse_range(text: str | float, what: str = "range", default_step: str | None = None) -> list[float]:
    """'START:STOP:STEP' (STOP included when the steps land on it), 'START:STOP' (needs default_step),
    a single number, or a comma list '1.0,1.2,1.3'. Values come back in order, without duplicates."""
    if isinstance(text, (int, float)) and not isinstance(text, bool):
        return [float(text)]
    raw = str(text).strip()
    if not raw:
        raise FieldError(what, raw, "is empty: write START:STOP:STEP, e.g. 1.0:1.4:0.05")
    if "," in raw:
        values = [float(_decimal(part, what, raw, default_step)) for part in raw.split(",") if part.strip()]
        return sorted(set(values))
    parts = raw.split(":")
    if len(parts) == 1:
        return [float(_decimal(parts[0], what, raw, default_step))]
    if len(parts) == 2 and default_step is not None:
        parts.append(default_step)
    if len(parts) != 3:
        raise FieldError(what, raw, f"does not parse: {_forms(default_step)}")
    start, stop, step = (_decimal(p, what, raw, default_step) for p in parts)
    if step <= 0:
        raise FieldError(what, raw, "the step must be positive")
    if stop < start:
        raise FieldError(what, raw, "STOP is below START")
    count = int((stop - start) / step) + 1
    if count > 100_000:
        raise FieldError(what, raw, f"{count} points: use a larger step")
    return [float(start + i * step) for i in range(count)]


MAX_PHI_VALUES = 64


def parse_phi(text: str) -> list[float]:
    """'3' -> [3.0]; '0:7' -> [0, 1, ..., 7] (step 1); '0:2:0.5' -> [0, 0.5, ..., 2]; '-1,0,1' works."""
    values = parse_range(text, what="phi", default_step="1")
    if len(values) > MAX_PHI_VALUES:
        raise FieldError("phi", text, f"gives {len(values)} values; at most {MAX_PHI_VALUES} (one model each)")
    return values


_DURATION = re.compile(r"^\s*([0-9]*\.?[0-9]+(?:[eE][+-]?[0-9]+)?)\s*(us|µs|ms|s)\s*$", re.IGNORECASE)
_TO_MS = {"us": 1e-3, "µs": 1e-3, "ms": 1.0, "s": 1000.0}


def parse_duration(text: str | int | float, what: str = "duration") -> float:
    """'5ms', '0.8 s', '500us' -> milliseconds (5.0, 800.0, 0.5). The unit is required: a bare 5 could be
    seconds or milliseconds, and a size such as 400M is a count, not a time."""
    match = _DURATION.match(str(text))
    if not match:
        raise FieldError(what, text, "is not a duration: write e.g. 5ms, 0.8s or 500us")
    value = float(match.group(1)) * _TO_MS[match.group(2).lower()]
    if not math.isfinite(value) or value <= 0:
        raise FieldError(what, text, "must be a positive duration")
    return value


# The costs a score or a budget can use, and the unit each is given in (``--cost``, ``--target``).
COST_UNITS = {"flops": "multiply-adds", "activations": "activations", "latency": "ms", "params": "parameters"}


def parse_target(text: str, cost: str, what: str = "target") -> float:
    """A budget or score target in ``cost``'s unit: a size (400M) for counts, a duration (5ms) for latency.
    The wrong kind for the cost is refused in one line that says which kind it takes."""
    if cost not in COST_UNITS:
        raise FieldError("cost", cost, f"choose one of {', '.join(COST_UNITS)}")
    if cost == "latency":
        if _SIZE.match(str(text)) and not _DURATION.match(str(text)):
            raise FieldError(what, text, "has no time unit: the latency cost takes a duration, e.g. 5ms")
        return parse_duration(text, what)
    if _DURATION.match(str(text)):
        raise FieldError(what, text, f"is a duration, but the {cost} cost takes a count ({COST_UNITS[cost]}): "
                         "write e.g. 400M")
    return float(parse_size(text, what))


TARGET_FLOOR = 10
"""A cost target under 1/TARGET_FLOOR of the baseline's own cost is refused (check_target)."""


def show_cost(value: float, cost: str) -> str:
    """'401,659,392 multiply-adds (401.7M)', '12.3 ms'."""
    if cost == "latency":
        return f"{value:.3g} ms"
    return f"{int(value):,} {COST_UNITS[cost]} ({format_size(value)})"


def check_target(target: float, baseline_cost: float, *, field: str, cost: str, baseline: str) -> None:
    """The one rule for a cost target set against a baseline, in ``cost``'s unit: grid's score target T
    (the cost the scaled phi = 1 networks aim at; default twice the baseline's) and scale's budget (the
    largest member within it; phi = 0 is the baseline). Under 1/TARGET_FLOOR of the baseline's own cost
    (40M multiply-adds for EfficientNet-B0's 401.7M), no network of the family comes near it, and the
    scores it gives say nothing: it is a missing unit (400 for 400M) or a slipped decimal point far more
    often than a choice. Refused (FieldError on ``field``) with the baseline's cost and what to write."""
    if not (math.isfinite(target) and math.isfinite(baseline_cost)) or target * TARGET_FLOOR >= baseline_cost:
        return
    shown = f"{target:g}ms" if cost == "latency" else int(target)
    twice = f"{2 * baseline_cost:.3g}ms" if cost == "latency" else format_size(2 * baseline_cost)
    slip = "a slip of the unit or the decimal point" if cost == "latency" else "a missing unit (400 for 400M)"
    raise FieldError(field, shown, f"under 1/{TARGET_FLOOR} of {baseline}'s own cost, "
                     f"{show_cost(baseline_cost, cost)}: a target that far below the baseline fits none of its "
                     f"scaled networks and is usually {slip}; write e.g. {twice} (twice the baseline's cost: the "
                     "phi = 1 networks)")
