"""Table 1 claims: per-layer complexity, the n < d crossover, sequential operations."""

from __future__ import annotations

from collections import Counter
from dataclasses import replace

import numpy as np
import pandas as pd

from catalog import BASELINES, SUBJECT_MODEL
from reports.claims.paired import by_seed, crossover_fit, paired_ratio
from reports.claims.stats import Slope, bonferroni, slope, slope_difference
from reports.claims.verdict import FAIL, INCONCLUSIVE, PASS, Verdict, against, inconclusive
from reports.length_series import N_OVER_D, Series, series
from reports.numbers import fmt

MIN_LENGTHS = 4
MIN_SPAN = 8.0  # longest / shortest length of a complexity fit
SEQ_LENGTHS = 3
LINEAR, QUADRATIC = 1.0, 2.0


def _fit(s: Series, metric: str = "value", max_length: float = float("inf")) -> Slope | None:
    """Slope of log metric on log n over every ok row (seeds are points) of the series."""
    rows = s.rows if s.rows is not None else s.points
    rows = rows[rows["length"] <= max_length]
    vals = pd.to_numeric(rows[metric], errors="coerce")
    keep = vals > 0
    return slope(np.log(rows["length"][keep]), np.log(vals[keep]))


def _span_ok(s: Series) -> bool:
    lengths = s.points["length"]
    return len(lengths) >= MIN_LENGTHS and lengths.max() >= MIN_SPAN * lengths.min()


def _expected(s: Series) -> float | None:
    """Exponent the rows' own analytic FLOPs predict for time per sequence over the same n:
    the slope of log(FLOPs/token × n) on log n."""
    if s.rows is None or "flops_per_token_analytic" not in s.rows:
        return None
    f = pd.to_numeric(s.rows["flops_per_token_analytic"], errors="coerce")
    keep = f > 0
    fit = slope(np.log(s.rows["length"][keep]), np.log(f[keep] * s.rows["length"][keep]))
    return fit.slope if fit else None


def check_complexity(df: pd.DataFrame) -> Verdict:
    """Transformer time per sequence grows faster than linearly (slope interval above 1 and
    containing its FLOPs-expected exponent); LSTM and ConvS2S below quadratic."""
    time = series(df, "time_per_seq_s")
    if "transformer" not in time:
        return inconclusive("no speed sweep of the Transformer over lengths")
    fails = _failures_text(df)
    models = [m for m in (SUBJECT_MODEL, *BASELINES) if m in time]
    short = [
        f"{m}: {len(time[m].points)} lengths "
        f"{fmt(time[m].points['length'].min())}–{fmt(time[m].points['length'].max())}"
        for m in models
        if not _span_ok(time[m])
    ]
    if short or len(models) < 2:
        return inconclusive(
            f"too few lengths: need ≥ {MIN_LENGTHS} lengths spanning ≥ {MIN_SPAN:g}× for the "
            "Transformer and another model (" + "; ".join(short or ["one model only"]) + ")",
            fails or "-",
        )
    conf = bonferroni(len(models))
    fits = {m: _fit(time[m]) for m in models}
    expected = {m: _expected(time[m]) for m in models}
    texts = []
    for m in models:
        f = fits[m]
        if f is None:
            continue
        lo, hi = slope_interval(f, conf)
        exp = f"expected {expected[m]:.2f}" if expected[m] is not None else "no FLOPs recorded"
        texts.append(f"{m} time exponent {f.slope:.2f} [{lo:.2f}, {hi:.2f}] ({exp}, R² {f.r2:.2f})")
    numbers = "; ".join(texts) + f" ({conf:.1%} each)" + (f"; {fails}" if fails else "")
    t = fits["transformer"]
    t_ci = slope_interval(t, conf)
    t_verdict = against(t_ci, LINEAR, "", "Transformer time exponent", confidence=conf)
    others = [
        against(slope_interval(fits[m], conf), QUADRATIC, "", f"{m} time exponent", "below", conf)
        for m in models[1:]
        if fits[m] is not None
    ]
    if t_verdict.verdict == FAIL:
        return Verdict(FAIL, t_verdict.reason + " (no faster than linear)", numbers, t_ci, LINEAR)
    bad = [v for v in others if v.verdict == FAIL]
    if bad:
        return Verdict(FAIL, bad[0].reason, numbers, bad[0].interval, QUADRATIC)
    exp_t = expected["transformer"]
    if exp_t is not None and not t_ci[0] <= exp_t <= t_ci[1]:
        return inconclusive(
            f"the Transformer's exponent interval [{t_ci[0]:.2f}, {t_ci[1]:.2f}] excludes the "
            f"{exp_t:.2f} its FLOPs predict over these lengths (kernels, memory, overheads)",
            numbers,
            t_ci,
            LINEAR,
        )
    if t_verdict.verdict == PASS and all(v.verdict == PASS for v in others):
        return Verdict(PASS, t_verdict.reason, numbers, t_ci, LINEAR)
    if exp_t is not None and exp_t < 1.2:
        return inconclusive(
            f"over these lengths even the FLOPs predict near-linear time (exponent {exp_t:.2f}): "
            f"lengths n ≥ {N_OVER_D:g}·d are needed (`attnbench matrix run scaling`)",
            numbers,
            t_ci,
            LINEAR,
        )
    mid = t_verdict if t_verdict.verdict != PASS else next(v for v in others if v.verdict != PASS)
    runs = int(time["transformer"].rows.groupby("length").size().min())
    design = {"n": runs, "df": t.n - 2, "unit": "runs per length", "confidence": conf}
    if exp_t is not None:  # a PASS must also hold the exponent the FLOPs predict
        design["contain"] = exp_t
    return replace(inconclusive(mid.reason, numbers, t_ci, LINEAR), details={"design": design})


def slope_interval(f: Slope, confidence: float) -> tuple[float, float]:
    """The slope's t interval at ``confidence`` (the fit stores 95%)."""
    from scipy import stats as sps

    t = sps.t.ppf(0.5 + confidence / 2, f.n - 2)
    return (f.slope - t * f.stderr, f.slope + t * f.stderr)


def _failures_text(df: pd.DataFrame) -> str:
    """OOM and timeouts of the sweep are evidence too: name them."""
    bad = df[df["status"].isin(["failed:oom", "failed:timeout"]) & df["length"].notna()]
    if bad.empty:
        return ""
    return "failed: " + ", ".join(
        f"{r.model} n={fmt(r.length)} {r.status.removeprefix('failed:')}" for r in bad.itertuples()
    )


def check_crossover(df: pd.DataFrame) -> Verdict:
    """At every measured n < d the Transformer's training tokens/s exceed the LSTM's (ratio
    interval above 1, over timing blocks and seeds); the ratio's trend with n is reported."""
    speed = series(df, "train_tgt_tokens_per_s")
    if "transformer" not in speed or "lstm" not in speed:
        return inconclusive("needs a speed sweep of both the Transformer and the LSTM")
    t, lstm = speed["transformer"], speed["lstm"]
    d = t.width or 0.0
    shared = sorted(set(t.points["length"]) & set(lstm.points["length"]))
    short = [n for n in shared if n < d]
    analytic = f"analytic per-layer cost ratio n²d / nd² = n/d: crossover at n = d = {fmt(d)}"
    if not short:
        return inconclusive(f"needs a length n < d = {fmt(d)} measured for both models", analytic)
    parts, pairs, ratios = [], [], {}
    for n in short:
        a, b = t.rows[t.rows["length"].eq(n)], lstm.rows[lstm.rows["length"].eq(n)]
        ratio = ratios[n] = paired_ratio(a, b)
        parts.append(f"n={fmt(n)}: " + (ratio.text() if ratio else "too few runs"))
        sa, sb = by_seed(a), by_seed(b)
        pairs += [(n, sa[k] - sb[k]) for k in sorted(set(sa) & set(sb), key=str)]
    logs = [
        (np.log(n), np.log(v)) for n in shared for v in [_median_ratio(t, lstm, n)] if v and v > 0
    ]
    trend = slope([a for a, _ in logs], [b for _, b in logs])
    trend_text = (
        f"; ratio trend with n over every length (log-log slope) {trend.text()}" if trend else ""
    )
    numbers = f"{analytic}; Transformer/LSTM training tokens/s at n < d (95%): " + ", ".join(parts)
    per_length = Counter(n for n, _ in pairs)
    k = min(per_length.values()) if per_length else 0
    if len(short) == 1 or len(per_length) < 2:  # one length: its paired ratio
        n = short[0]
        ratio = ratios[n]
        if ratio is None:
            return inconclusive(
                f"too few runs at n={fmt(n)} (need ≥ 2 per model, best as back-to-back pairs)",
                numbers + trend_text,
            )
        v = against(ratio.interval, 1.0, "", f"Transformer/LSTM tokens/s at n={fmt(n)}")
        design = {"n": max(ratio.pairs, 1), "df": ratio.df, "unit": "pairs of runs"}
        return replace(
            v,
            numbers=numbers + trend_text,
            details={"design": {**design, "log": True, "confidence": 0.95}},
        )
    conf = bonferroni(2)  # the fitted line judged at both ends of n < d
    fit = crossover_fit(pairs, conf)
    if fit is None:
        return inconclusive("too few pairs of runs for a regression over n < d", numbers)
    ends = ", ".join(
        f"n={fmt(n)}: {e:.2f}× [{iv[0]:.2f}, {iv[1]:.2f}]"
        for n, e, iv in zip(fit.ends, fit.estimates, fit.intervals, strict=True)
    )
    numbers += (
        f"; one regression of the paired log ratio on log n over n < d ({fit.pairs} pairs, "
        f"slope {fit.slope:+.2f}), at its ends ({conf:.1%} each): {ends}" + trend_text
    )
    design = {"n": k, "df": fit.df, "unit": "pairs per length", "log": True, "confidence": conf}
    if all(iv[0] > 1 for iv in fit.intervals):
        low = fit.worst()
        why = f"the fitted Transformer/LSTM tokens/s ratio lies above 1 over n < d: {ends}"
        return Verdict(PASS, why, numbers, low, 1.0, {"design": design})
    below = [iv for iv in fit.intervals if iv[1] < 1]
    if below:
        why = f"the fitted Transformer/LSTM tokens/s ratio lies below 1 at an end of n < d: {ends}"
        return Verdict(FAIL, why, numbers, below[0], 1.0, {"design": design})
    worst = next(iv for iv in fit.intervals if iv[0] <= 1)
    why = (
        f"interval straddles the threshold: the fitted Transformer/LSTM tokens/s ratio over "
        f"n < d contains 1 at an end: {ends}"
    )
    return Verdict(INCONCLUSIVE, why, numbers, worst, 1.0, {"design": design})


def _median_ratio(a: Series, b: Series, n: float) -> float | None:
    pa = a.points.set_index("length")["value"]
    pb = b.points.set_index("length")["value"]
    return float(pa[n] / pb[n]) if n in pa and n in pb and pb[n] else None


def check_sequential(df: pd.DataFrame) -> Verdict:
    """On a parallel device (CUDA), the LSTM's step time grows with n faster than the
    Transformer's (difference of log-log slopes above 0) for n <= 2d."""
    step = series(df, "train_step_s")
    if "transformer" not in step or "lstm" not in step:
        return inconclusive("needs step times of both the Transformer and the LSTM against n")
    t, lstm = step["transformer"], step["lstm"]
    limit = N_OVER_D * (t.width or 0.0)
    t_fit, l_fit = _fit(t, max_length=limit), _fit(lstm, max_length=limit)
    numbers = (
        "; ".join(
            f"{name} step-time exponent {f.text()}" if f else f"{name}: fewer than 3 points"
            for name, f in (("LSTM", l_fit), ("Transformer", t_fit))
        )
        + f" (n ≤ {N_OVER_D:g}·d = {fmt(limit)})"
    )
    device = set(t.rows["device"]) if t.rows is not None else {"cpu"}
    if "cuda" not in device:
        return inconclusive(
            "hardware: on a CPU all positions share a few cores, so O(1) sequential operations "
            "cannot show; judged on a GPU only",
            numbers,
        )
    if t_fit is None or l_fit is None or min(t_fit.n, l_fit.n) < SEQ_LENGTHS:
        return inconclusive(f"needs ≥ {SEQ_LENGTHS} lengths n ≤ 2d for both models", numbers)
    interval = slope_difference(l_fit, t_fit)
    return against(interval, 0.0, numbers, "LSTM − Transformer step-time exponent")
