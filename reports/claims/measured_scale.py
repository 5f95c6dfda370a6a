"""The scale a verdict was measured at, read from the rows it judged: parameters per model,
training steps and batch, target tokens seen per run, and the hardware.

A verdict holds for the sizes, budgets and machine it was measured at; each claim's reason
ends with this line so that a reader never mistakes a 1M-parameter CPU run for the paper's.
Each claim names its evidence rows with a scope function below (the rows its check reads).
"""

from __future__ import annotations

from typing import Any

import pandas as pd

from reports.claims.evidence import tuned_tasks
from reports.claims.rungs import train_steps
from reports.length_series import series
from reports.long_range_rows import long_range
from reports.records import records
from reports.rows import sort_models


def length_sweep(df: pd.DataFrame, min_lengths: int = 1) -> pd.DataFrame:
    """The rows of the speed sweep over lengths that the complexity claims fit; with
    ``min_lengths`` 2, none when no model ran more than one length (the report's Attention
    section: cells of one length, e.g. quick's 300-step copy, are trained, not swept)."""
    found = series(df, "time_per_seq_s").values()
    if not any(s.points["length"].nunique() >= min_lengths for s in found):
        return df.iloc[:0]
    return pd.concat([s.rows for s in found])


def translation_rows(df: pd.DataFrame) -> pd.DataFrame:
    return df[df["ok"] & df["task"].eq("translate")]


def long_range_rows(df: pd.DataFrame) -> pd.DataFrame:
    return long_range(df[df["ok"]])


def ease_rows(df: pd.DataFrame) -> pd.DataFrame:
    """Training-ease's settings: the ok rows of the tasks tuned for every model (not
    translation's, not the length sweep's)."""
    rows = df[df["task"].notna() & df["task"].ne("translate")]
    tuned, _ = tuned_tasks(rows)
    rows = rows[rows["ok"] & rows["task"].isin(tuned)]
    return rows.drop(index=length_sweep(df).index, errors="ignore")


def attention_rows(df: pd.DataFrame) -> pd.DataFrame:
    """The recorded rows of the cells Attention-alignment judges (not, say, the length
    sweep's copy cells, which also record attention but are never learned)."""
    from reports.claims.attention import judged_cells

    keys = {k for c in judged_cells(df) for k in c.keys}
    return df[df["ok"] & df["key"].isin(keys)] if keys else df.iloc[:0]


def scale_text(rows: pd.DataFrame) -> str | None:
    """``"match: parameters transformer 0.93M / lstm 0.95M / convs2s 0.94M, 1200 steps of
    32, ~166k target tokens per run; on CPU (2 threads)"``; None without rows."""
    if rows.empty:
        return None
    parts = [_task_scale(str(task), g) for task, g in rows.groupby("task", sort=True)]
    return "; ".join(parts) + f"; on {_hardware(rows)}"


def trained_steps(row: dict[str, Any]) -> int | None:
    """Steps one run trained: its budget, or fewer where it stopped at its dev target
    (``train.stop_at_target``: ``stopped_at_step``)."""
    stopped = row.get("stopped_at_step")
    return int(stopped) if _number(stopped) else train_steps(row)


def tokens_seen(row: dict[str, Any]) -> float | None:
    """Target tokens one run trained on: target tokens per timed step × steps trained (the
    timed blocks' tokens/s × their seconds per step)."""
    rate, step_s, steps = (
        row.get("train_tgt_tokens_per_s"),
        row.get("train_step_s"),
        trained_steps(row),
    )
    if not (_number(rate) and _number(step_s) and steps):
        return None
    return float(rate) * float(step_s) * steps


def _task_scale(task: str, g: pd.DataFrame) -> str:
    recs = records(g)
    params = pd.to_numeric(g["n_params"], errors="coerce").groupby(g["model"]).median()
    by_model = " / ".join(
        f"{m} {_si(params[m])}" for m in sort_models(list(params.index)) if _number(params[m])
    )
    steps = _spread([trained_steps(r) for r in recs], str)
    batch = _spread([_batch(r) for r in recs], str)
    tokens = _spread([tokens_seen(r) for r in recs], _si, within=0.1)
    text = f"{task}: parameters {by_model or 'n/a'}, {steps} steps of {batch}"
    stopped = sum(_number(r.get("stopped_at_step")) for r in recs)
    if stopped:
        budget = _spread([train_steps(r) for r in recs], str)
        text += f" ({stopped}/{len(recs)} runs stopped at the dev target, budget {budget})"
    return text + (f", ~{tokens} target tokens per run" if tokens != "n/a" else "")


def _hardware(rows: pd.DataFrame) -> str:
    names = []
    for r in records(rows):
        name = str(r.get("device_name") or r.get("device") or "?")
        if name == "cpu":
            threads = r.get("threads")
            name = (
                f"CPU ({int(threads)} thread{'s' * (int(threads) != 1)})"
                if _number(threads)
                else "CPU"
            )
        world = r.get("world_size")
        if _number(world) and int(world) > 1:
            name += f" × {int(world)}"
        if name not in names:
            names.append(name)
    return ", ".join(names)


def _batch(row: dict[str, Any]) -> int | None:
    batch = ((row.get("config") or {}).get("train") or {}).get("batch_size")
    return int(batch) if batch else None


def _spread(values: list, show, within: float = 0.0) -> str:
    """``"1200"`` when one value (or the median when all lie within ``within`` of each other,
    relative), ``"250–300"`` for a range, ``"n/a"`` for none."""
    xs = sorted(float(v) for v in values if _number(v))
    if not xs:
        return "n/a"
    if xs[0] > 0 and xs[-1] / xs[0] <= 1 + within:
        return show(_int_if_whole(float(pd.Series(xs).median())))
    lo, hi = show(_int_if_whole(xs[0])), show(_int_if_whole(xs[-1]))
    return lo if lo == hi else f"{lo}–{hi}"


def _si(x: float) -> str:
    x = float(x)
    for unit, scale in (("G", 1e9), ("M", 1e6), ("k", 1e3)):
        if abs(x) >= scale:
            return f"{x / scale:.3g}{unit}"
    return f"{x:.3g}"


def _int_if_whole(x: float) -> float | int:
    return int(x) if float(x).is_integer() else x


def _number(x: object) -> bool:
    try:
        return x is not None and not pd.isna(x) and float(x) == float(x)  # type: ignore[arg-type]
    except (TypeError, ValueError):
        return False
