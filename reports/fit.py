"""Power-law fits on log-log axes and crossover points between two measured curves."""

from __future__ import annotations

import math
from dataclasses import dataclass


@dataclass(frozen=True)
class PowerFit:
    """``y ≈ prefactor * x ** exponent``, fitted by least squares on log x, log y."""

    exponent: float
    prefactor: float
    r2: float  # coefficient of determination of the log-log fit
    n_points: int
    x_min: float
    x_max: float

    def predict(self, x: float) -> float:
        return self.prefactor * x**self.exponent


def fit_power_law(xs: list[float], ys: list[float]) -> PowerFit | None:
    """Fit a power law to the positive, finite (x, y) pairs; None with fewer than 2 distinct x."""
    kept = [
        (float(x), float(y)) for x, y in zip(xs, ys, strict=True) if _positive(x) and _positive(y)
    ]
    pts = [(math.log(x), math.log(y)) for x, y in kept]
    if len({p[0] for p in pts}) < 2:
        return None
    n = len(pts)
    mx = sum(p[0] for p in pts) / n
    my = sum(p[1] for p in pts) / n
    sxx = sum((p[0] - mx) ** 2 for p in pts)
    sxy = sum((p[0] - mx) * (p[1] - my) for p in pts)
    syy = sum((p[1] - my) ** 2 for p in pts)
    slope = sxy / sxx
    intercept = my - slope * mx
    ss_res = sum((p[1] - intercept - slope * p[0]) ** 2 for p in pts)
    r2 = 1.0 - ss_res / syy if syy > 0 else 1.0
    x_used = [x for x, _ in kept]
    return PowerFit(slope, math.exp(intercept), r2, n, min(x_used), max(x_used))


def crossovers(xs: list[float], ya: list[float], yb: list[float]) -> list[tuple[float, str, str]]:
    """Where curve a and curve b swap order, as (x, leader below x, leader above x).

    ``xs`` are sorted shared x values; the crossing is interpolated on log-log axes between
    the two measured points that bracket it. Leaders are ``"a"`` or ``"b"`` (higher y).
    """
    pts = [
        (float(x), math.log(a / b))
        for x, a, b in zip(xs, ya, yb, strict=True)
        if _positive(x) and _positive(a) and _positive(b)
    ]
    out = []
    last: tuple[float, float] | None = None  # the last point where one curve led
    tie: float | None = None  # the first tied point since then
    for x, d in pts:
        if d == 0:
            tie = x if tie is None else tie
            continue
        if last is not None and last[1] * d < 0:
            x0, d0 = last
            t = d0 / (d0 - d)
            at = tie if tie is not None else math.exp(math.log(x0) + t * math.log(x / x0))
            out.append((at, "a" if d0 > 0 else "b", "b" if d0 > 0 else "a"))
        last, tie = (x, d), None
    return out


def _positive(v: object) -> bool:
    try:
        f = float(v)  # type: ignore[arg-type]
    except (TypeError, ValueError):
        return False
    return math.isfinite(f) and f > 0
