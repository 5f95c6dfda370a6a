"""Long-range: does the cost of learning a dependency grow more slowly with its distance for
the Transformer than for another model? One verdict per comparison.

The cost is the number of steps to the dev target, right-censored where a run never gets
there. For each comparison (Transformer vs LSTM, Transformer vs ConvS2S) one censored
log-normal model is fitted to both models' runs: an intercept and a slope on log2 distance
per model and one shared σ. Equal slopes are tested by a likelihood ratio, turned into a
small-sample t: ``t = sign(b_T − b_O)·√(df·(exp(LR/m) − 1))`` with m the runs that arrived
and df = m − 5 (for a normal regression without censoring this is exactly the t statistic
of the slope difference). The interval of the slope difference inverts the same test (a
profile-likelihood interval), so it excludes 0 exactly when the test decides. Bonferroni
over the comparisons. Null rate and power under the claims preset's design:
``tests/test_claims_calibration.py`` and docs/claims.md.
"""

from __future__ import annotations

from dataclasses import dataclass, replace

import numpy as np
import pandas as pd
from scipy import stats as sps

from catalog import BASELINES
from reports.claims import rungs as rg
from reports.claims.censored import censored_text, reach_step, truncate
from reports.claims.evidence import MIN_DISTANCES, MIN_SEEDS
from reports.claims.longrange_accuracy import check_accuracy_at_distance
from reports.claims.rungs import train_steps
from reports.claims.stats import bonferroni, censored_mle, censored_regression
from reports.claims.verdict import FAIL, INCONCLUSIVE, PASS, Verdict, combine
from reports.long_range_rows import long_range
from reports.records import records

OTHERS = BASELINES  # catalog.py: what the Transformer is judged against
HEADLINE = "lstm"  # attention against recurrence: the comparison the headline verdict states
N_PARAMS = 5  # two intercepts, two slopes, one shared σ
WHY_NOT_REQUIRED = {
    "convs2s": "shown, not required: ConvS2S's decoder attends to the source in every layer, "
    "so on match any two source positions are at most two attention hops apart and the "
    "distance does not lengthen its path; the convs2s_last control, attending in its last "
    "layer only, stalls beyond its encoder's reach (matrices/experiments/convs2s-hops.yaml, "
    "docs/claims.md#long-range-per-comparison)"
}


def long_range_runs(df: pd.DataFrame) -> pd.DataFrame:
    """Long-range runs with their steps to target: task, steps (budget), model, seed,
    distance, t, censored, source, target."""
    recs = []
    for r in records(long_range(df)):
        d = r.get("distance")
        if d is None or pd.isna(d) or float(d) <= 0:
            continue
        t, c, src = reach_step(r)
        recs.append(
            {
                "task": r["task"],
                "steps": train_steps(r),
                "model": r["model"],
                "seed": r.get("seed"),
                "distance": float(d),
                "t": t,
                "censored": c,
                "source": src,
                "target": r.get("target_value"),
                "eval_every": eval_every(r),
            }
        )
    cols = ["task", "steps", "model", "seed", "distance", "t", "censored", "source", "target"]
    cols.append("eval_every")
    return pd.DataFrame(recs, columns=cols)


def eval_every(row: dict) -> int:
    """The spacing of the run's dev checks (its arrival's resolution), else its log spacing."""
    train = (row.get("config") or {}).get("train") or {}
    return int(train.get("eval_every") or train.get("log_every") or 1)


@dataclass(frozen=True)
class SlopeTest:
    """The likelihood-ratio test of equal slopes of log steps to target on log2 distance."""

    diff: float  # Transformer's slope − the other's, per doubling of distance
    slopes: tuple[float, float]  # (Transformer, other) from the joint fit
    t: float
    df: int
    arrivals: int
    sigma: float
    loglik: float  # the joint fit's maximum log-likelihood (the profile interval's top)

    def critical(self, confidence: float) -> float:
        return float(sps.t.ppf(0.5 + confidence / 2, self.df))

    def decides(self, confidence: float) -> bool:
        return abs(self.t) > self.critical(confidence)


def _arrays(g: pd.DataFrame) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    is_t = g["model"].eq("transformer").to_numpy(float)
    x = np.log2(g["distance"].to_numpy(float))
    return np.log(g["t"].to_numpy(float)), g["censored"].to_numpy(bool), is_t, x


def _null_loglik(y: np.ndarray, c: np.ndarray, is_t: np.ndarray, x: np.ndarray, delta: float):
    """Log-likelihood of the model whose slopes differ by exactly ``delta``."""
    X = np.column_stack([is_t, 1 - is_t, x])
    fit = censored_mle(y - delta * x * is_t, c, X)
    return None if fit is None else fit.loglik


def _t_of(lr: float, m: int, df: int) -> float:
    return float(np.sqrt(df * np.expm1(max(lr, 0.0) / m)))


def slope_test(g: pd.DataFrame) -> SlopeTest | None:
    """The test on the runs of the Transformer and one other model (columns model, distance,
    t, censored); None when either model has no arrival, a model ran at fewer than two
    distances, or fewer than N_PARAMS + 1 runs arrived."""
    y, c, is_t, x = _arrays(g)
    arrived = ~c
    m = int(arrived.sum())
    for mask in (is_t == 1, is_t == 0):
        if not arrived[mask].any() or len(np.unique(x[mask])) < 2:
            return None
    df = m - N_PARAMS
    if df < 1:
        return None
    full = censored_mle(y, c, np.column_stack([is_t, 1 - is_t, x * is_t, x * (1 - is_t)]))
    null = _null_loglik(y, c, is_t, x, 0.0)
    if full is None or null is None:
        return None
    diff = float(full.coef[2] - full.coef[3])
    t = float(np.sign(diff)) * _t_of(2 * (full.loglik - null), m, df)
    slopes = (float(full.coef[2]), float(full.coef[3]))
    return SlopeTest(diff, slopes, t, df, m, full.sigma, full.loglik)


def profile_interval(
    g: pd.DataFrame, test: SlopeTest, confidence: float, reach: float = 16.0
) -> tuple[float, float]:
    """The slope differences δ the same test would not reject (its profile-likelihood
    interval); an end that stays inside ``reach`` of the estimate is infinite."""
    from scipy.optimize import brentq

    y, c, is_t, x = _arrays(g)
    crit = test.critical(confidence)
    ll_full = test.loglik  # the joint fit slope_test already made

    def excess(delta: float) -> float:
        ll = _null_loglik(y, c, is_t, x, delta)
        if ll is None:
            return float("inf")
        return _t_of(2 * (ll_full - ll), test.arrivals, test.df) - crit

    ends = []
    for sign in (-1.0, 1.0):
        step, inner, end = 0.125, test.diff, None
        while abs(inner - test.diff) < reach:
            outer = inner + sign * step
            if excess(outer) > 0:
                end = brentq(excess, min(inner, outer), max(inner, outer), xtol=1e-3)
                break
            inner, step = outer, step * 2
        ends.append(sign * float("inf") if end is None else float(end))
    return (ends[0], ends[1])


def judge_comparison(
    runs: pd.DataFrame,
    other: str,
    confidence: float,
    at: float | None = None,
    interval: bool = True,
) -> Verdict:
    """The Transformer against ``other`` on one task's runs (seen at budget rung ``at``):
    PASS when its slope is significantly lower, FAIL when higher, else INCONCLUSIVE saying
    why. ``interval=False`` skips the profile interval (the power simulations)."""
    g = runs[runs["model"].isin(["transformer", other])]
    if at is not None:
        t_, c_ = truncate(g["t"].to_numpy(float), g["censored"].to_numpy(bool), at)
        g = g.assign(t=t_, censored=c_)
    task = g["task"].iloc[0] if len(g) else "?"
    test = slope_test(g)
    if test is None:
        cens = g.groupby("model")["censored"].agg(lambda s: f"{int(s.sum())}/{len(s)}")
        counts = ", ".join(
            f"{m} {cens.get(m, '0/0')} runs censored" for m in ("transformer", other)
        )
        return Verdict(
            INCONCLUSIVE,
            f"{task}: censoring leaves too few arrivals to compare slopes against {other} "
            f"({counts}; need an arrival of each model and > {N_PARAMS} in all)",
            details={"why": "arrivals"},
        )
    effect = f"{task} slope transformer − {other}"
    iv = profile_interval(g, test, confidence) if interval else (float("nan"),) * 2
    shown = (
        f"{effect} {test.diff:+.2f} [{iv[0]:+.2f}, {iv[1]:+.2f}] ({confidence:.1%}; "
        f"likelihood-ratio t = {test.t:+.2f}, df {test.df}, {test.arrivals} arrivals)"
    )
    details = {"test": test}
    if not test.decides(confidence):
        return Verdict(
            INCONCLUSIVE,
            f"interval straddles the threshold: {shown} contains 0",
            interval=iv,
            threshold=0.0,
            details={**details, "why": "straddles"},
        )
    verdict, side = (PASS, "below") if test.t < 0 else (FAIL, "above")
    return Verdict(verdict, f"{shown} lies {side} 0", interval=iv, threshold=0.0, details=details)


def _fit_text(task: str, m: str, g: pd.DataFrame) -> str:
    """One model's own slope (a censored fit of its runs alone), for the numbers."""
    x = np.log2(g["distance"].to_numpy(float))
    fit = censored_regression(
        np.log(g["t"].to_numpy(float)),
        g["censored"].to_numpy(bool),
        np.column_stack([np.ones(len(x)), x]),
    )
    shown = (
        f"slope {fit.coef[1]:.2f} [{fit.low[1]:.2f}, {fit.high[1]:.2f}]"
        if fit is not None
        else "no slope of its own (censored)"
    )
    groups = {m: (g["t"].to_numpy(float), g["censored"].to_numpy(bool))}
    return f"{task}/{m}: {shown}; {censored_text(groups, 'steps')}"


def comparisons(runs: pd.DataFrame) -> list[tuple[str, str]]:
    """(task, other model) pairs that have runs of both the Transformer and the other."""
    return [
        (task, m)
        for task, g in runs.groupby("task")
        for m in OTHERS
        if m in set(g["model"]) and "transformer" in set(g["model"])
    ]


def judge_other(runs: pd.DataFrame, other: str, confidence: float) -> Verdict:
    """One comparison over the tasks that have it, judged at the budget rungs: the end of
    the budget, unless the ¾ rung decides the other way (rungs.stabilise)."""
    judged = []
    for _task, g in runs[runs["model"].isin(["transformer", other])].groupby("task"):
        end = judge_comparison(g, other, confidence)
        budgets = g["steps"].dropna()
        n = int(g.groupby(["model", "distance"]).size().min())
        if budgets.nunique() != 1:
            judged.append(rg.stabilise(end, [], n))
            continue
        steps = int(budgets.iloc[0])
        rungs = rg.at_rungs(
            steps,
            lambda s, g=g: judge_comparison(g, other, confidence, at=s),
            "slope difference of log steps to target",
            end,
        )
        judged.append(rg.stabilise(end, rungs, n))
    if len(judged) == 1:
        return judged[0]
    v = combine(judged, "", 0.0)
    return replace(v, details={**judged[0].details, "tasks": judged})


def check_long_range_cost(df: pd.DataFrame) -> Verdict:
    """Steps to the target against log2 distance, censored, one verdict per comparison
    (``details["comparisons"]``); the headline is the Transformer against the LSTM (attention
    against recurrence), and ConvS2S's line says why it is shown, not required. A constant
    offset between models moves the intercepts, not the slopes: not long-range."""
    runs = long_range_runs(df)
    if runs.empty or "transformer" not in set(runs["model"]):
        return Verdict(
            INCONCLUSIVE, "no long-range rows of the Transformer (match, dependency, recall)"
        )
    texts = [_fit_text(task, m, g) for (task, m), g in runs.groupby(["task", "model"])]
    sources = ", ".join(sorted(set(runs["source"])))
    targets = runs["target"].dropna().unique().tolist()
    numbers = "; ".join(texts) + f" (steps to target {targets} from {sources} curves)"
    few = []  # a control (lstm_uni, convs2s_last) is shown, never judged: its design is its own
    judged = runs[runs["model"].isin(["transformer", *OTHERS])]
    for (task, m), g in judged.groupby(["task", "model"]):
        if g["distance"].nunique() < MIN_DISTANCES:
            few.append(f"{task}/{m}: {g['distance'].nunique()} distance(s)")
        per = g.groupby("distance").size()
        if per.min() < MIN_SEEDS:
            few.append(f"{task}/{m}: {int(per.min())} seed(s) at a distance")
    if few:
        return Verdict(
            INCONCLUSIVE,
            f"too few seeds or distances (need ≥ {MIN_SEEDS} seeds at ≥ {MIN_DISTANCES} "
            "distances): " + "; ".join(few),
            numbers,
        )
    pairs = comparisons(runs)
    if not pairs:
        return Verdict(INCONCLUSIVE, "no long-range runs of the Transformer and another model")
    conf = bonferroni(len(pairs))
    others = [m for m in OTHERS if any(o == m for _, o in pairs)]
    lines = {m: judge_other(runs, m, conf) for m in others}
    head = lines.get(HEADLINE) or lines[others[0]]
    parts = []
    for m, v in lines.items():
        note = f" ({WHY_NOT_REQUIRED[m]})" if m in WHY_NOT_REQUIRED and m != HEADLINE else ""
        parts.append(f"vs {m}: {v.verdict}: {v.reason}{note}")
    reason = "; ".join(parts)
    if head is not lines.get(HEADLINE):
        reason = f"no LSTM runs, the headline is vs {others[0]}; {reason}"
    details = {
        **head.details,
        "comparisons": {m: v for m, v in lines.items()},
        "confidence": conf,
    }
    numbers += f" ({conf:.1%} each, Bonferroni over {len(pairs)} comparisons)"
    return Verdict(head.verdict, reason, numbers, head.interval, 0.0, details)


def check_long_range(df: pd.DataFrame) -> Verdict:
    """How the cost grows with distance (``longrange.check_long_range_cost``), with the
    accuracy at the end of the budget alongside: accuracy at one budget is not the verdict."""
    v = check_long_range_cost(df)
    acc = check_accuracy_at_distance(df)
    numbers = f"{v.numbers}; accuracy at the end of the budget: {acc.verdict} ({acc.reason})"
    return replace(v, numbers=numbers)
