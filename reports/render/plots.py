"""Report figures as PNG bytes (matplotlib's object API: no pyplot state, no display needed):
the shared figure helpers and each section's charts (attention heatmaps: render/heatmaps.py)."""

from __future__ import annotations

import io
import math

import numpy as np
import pandas as pd
from matplotlib.figure import Figure

from catalog import model_facts
from reports.fit import PowerFit
from reports.length_series import Series

DPI = 90


def color(model: str) -> str:
    """The model's colour in every figure (others fall back to grey)."""
    return model_facts(str(model)).colour


def figure(width: float, height: float) -> Figure:
    """A new figure (not registered with pyplot, so nothing to close)."""
    return Figure(figsize=(width, height), layout="tight")


def to_png(fig: Figure) -> bytes:
    """Render ``fig`` as PNG."""
    buf = io.BytesIO()
    fig.savefig(buf, format="png", dpi=DPI)
    return buf.getvalue()


def loglog(
    ser: dict[str, Series],
    fits: dict[str, PowerFit | None],
    ylabel: str,
    title: str,
    failed: dict[str, list[float]] | None = None,
) -> bytes:
    """Metric against length per model on log-log axes, with fitted power laws (dashed).

    ``failed`` lengths (OOM, timeout, killed) are marked with an x on the top edge.
    """
    fig = figure(6.4, 4.0)
    ax = fig.subplots()
    for model, s in ser.items():
        fit = fits.get(model)
        label = model if fit is None else f"{model}: ∝ n^{fit.exponent:.2f} (R² {fit.r2:.2f})"
        ax.plot(s.points["length"], s.points["value"], "o-", color=color(model), label=label)
        if fit is not None:
            xs = [fit.x_min, fit.x_max]
            ax.plot(xs, [fit.predict(x) for x in xs], "--", color=color(model), alpha=0.6)
    for model, lengths in (failed or {}).items():
        for i, x in enumerate(lengths):
            ax.plot(
                x, 0.97, "x", color=color(model), ms=10, mew=2,
                transform=ax.get_xaxis_transform(),
                label=f"{model}: OOM/timeout" if i == 0 else None,
            )  # fmt: skip
    ax.set_xscale("log", base=2)
    ax.set_yscale("log")
    ax.set_xlabel("sequence length n")
    ax.set_ylabel(ylabel)
    ax.set_title(title)
    ax.grid(True, which="both", alpha=0.3)
    ax.legend(fontsize=8)
    return to_png(fig)


def accuracy_vs_distance(cells: pd.DataFrame, task: str, metric: str) -> bytes:
    """Accuracy against distance per model with its 95% interval (shaded band, drawn within
    the metric's range [0, 1]: a t interval over 3 seeds can reach past it, an accuracy
    cannot) and the best floor (chance or shortcut, dashed): a point below its floor's line
    is not evidence."""
    fig = figure(6.4, 4.0)
    ax = fig.subplots()
    for model, g in cells.groupby("model", sort=False):
        g = g.dropna(subset=["estimate"]).sort_values("distance")
        if g.empty:
            continue
        c = color(model)
        seeds = f"{int(g['seeds_ok'].min())}–{int(g['seeds'].max())} seeds"
        low, high = g["low"].clip(0.0, 1.0), g["high"].clip(0.0, 1.0)  # an accuracy's range
        err = [g["estimate"] - low, high - g["estimate"]]
        ax.errorbar(
            g["distance"], g["estimate"], yerr=err, fmt="o-", capsize=3, color=c,
            label=f"{model} ({seeds})",
        )  # fmt: skip
        ax.fill_between(g["distance"], low, high, color=c, alpha=0.2, linewidth=0)
        ax.plot(g["distance"], g["floor"], "--", marker="_", markersize=18, color=c, alpha=0.7)
    ax.axhline(0.98, color="grey", linestyle=":", linewidth=1, label="ceiling 0.98")
    ax.set_xscale("log", base=2)
    ax.set_xlabel("distance: length + delay (tokens)" if task == "copy" else "dependency distance")
    ax.set_ylabel(f"{metric} (95% band, within [0, 1])")
    ax.set_ylim(-0.02, 1.02)
    ax.set_title(f"{task}: accuracy against distance (best floor dashed)")
    ax.grid(True, alpha=0.3)
    ax.legend(fontsize=8)
    return to_png(fig)


def learning_curves(rows: pd.DataFrame, task: str) -> bytes:
    """Training loss against step and against wall time, one line per run, coloured by model."""
    fig = figure(9.6, 3.8)
    a1, a2 = fig.subplots(1, 2, sharey=True)
    labelled: set[str] = set()
    for _, r in rows.iterrows():
        curve = r["curve"] if isinstance(r["curve"], dict) else {}
        loss = curve.get("loss") or []
        if not loss:
            continue
        label = None if r["model"] in labelled else r["model"]
        labelled.add(r["model"])
        style = "-" if r["ok"] else ":"
        steps, times = curve.get("step") or [], curve.get("time_s") or []
        if len(steps) == len(loss):
            a1.plot(steps, loss, style, color=color(r["model"]), alpha=0.7, label=label)
        if len(times) == len(loss):
            a2.plot(times, loss, style, color=color(r["model"]), alpha=0.7)
    a1.set_xlabel("step")
    a2.set_xlabel("wall time (s)")
    a1.set_ylabel("training loss")
    for ax in (a1, a2):
        ax.set_yscale("log")
        ax.grid(True, alpha=0.3)
    a1.legend(fontsize=8)
    fig.suptitle(f"{task}: learning curves (dotted: failed runs)")
    return to_png(fig)


def dev_curves(panels: list, task: str, metric: str) -> bytes:
    """Dev ``metric`` against step, one panel per setting (``reports.dev_curves.Panel``s:
    render draws what it is given, it imports no report module): each model's mean over
    seeds with its interval band (an accuracy's clipped to [0, 1]), the budget rungs as
    dotted lines."""
    acc = "acc" in metric
    cols = min(len(panels), 3)
    fig = figure(max(6.0, 4.2 * cols), 3.3 * math.ceil(len(panels) / cols))
    grid = fig.subplots(math.ceil(len(panels) / cols), cols, sharey=True)
    axes = np.atleast_1d(grid).ravel()  # (rows·cols,) row-major; the unused ones hidden below
    for ax, p in zip(axes, panels, strict=False):
        for model, b in p.bands.groupby("model", sort=False):
            c = color(str(model))
            ax.plot(b["step"], b["mean"], "o-", ms=3, color=c, label=f"{model} ({b['n'].max()})")
            lo, hi = (b["low"].clip(0, 1), b["high"].clip(0, 1)) if acc else (b["low"], b["high"])
            ax.fill_between(b["step"], lo, hi, color=c, alpha=0.2, linewidth=0)
            stop = p.stops.loc[p.stops["model"].eq(model), "step"].to_numpy(float)
            if len(stop):  # runs that ended at their dev target, on the model's line
                ax.plot(stop, np.interp(stop, b["step"], b["mean"]), "x", ms=7, color=c)
        for name, step in p.rungs:
            ax.axvline(step, color="grey", linestyle=":", linewidth=1)
            ax.text(step, 1.0, name, transform=ax.get_xaxis_transform(), ha="center",
                    va="bottom", fontsize=7, color="grey")  # fmt: skip
        ax.set_title(p.label or task, fontsize=9, pad=12)
        if acc:
            ax.set_ylim(0, 1.02)
        ax.set_xlabel("step")
        ax.grid(True, alpha=0.3)
        ax.legend(fontsize=7, title="model (seeds)", title_fontsize=7)
    for ax in axes[len(panels) :]:
        ax.set_visible(False)
    for ax in axes[::cols]:
        ax.set_ylabel(metric)
    fig.suptitle(f"{task}: {metric} against step (mean over seeds, 95% t band)", fontsize=10)
    return to_png(fig)


def quality_against_cost(curves: pd.DataFrame, label: str) -> bytes:
    """Dev quality at each budget rung against training FLOPs (left) and training seconds
    (right): one thin line per run, each model's mean over seeds bold (no band: per-seed
    points show the spread without leaving the metric's range)."""
    fig = figure(9.6, 3.8)
    axes = fig.subplots(1, 2, sharey=True)
    for model in curves["model"].unique():
        g = curves[curves["model"].eq(model)]
        c = color(str(model))
        for ax, x in zip(axes, ("flops", "seconds"), strict=True):
            for _, run in g.groupby("seed"):
                run = run.sort_values("step")
                ax.plot(run[x], run["value"], "o-", ms=3, lw=0.8, alpha=0.45, color=c)
            mean = g.groupby("step")[[x, "value"]].mean().sort_index()
            n = g["seed"].nunique()
            ax.plot(mean[x], mean["value"], "-", lw=2.2, color=c, label=f"{model} ({n})")
    axes[0].set_xscale("log")
    axes[0].set_xlabel("training FLOPs")
    axes[1].set_xlabel("training time (s, timed steps)")
    axes[0].set_ylabel(label)
    for ax in axes:
        ax.grid(True, alpha=0.3)
    axes[0].legend(fontsize=8, title="model (seeds)", title_fontsize=8)
    fig.suptitle(f"translate: {label} at ¼, ½, ¾ and the end of the budget", fontsize=10)
    return to_png(fig)


def alignment_bars(frame: pd.DataFrame) -> bytes:
    """Best-unit hit rate per cell, one bar per model, with 95% intervals; the claim's PASS
    (0.8) and FAIL (0.5) lines."""
    best = frame[frame["_best"]]
    cells = list(dict.fromkeys(best["cell"]))
    models = list(dict.fromkeys(best["model"]))
    width = 0.8 / max(len(models), 1)
    fig = figure(max(5.0, 1.4 * len(cells) + 2), 4.0)
    ax = fig.subplots()
    for k, model in enumerate(models):
        g = best[best["model"] == model].set_index("cell").reindex(cells)
        x = [i + (k - (len(models) - 1) / 2) * width for i in range(len(cells))]
        err = [g["_estimate"] - g["_low"], g["_high"] - g["_estimate"]]
        ax.bar(x, g["_estimate"], width, yerr=err, capsize=3, color=color(model), label=model)
    ax.axhline(0.8, color="green", linestyle="--", linewidth=1, label="PASS above 0.8")
    ax.axhline(0.5, color="red", linestyle=":", linewidth=1, label="FAIL below 0.5")
    ax.set_xticks(range(len(cells)), cells, fontsize=8, rotation=20)
    ax.set_ylim(0, 1.05)
    ax.set_ylabel("best-unit hit rate (95% interval)")
    ax.set_title("Does attention land on the gold source position?")
    ax.legend(fontsize=7)
    return to_png(fig)


def sweep_figure(table: pd.DataFrame) -> bytes | None:
    """Dev metric against the swept value, one line per model (single-key lr-like grids)."""
    if table.empty:
        return None
    fig = figure(6.0, 3.2)
    ax = fig.add_subplot()
    for (task, model), g in table.groupby(["task", "model"], sort=False):
        try:
            x = [float(v.split("=")[1]) for v in g["value"]]
        except (IndexError, ValueError):
            return None  # several keys swept: the table says it all
        ax.plot(x, g["dev"], marker="o", color=color(str(model)), label=f"{model} ({task})")
        chosen = g["chosen"].ne("")
        ax.scatter([xi for xi, c in zip(x, chosen, strict=True) if c], g["dev"][chosen],
                   s=140, facecolors="none", edgecolors="black")  # fmt: skip
    ax.set_xscale("log")
    ax.set_xlabel(str(table["value"].iloc[0]).split("=")[0])
    ax.set_ylabel(str(table["metric"].iloc[0]))
    ax.legend(fontsize=8)
    return to_png(fig)
