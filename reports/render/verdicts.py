"""Figures of what the claims judge: every verdict's interval against its threshold, and
Long-range's steps to target against distance (one point per run, censored runs marked)."""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
from matplotlib.ticker import FuncFormatter, LogLocator, NullFormatter

from reports.records import records
from reports.render.plots import color, figure, to_png

VERDICT_COLORS = {"PASS": "#2ca02c", "FAIL": "#d62728", "INCONCLUSIVE": "#8c8c8c"}
LOG_CLAIMS = ("T1-crossover", "Parallel-speed", "Parallel-10×")  # ratios: a log axis


def verdict_figure(claims: pd.DataFrame) -> bytes:
    """One row per claim (and per comparison): its judged interval as a bar, its threshold
    as a line, coloured by verdict; each row on its own axis (the claims' units differ), and
    a claim without an interval says so. ``claims``: ``claims_table`` (columns claim,
    verdict, low, high, threshold_value)."""
    n = len(claims)
    fig = figure(7.5, 0.42 * n + 0.6)
    axes = fig.subplots(n, 1, squeeze=False)[:, 0]
    for ax, row in zip(axes, records(claims), strict=True):
        c = VERDICT_COLORS.get(row["verdict"], "#8c8c8c")
        lo, hi, thr = row.get("low"), row.get("high"), row.get("threshold_value")
        ax.set_yticks([])
        for side in ("top", "right", "left"):
            ax.spines[side].set_visible(False)
        ax.set_ylabel(f"{row['claim']}  ", rotation=0, ha="right", va="center", fontsize=8, color=c)
        shown = [v for v in (lo, hi, thr) if v is not None and math.isfinite(v)]
        if lo is None or hi is None or not (math.isfinite(lo) and math.isfinite(hi)):
            ax.set_xticks([])
            ax.text(0.5, 0.5, f"{row['verdict']}: no interval", ha="center", va="center",
                    fontsize=7, color=c, transform=ax.transAxes)  # fmt: skip
            continue
        log = row["claim"].split(" ")[0] in LOG_CLAIMS and min(shown) > 0
        log = log and max(shown) / min(shown) > 3  # a narrow range reads better linear
        if log:
            ax.set_xscale("log")
            ax.xaxis.set_major_locator(LogLocator(base=10, subs=(1.0, 2.0, 5.0)))
            ax.xaxis.set_major_formatter(FuncFormatter(lambda v, _: f"{v:g}"))
            ax.xaxis.set_minor_formatter(NullFormatter())
        ax.plot([lo, hi], [0, 0], color=c, lw=5, solid_capstyle="butt")
        if thr is not None and math.isfinite(thr):
            ax.axvline(thr, color="black", lw=1, ls="--")
        span = max(shown) / min(shown) if log else max(shown) - min(shown)
        if log:
            pad = span**0.08 if span > 1 else 1.5
            ax.set_xlim(min(shown) / pad, max(shown) * pad)
        else:
            pad = 0.08 * span if span > 0 else 1.0
            ax.set_xlim(min(shown) - pad, max(shown) + pad)
        ax.set_ylim(-1, 1)
        ax.tick_params(axis="x", labelsize=7, pad=1)
        ax.text(1.01, 0.5, row["verdict"], transform=ax.transAxes, fontsize=7, color=c,
                va="center")  # fmt: skip
    fig.suptitle("Verdicts: each 95% interval (bar) against its threshold (dashed)", fontsize=9)
    return to_png(fig)


def step_limits(steps: pd.Series) -> tuple[float, float]:
    """The y range of the steps-to-target figure: the runs' own steps (budgets included),
    with a margin, so a fitted line that climbs past every run (a model that arrived at one
    distance only) runs off the top instead of stretching the axis to 10^20."""
    t = pd.to_numeric(steps, errors="coerce").dropna()
    t = t[t > 0]
    return (float(t.min()) / 1.5, float(t.max()) * 1.5) if len(t) else (1.0, 10.0)


def steps_to_target_figure(runs: pd.DataFrame, lines: dict, task: str) -> bytes:
    """Steps to the dev target against distance (log-log), one point per run, jittered;
    a run that never got there is an open marker at its budget ("never"); ``lines`` are
    each model's fitted law (``power.fit_arrivals``), dashed."""
    fig = figure(6.4, 4.0)
    ax = fig.subplots()
    models = list(dict.fromkeys(runs["model"]))
    g = np.random.default_rng(0)
    for i, m in enumerate(models):
        r = runs[runs["model"].eq(m)]
        x = r["distance"].to_numpy(float) * 2 ** ((i - (len(models) - 1) / 2) * 0.06)
        x = x * 2 ** g.uniform(-0.02, 0.02, len(x))
        arrived = ~r["censored"].to_numpy(bool)
        ax.scatter(x[arrived], r["t"].to_numpy(float)[arrived], color=color(m), s=18, label=m)
        if (~arrived).any():
            ax.scatter(x[~arrived], r["t"].to_numpy(float)[~arrived], facecolors="none",
                       edgecolors=color(m), marker="^", s=30)  # fmt: skip
        law = lines.get(m)
        if law is not None:
            d = np.geomspace(r["distance"].min(), r["distance"].max(), 20)
            ax.plot(d, np.exp(law.intercept + law.slope * np.log2(d)), color=color(m), ls="--",
                    lw=1)  # fmt: skip
    ax.set_xscale("log", base=2)
    ax.set_yscale("log")
    ax.set_ylim(*step_limits(runs["t"]))  # a fit to mostly censored runs leaves the plot
    ax.set_xlabel("distance")
    ax.set_ylabel("steps to the dev target")
    ax.set_title(f"{task}: steps to target against distance (open ▲: never, at its budget)")
    ax.legend(fontsize=8)
    return to_png(fig)
