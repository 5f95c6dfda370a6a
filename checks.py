"""The one helper for numeric value checks of configs, tasks and models alike.

    check_values(cfg, "train", steps=">= 1", lr="> 0", target_acc="(0, 1]")

Each bound is a comparison (``>= 1``, ``> 0``, ``<= 1000``) or an interval (``[0, 1)``,
``(0, 1]``); a field outside it raises ValueError naming ``section.field``, the bound and
the value: ``train.lr must be > 0, got 0.0``. Standard library only (parse-time checks of
types and finiteness are bench.cell.config's ``check_number``).
"""

from __future__ import annotations

import operator
import re
from collections.abc import Callable
from typing import Any

COMPARE: dict[str, Callable[[Any, Any], bool]] = {
    ">=": operator.ge,
    ">": operator.gt,
    "<=": operator.le,
    "<": operator.lt,
}
_COMPARISON = re.compile(r"^(>=|>|<=|<)\s*(\S+)$")
_INTERVAL = re.compile(r"^([\[(])\s*([^,\s]+)\s*,\s*([^\]\)\s]+)\s*([\])])$")


def within(value: Any, bound: str) -> bool:
    """Whether ``value`` satisfies ``bound`` (a comparison or an interval, as above)."""
    if m := _COMPARISON.match(bound):
        return COMPARE[m.group(1)](value, float(m.group(2)))
    if m := _INTERVAL.match(bound):
        low, high = float(m.group(2)), float(m.group(3))
        above = value >= low if m.group(1) == "[" else value > low
        below = value <= high if m.group(4) == "]" else value < high
        return above and below
    raise ValueError(f"not a bound: {bound!r} (use e.g. '>= 1', '> 0' or '[0, 1)')")


def check_values(cfg: object, section: str, **bounds: str) -> None:
    """ValueError naming the first field of ``cfg`` outside its bound (in the given order)."""
    for name, bound in bounds.items():
        value = getattr(cfg, name)
        if not within(value, bound):
            shown = f"in {bound}" if bound[0] in "[(" else bound
            raise ValueError(f"{section}.{name} must be {shown}, got {value}")
