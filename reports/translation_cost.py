"""Translation quality against training cost: the compared translate runs' dev quality at
each budget rung (¼, ½, ¾, the end) against the training FLOPs and seconds spent to reach
it, and how the Transformer's gap to each other model moves per doubling of the budget.

The quality is the dev BLEU of greedy decodes at the rungs (``dev_greedy_bleu``, written by
cells since translation declared ``rung_metrics``); rows from before measured only the
teacher-forced dev token accuracy there, and the figure then draws that, saying so. A trend,
not a verdict: it extrapolates nothing beyond the budget.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd
from scipy import stats

from reports.records import records

BLEU_AT_RUNGS = "dev_greedy_bleu"
TOKEN_ACC_AT_RUNGS = "dev_tf_token_acc"
LABELS = {
    BLEU_AT_RUNGS: "dev BLEU (greedy)",
    TOKEN_ACC_AT_RUNGS: "dev token accuracy (teacher-forced)",
}
COLUMNS = ["model", "seed", "step", "flops", "seconds", "value"]


def rung_metric(rows: list[dict[str, Any]]) -> str:
    """BLEU at the rungs where every row has it, else teacher-forced token accuracy."""
    has = [BLEU_AT_RUNGS in _rungs(r) for r in rows]
    return BLEU_AT_RUNGS if rows and all(has) else TOKEN_ACC_AT_RUNGS


def _rungs(r: dict[str, Any]) -> dict[str, list]:
    """The row's dev outcomes at the budget rungs (bench/cell/dev.py), {} when it has none."""
    return r["dev_rungs"] if isinstance(r.get("dev_rungs"), dict) else {}


def _number(value: Any) -> float | None:
    """A positive finite float, or None (missing, NaN, zero)."""
    try:
        x = float(value)
    except (TypeError, ValueError):
        return None
    return x if np.isfinite(x) and x > 0 else None


def _flops_per_step(r: dict[str, Any]) -> float | None:
    """Training FLOPs of one step: FLOPs per target token (counted, else analytic) × the
    target tokens a step trains (tokens/s × seconds per step), as T2-cost counts them."""
    fpt = _number(r.get("flops_per_token_counted")) or _number(r.get("flops_per_token_analytic"))
    tok_s, step_s = _number(r.get("train_tgt_tokens_per_s")), _number(r.get("train_step_s"))
    if fpt is None or tok_s is None or step_s is None:
        return None
    return fpt * tok_s * step_s


def cost_curves(rows: list[dict[str, Any]]) -> tuple[pd.DataFrame, str]:
    """One line per run and rung of ``rows`` (the compared translate runs): model, seed, step,
    training FLOPs and training seconds to that step, and the rung's quality; and its metric."""
    metric = rung_metric(rows)
    out = []
    for r in rows:
        rungs = _rungs(r)
        per_step = _flops_per_step(r)
        step_s = r.get("train_step_s")
        if not rungs or per_step is None or metric not in rungs:
            continue
        for step, value in zip(rungs["step"], rungs[metric], strict=True):
            if value is None:
                continue
            out.append(
                {
                    "model": r["model"],
                    "seed": r.get("seed"),
                    "step": int(step),
                    "flops": per_step * step,
                    "seconds": float(step_s) * step,
                    "value": float(value),
                }
            )
    return pd.DataFrame(out, columns=COLUMNS), metric


@dataclass(frozen=True)
class GapTrend:
    """The Transformer − ``other`` gap's change per doubling of the training steps: the mean
    over seed pairs of each pair's least-squares slope on log2 steps, with a t interval."""

    other: str
    slope: float
    low: float
    high: float
    pairs: int
    first: float  # the mean gap at the first rung and at the last
    last: float

    def text(self, unit: str) -> str:
        return (
            f"Transformer − {self.other}: {self.first:+.2f} at the first rung, "
            f"{self.last:+.2f} at the end; {self.slope:+.2f} {unit} per doubling of steps "
            f"[{self.low:+.2f}, {self.high:+.2f}] (95% t over {self.pairs} seed pairs)"
        )


def gap_trend(curves: pd.DataFrame, other: str, confidence: float = 0.95) -> GapTrend | None:
    """How the Transformer − ``other`` gap moves with the budget; None without at least two
    seeds that both models ran at two or more common rungs."""
    pivot = curves.pivot_table(index=["seed", "step"], columns="model", values="value")
    if "transformer" not in pivot or other not in pivot:
        return None
    gaps = (pivot["transformer"] - pivot[other]).dropna().reset_index(name="gap")
    slopes, firsts, lasts = [], [], []
    for _, g in gaps.groupby("seed"):
        if g["step"].nunique() < 2:
            continue
        g = g.sort_values("step")
        slopes.append(np.polyfit(np.log2(g["step"].to_numpy(float)), g["gap"].to_numpy(), 1)[0])
        firsts.append(g["gap"].iloc[0])
        lasts.append(g["gap"].iloc[-1])
    n = len(slopes)
    if n < 2:
        return None
    mean, sem = float(np.mean(slopes)), float(np.std(slopes, ddof=1) / np.sqrt(n))
    half = float(stats.t.ppf(0.5 + confidence / 2, n - 1)) * sem
    return GapTrend(
        other, mean, mean - half, mean + half, n, float(np.mean(firsts)), float(np.mean(lasts))
    )


def compared_rows(df: pd.DataFrame) -> list[dict[str, Any]]:
    """The translate runs the Translation claim compares (its setting per model), ok ones."""
    from reports.claims.evidence import setting_id
    from reports.claims.translation_bleu import translation_cells

    cells, _, _ = translation_cells(df)
    if not cells:
        return []
    return [
        r
        for r in records(df[df["task"].eq("translate")])
        if r.get("ok") and r["model"] in cells and setting_id(r) == cells[r["model"]].setting
    ]
