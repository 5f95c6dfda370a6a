"""Dev learning curves: each model's dev metric against step, one panel per setting
(``claims.evidence.setting_id``), the mean over its ok seeds with a 95% t interval
(``stats.mean_interval``), read as the claims read them (``claims.rungs.dev_curve``), with
the budget rungs at which quality verdicts are judged."""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from reports.claims.evidence import budget, setting_id
from reports.claims.rungs import DEV_METRIC, FRACTIONS, dev_curve, rung_steps, train_steps
from reports.claims.stats import mean_interval
from reports.document import Block, Figure, Paragraph
from reports.records import records
from reports.render.plots import dev_curves
from reports.rows import sort_models

BAND_COLUMNS = ["model", "step", "mean", "low", "high", "n"]
STOP_COLUMNS = ["model", "seed", "step"]
RUNG_NAMES = dict(zip(FRACTIONS, ("¼", "½", "¾", "end"), strict=True))
NO_DEV = (
    "No dev learning-curve figure: no ok row here carries dev evaluations (`dev_curve` or "
    "`dev_rungs`; rows written before cells recorded them)."
)


@dataclass(frozen=True)
class Panel:
    """One setting's dev curves: its label, its rungs and each model's band over seeds."""

    label: str  # what tells it from the task's other settings, e.g. "delay=64" ("" if alone)
    rungs: list[tuple[str, int]]  # (¼ | ½ | ¾ | end, step)
    bands: pd.DataFrame  # BAND_COLUMNS; models in report order, steps ascending
    # STOP_COLUMNS: runs that ended at their dev target (``train.stop_at_target``); past its
    # stop a run holds its stopped model's value (``hold_after_stop``)
    stops: pd.DataFrame = field(default_factory=lambda: pd.DataFrame(columns=STOP_COLUMNS))
    runs: int = 0  # ok runs with dev points in this setting


def dev_points(rows: pd.DataFrame, metric: str = DEV_METRIC) -> pd.DataFrame:
    """One line per ok row and dev point: setting, model, seed, step, value."""
    out, stops = [], []
    for r in records(rows[rows["ok"]]):
        curve = dev_curve(r, metric)
        if curve is None:
            continue
        sid = setting_id(r)
        out += [
            {"setting": sid, "model": r["model"], "seed": r["seed"], "step": s, "value": v}
            for s, v in zip(curve["step"], curve[metric], strict=True)
        ]
        stop = stop_step(r)
        at = [v for s, v in zip(curve["step"], curve[metric], strict=True) if stop and s <= stop]
        if at:
            stops.append((sid, r["model"], r["seed"], stop, at[-1]))
    points = pd.DataFrame(out, columns=["setting", "model", "seed", "step", "value"])
    return hold_after_stop(points, stops)


def hold_after_stop(points: pd.DataFrame, stops: list[tuple]) -> pd.DataFrame:
    """A run that ended at its dev target (setting, model, seed, stop step, value there)
    holds its stopped model's value at the steps its model's other runs were evaluated at
    after the stop: the model no longer changes, and every step's mean is then over the
    same runs (not a mean that jumps where only the stopped runs' rungs join it)."""
    extra = []
    for sid, model, seed, stop, value in stops:
        same = points[points["setting"].eq(sid) & points["model"].eq(model)]
        have = set(same.loc[same["seed"].eq(seed), "step"])
        extra += [
            {"setting": sid, "model": model, "seed": seed, "step": s, "value": value}
            for s in sorted(set(same["step"]))
            if s > stop and s not in have
        ]
    if not extra:
        return points
    return pd.concat([points, pd.DataFrame(extra, columns=points.columns)], ignore_index=True)


def bands(points: pd.DataFrame) -> pd.DataFrame:
    """Per model and step: the mean over seeds, its 95% t interval (NaN with one seed; the
    mean itself when the seeds agree exactly) and the number of seeds."""
    out = []
    for (model, step), g in points.groupby(["model", "step"]):
        v = g["value"].to_numpy(float)
        low, high = mean_interval(v)
        if len(v) > 1 and not np.isfinite(low):  # seeds agree exactly: a zero-width band
            low = high = float(v.mean())
        out.append([model, int(step), float(v.mean()), low, high, len(v)])
    frame = pd.DataFrame(out, columns=BAND_COLUMNS)
    rank = {m: i for i, m in enumerate(sort_models(frame["model"].unique().tolist()))}
    frame = frame.assign(_rank=frame["model"].map(rank)).sort_values(["_rank", "step"])
    return frame.drop(columns="_rank").reset_index(drop=True)


def dev_panels(rows: pd.DataFrame, metric: str = DEV_METRIC) -> list[Panel]:
    """One panel per setting of ``rows`` with dev points, by distance, then length."""
    points = dev_points(rows, metric)
    if points.empty:
        return []
    ok = rows[rows["ok"]]
    first = {}  # setting -> its first row
    for r in records(ok):
        first.setdefault(setting_id(r), r)
    labels = setting_labels({s: first[s] for s in points["setting"].unique()})
    order = sorted(labels, key=lambda s: (_num(first[s]["distance"]), _num(first[s]["length"])))
    stops = stopped_runs(ok)
    panels = []
    for s in order:
        steps = train_steps(first[s])
        rungs = list(zip(RUNG_NAMES.values(), rung_steps(steps), strict=True)) if steps else []
        mine = points[points["setting"].eq(s)]
        runs = len(mine[["model", "seed"]].drop_duplicates())
        stop = stops[stops["setting"].eq(s)][STOP_COLUMNS].reset_index(drop=True)
        panels.append(Panel(labels[s], rungs, bands(mine), stop, runs))
    return panels


def stopped_runs(ok: pd.DataFrame) -> pd.DataFrame:
    """Per ok row that stopped at its dev target: its setting, model, seed and stop step."""
    out = [
        {
            "setting": setting_id(r),
            "model": r["model"],
            "seed": r["seed"],
            "step": stop_step(r),
        }
        for r in records(ok)
        if stop_step(r) is not None
    ]
    return pd.DataFrame(out, columns=["setting", *STOP_COLUMNS])


def stop_step(row: dict) -> int | None:
    """The step at which ``row`` ended at its dev target (``stopped_at_step``), if it did."""
    stop = row.get("stopped_at_step")
    return None if stop is None or pd.isna(stop) else int(stop)


def setting_labels(first: dict[str, dict]) -> dict[str, str]:
    """Each setting's task config, budget, device, mode and size, keeping what differs."""
    parts = {}
    for s, r in first.items():
        cfg = r.get("config") if isinstance(r.get("config"), dict) else {}
        parts[s] = {
            **(cfg.get("task") or {}),
            **budget(cfg),
            **{k: r.get(k) for k in ("device", "mode", "equal_params")},
        }
    keys = dict.fromkeys(k for p in parts.values() for k in p)
    differ = [k for k in keys if len({repr(p.get(k)) for p in parts.values()}) > 1]
    return {s: ", ".join(f"{k}={p.get(k)}" for k in differ) for s, p in parts.items()}


def dev_figures(rows: pd.DataFrame, prefix: str) -> list[Block]:
    """A dev-curve figure per task of ``rows`` (named ``{prefix}_{task}``), or the sentence
    saying why there is none; nothing for no rows."""
    if rows.empty:
        return []
    out: list[Block] = []
    for task, g in rows.groupby("task", sort=True):
        panels = dev_panels(g)
        if panels:
            png = dev_curves(panels, str(task), DEV_METRIC)
            out.append(Figure(f"{prefix}_{task}", png, caption(panels, str(task))))
    return out or [Paragraph(NO_DEV)]


def caption(panels: list[Panel], task: str) -> str:
    """What the figure shows: the metric, the seeds behind each line, the band and rungs."""
    seeds = [int(b["n"].max()) for p in panels for _, b in p.bands.groupby("model")]
    n = f"{min(seeds)}" if min(seeds) == max(seeds) else f"{min(seeds)}–{max(seeds)}"
    n += " ok seed" if max(seeds) == 1 else " ok seeds"
    stopped, runs = sum(len(p.stops) for p in panels), sum(p.runs for p in panels)
    stops = (
        f" Crosses: a run that ended at its dev target (`train.stop_at_target`; {stopped} of "
        f"{runs} runs), drawn on its model's line at its stop; past its stop a run holds its "
        "stopped model's value, so every step's mean is over the same runs."
        if stopped
        else ""
    )
    return (
        f"{task}: dev teacher-forced token accuracy (`{DEV_METRIC}`) against training step, "
        f"one panel per setting. Lines: the mean over {n} per model; shaded: its "
        "95% t interval over seeds (none with one seed). Dotted lines: the budget rungs (¼, "
        f"½, ¾, end) at which the quality claims are judged.{stops}"
    )


def _num(x: object) -> float:
    """A sort key: the number, missing last."""
    return float(x) if x is not None and not pd.isna(x) else float("inf")
