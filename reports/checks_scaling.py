"""Checks of the paper's Table 1 claims (complexity, n < d crossover, sequential operations)."""

from __future__ import annotations

import pandas as pd

from reports.fit import PowerFit, crossovers
from reports.numbers import fmt
from reports.scaling import N_OVER_D, Series, series
from reports.verdict import Outcome, decide, inconclusive

QUADRATIC = (1.6, 2.3)  # accepted exponent of Transformer time or memory for n >> d
LINEAR = (0.7, 1.3)  # accepted exponent for "about linear"
MIN_LENGTHS = 3
PARALLEL_MARGIN = 0.2  # Transformer step-time exponent must undercut the LSTM's by this much
SPEED_TOL = 0.10  # relative tolerance on tokens/s comparisons


def _fit_text(name: str, fit: PowerFit | None) -> str:
    if fit is None:
        return f"{name}: no fit"
    span = f"n {fmt(fit.x_min, 4)}–{fmt(fit.x_max, 4)}"
    return f"{name} {fmt(fit.exponent)} (R² {fmt(fit.r2, 2)}, {fit.n_points} lengths, {span})"


def _usable(fit: PowerFit | None) -> bool:
    return fit is not None and fit.n_points >= MIN_LENGTHS


def _inside(fit: PowerFit, band: tuple[float, float]) -> bool:
    return band[0] <= fit.exponent <= band[1]


def check_complexity(df: pd.DataFrame) -> Outcome:
    """Transformer time or memory exponent in QUADRATIC for n >> d; LSTM, ConvS2S time ~ linear."""
    time, mem = series(df, "time_per_seq_s"), series(df, "peak_mem_mb")
    t_fits = {
        "time": time["transformer"].fit_long() if "transformer" in time else None,
        "memory": mem["transformer"].fit_long() if "transformer" in mem else None,
    }
    t_fits = {k: f for k, f in t_fits.items() if _usable(f)}
    if not t_fits:
        return inconclusive(
            f"Transformer needs >= {MIN_LENGTHS} ok lengths with n >= {N_OVER_D:g}·d "
            "(time or memory)"
        )
    others: dict[str, PowerFit] = {}
    for model in ("lstm", "convs2s"):
        fit = time[model].fit_long() if model in time else None
        if not _usable(fit) and model in time:
            fit = time[model].fit()  # fewer long lengths: use the whole range
        if _usable(fit):
            others[model] = fit
    parts = [_fit_text(f"transformer {k} exp", f) for k, f in t_fits.items()]
    parts += [_fit_text(f"{m} time exp", f) for m, f in others.items()]
    numbers = "; ".join(parts)
    if not others:
        return inconclusive(f"LSTM or ConvS2S needs >= {MIN_LENGTHS} ok lengths", numbers)
    ok_t = any(_inside(f, QUADRATIC) for f in t_fits.values())
    ok_others = all(_inside(f, LINEAR) for f in others.values())
    return decide(ok_t and ok_others, numbers)


def _shared(a: Series, b: Series) -> pd.DataFrame:
    return a.points.merge(b.points, on="length", suffixes=("_a", "_b")).sort_values("length")


def check_crossover(df: pd.DataFrame) -> Outcome:
    """Analytically n²d < nd² iff n < d; empirically the Transformer is not slower at n < d."""
    speed = series(df, "train_tgt_tokens_per_s")
    if "transformer" not in speed or "lstm" not in speed:
        return inconclusive("needs training speed of both Transformer and LSTM against length")
    t, lstm = speed["transformer"], speed["lstm"]
    d = t.width or 0.0
    shared = _shared(t, lstm)
    short = shared[shared["length"] < d]
    analytic = f"analytic per-layer cost ratio n²d / nd² = n/d: crossover at n = d = {fmt(d)}"
    if short.empty:
        return inconclusive(f"needs a length n < d = {fmt(d)} measured for both models", analytic)
    ratios = short["value_a"] / short["value_b"]
    cross = crossovers(
        shared["length"].tolist(), shared["value_a"].tolist(), shared["value_b"].tolist()
    )
    where = ", ".join(f"n ≈ {fmt(x)}" for x, _, _ in cross) or "none in measured range"
    flops = _flops_crossover(df, t.task)
    numbers = (
        f"{analytic}; {flops}; measured Transformer/LSTM tokens/s at n < d: "
        + ", ".join(f"n={int(n)}: {r:.2f}×" for n, r in zip(short["length"], ratios, strict=True))
        + f"; measured speed crossover: {where}"
    )
    return decide(bool((ratios >= 1 - SPEED_TOL).all()), numbers)


def _flops_crossover(df: pd.DataFrame, task: str) -> str:
    """Where whole-model formula FLOPs per token of the Transformer overtake the LSTM's."""
    fl = series(df, "flops_per_token_analytic", task)
    if "transformer" not in fl or "lstm" not in fl:
        return "whole-model formula FLOPs: not recorded"
    shared = _shared(fl["transformer"], fl["lstm"])
    # lower FLOPs is better: compare the inverse so "a" leads where the Transformer is cheaper
    cross = crossovers(
        shared["length"].tolist(),
        (1 / shared["value_a"]).tolist(),
        (1 / shared["value_b"]).tolist(),
    )
    if cross:
        return "whole-model formula FLOPs/token cross at " + ", ".join(
            f"n ≈ {fmt(x)}" for x, _, _ in cross
        )
    cheaper = "Transformer" if (shared["value_a"] < shared["value_b"]).all() else "LSTM"
    return f"whole-model formula FLOPs/token: {cheaper} cheaper at every measured length"


def check_sequential(df: pd.DataFrame) -> Outcome:
    """LSTM step time ~ linear in n at fixed batch; the Transformer's grows clearly slower."""
    step = series(df, "train_step_s")
    if "transformer" not in step or "lstm" not in step:
        return inconclusive("needs step times of both Transformer and LSTM against length")
    t, lstm = step["transformer"], step["lstm"]
    limit = N_OVER_D * (t.width or 0.0)
    shared = _shared(t, lstm)
    lengths = shared[shared["length"] <= limit]["length"]
    if len(lengths) < MIN_LENGTHS:
        return inconclusive(
            f"needs >= {MIN_LENGTHS} lengths n <= {N_OVER_D:g}·d = {fmt(limit)} for both models"
        )
    top = float(lengths.max())
    t_fit, l_fit = t.fit(max_length=top), lstm.fit(max_length=top)
    numbers = (
        f"{_fit_text('LSTM step-time exp', l_fit)}; {_fit_text('Transformer step-time exp', t_fit)}"
        f"; needs LSTM in [{LINEAR[0]}, {LINEAR[1]}] and Transformer <= LSTM − {PARALLEL_MARGIN}"
    )
    ok = _inside(l_fit, LINEAR) and t_fit.exponent <= l_fit.exponent - PARALLEL_MARGIN
    return decide(ok, numbers)
