"""Number formatting shared by tables and verdict lines (significant figures, spreads)."""

from __future__ import annotations

import math


def fmt(x: object, digits: int = 3) -> str:
    """``x`` to ``digits`` significant figures; ``n/a`` when absent or not a number."""
    try:
        f = float(x)  # type: ignore[arg-type]
    except (TypeError, ValueError):
        return "n/a"
    if math.isnan(f):
        return "n/a"
    return f"{f:.{digits}g}"


def spread(median: object, lo: object, hi: object, digits: int = 3) -> str:
    """``median [lo–hi]``, or just the median when the range is a single value."""
    if fmt(lo, digits) == fmt(hi, digits):
        return fmt(median, digits)
    return f"{fmt(median, digits)} [{fmt(lo, digits)}–{fmt(hi, digits)}]"


def count(x: object) -> str:
    """An integer count with thousands separators (``1,000,000``); ``n/a`` when absent."""
    return "n/a" if fmt(x) == "n/a" else f"{round(float(x)):,}"  # type: ignore[arg-type]


def count_spread(median: object, lo: object, hi: object) -> str:
    """``median [lo–hi]`` of counts, or just the median when all agree."""
    if count(lo) == count(hi):
        return count(median)
    return f"{count(median)} [{count(lo)}–{count(hi)}]"
