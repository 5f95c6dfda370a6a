"""Curves, not points: a quality verdict judged at budget rungs (¼, ½, ¾ and the end).

A PASS or FAIL at the end stands unless the ¾ rung decides the other way (FAIL at ¾, PASS at
the end, or the reverse): then it is INCONCLUSIVE "budget-dependent", naming where it
changes. An undecided ¾ rung (too few arrivals yet, an interval still straddling) blocks
nothing: a slow model that arrives late is evidence, not instability.
Rungs come from what the rows measured along training: the dev curve (``dev_curve``, when
``train.eval_every`` > 0, and ``dev_rungs``, which every cell writes at these rungs) or the
step at which a run reached its target (``curve``, ``steps_to_target``: a run that has not
reached it by a rung is censored there). A claim whose rows have neither rests on one point,
and says so: rungs are never invented.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import replace
from typing import Any

import numpy as np

from bench.rundir.rows import dev_points
from reports.claims.verdict import FAIL, INCONCLUSIVE, PASS, Verdict

FRACTIONS = (0.25, 0.5, 0.75, 1.0)
DEV_METRIC = "dev_tf_token_acc"


def train_steps(row: dict[str, Any]) -> int | None:
    steps = ((row.get("config") or {}).get("train") or {}).get("steps")
    return int(steps) if steps else None


def rung_steps(steps: int) -> list[int]:
    """The budget rungs of a ``steps``-step run: ¼, ½, ¾ and the end."""
    return [max(1, int(round(f * steps))) for f in FRACTIONS]


def dev_curve(row: dict[str, Any], metric: str = DEV_METRIC) -> dict[str, list] | None:
    """The row's dev ``metric`` along training: the ``eval_every`` curve and the budget rungs
    every cell measures (``dev_rungs``, bench/cell/dev.py), merged by step."""
    points = dev_points(row, metric)
    if not points:
        return None
    steps = sorted(points)
    return {"step": steps, metric: [points[s] for s in steps]}


def dev_at(row: dict[str, Any], step: int) -> float | None:
    """The row's dev metric at ``step``: its last dev point at or before it, if that point is
    within one evaluation interval of the step (else None: no such rung was measured)."""
    curve = dev_curve(row)
    if curve is None:
        return None
    steps = np.asarray(curve["step"], float)
    every = float(np.min(np.diff(steps))) if len(steps) > 1 else float(steps[0])
    before = np.flatnonzero(steps <= step)
    if not len(before) or step - steps[before[-1]] > every:
        return None
    return float(curve[DEV_METRIC][before[-1]])


def rung(step: int | None, v: Verdict, metric: str, fraction: float | None = None) -> dict:
    """One rung of ``claims --json``: its step (None where the runs' budgets differ: then
    ``fraction`` of each run's budget), the judged interval and the verdict there."""
    iv = v.interval
    finite = iv is not None and all(np.isfinite(x) for x in iv)
    out = {
        "step": None if step is None else int(step),
        "interval": [float(iv[0]), float(iv[1])] if finite else None,
        "verdict": v.verdict,
        "metric": metric,
    }
    return out if fraction is None else {**out, "fraction": fraction}


def at_rungs(
    steps: int, judge: Callable[[int], Verdict], metric: str, end: Verdict | None = None
) -> list[dict[str, Any]]:
    """``judge(step)`` at each rung; the end rung is ``end`` when given (the claim's own
    verdict, measured on test)."""
    out = []
    for s in rung_steps(steps):
        v = end if end is not None and s == steps else judge(s)
        out.append(rung(s, v, metric))
    return out


ONE_POINT = "no dev curve: train.eval_every = 0"


def stabilise(
    end: Verdict, rungs: list[dict[str, Any]], n_seeds: int | None, why_one: str = ONE_POINT
) -> Verdict:
    """``end`` kept unless the ¾ rung decided the opposite way; then INCONCLUSIVE
    "budget-dependent" naming where it changed. Rungs and stability go in ``details``:
    ``stable`` is False only for opposite decisions, and ``three_quarter`` is the ¾ verdict."""
    details = {**end.details, "rungs": rungs, "n_seeds": n_seeds}
    if len(rungs) < 2:
        details["stable"] = None
        details["rungs"] = rungs or [rung(None, end, "end of training")]
        reason = end.reason + f"; rests on one point ({why_one})"
        return replace(end, reason=reason, details=details)
    three_q, last = rungs[-2], rungs[-1]
    stable = not opposite(three_q["verdict"], last["verdict"])
    details["stable"] = stable
    details["three_quarter"] = three_q["verdict"]
    if stable or end.verdict == INCONCLUSIVE:
        return replace(end, details=details)
    where = change_point(rungs)
    return Verdict(
        INCONCLUSIVE,
        f"budget-dependent: {end.verdict} at the end ({at(last)}) but "
        f"{three_q['verdict']} at ¾ ({at(three_q)}); {where}",
        end.numbers,
        end.interval,
        end.threshold,
        details,
    )


def change_point(rungs: list[dict[str, Any]]) -> str:
    """Where the curves cross (the judged interval's midpoint changes sign), else where the
    verdict last changed."""
    mids = [(r, (r["interval"][0] + r["interval"][1]) / 2) for r in rungs if r["interval"]]
    for (r0, m0), (r1, m1) in zip(mids[::-1][1:], mids[::-1], strict=False):
        if np.sign(m0) != np.sign(m1):
            return f"the curves cross between {at(r0)} and {at(r1)}"
    for r0, r1 in zip(rungs[::-1][1:], rungs[::-1], strict=False):
        if r0["verdict"] != r1["verdict"]:
            return f"the verdict changes between {at(r0)} and {at(r1)}"
    return "the verdict is not the same at ¾ and at the end"


def at(r: dict[str, Any]) -> str:
    """Where a rung is: ``step 150``, or ``0.75 of each run's budget``."""
    return (
        f"step {r['step']}"
        if r.get("step") is not None
        else f"{r['fraction']:g} of each run's budget"
    )


def opposite(a: str, b: str) -> bool:
    """PASS against FAIL (either way round): the only disagreement that is instability."""
    return {a, b} == {PASS, FAIL}


def decided(v: Verdict) -> bool:
    return v.verdict in (PASS, FAIL)
