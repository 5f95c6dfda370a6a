"""Metrics against sequence length: one series per model (the sweep and width with the most
lengths), its fitted power laws (``reports.fit``), and time per sequence."""

from __future__ import annotations

import json
from dataclasses import dataclass

import pandas as pd

from reports.fit import PowerFit, fit_power_law
from reports.records import records
from reports.rows import sort_models, speed_rows

N_OVER_D = 2.0  # "n >> d": lengths at least this multiple of the model width


@dataclass(frozen=True)
class Series:
    """Median of one metric per sequence length, for one model at one width on one task."""

    model: str
    task: str
    width: float | None
    points: pd.DataFrame  # columns: length, value, n_ok (sorted by length)
    rows: pd.DataFrame | None = None  # every ok row of the series: length, value, seed, blocks

    @property
    def lengths(self) -> list[float]:
        return self.points["length"].tolist()

    def fit(self, min_length: float = 0.0, max_length: float = float("inf")) -> PowerFit | None:
        """Power-law fit over the lengths in [min_length, max_length]."""
        p = self.points[self.points["length"].between(min_length, max_length)]
        return fit_power_law(p["length"].tolist(), p["value"].tolist())

    def fit_long(self) -> PowerFit | None:
        """Fit restricted to n >= N_OVER_D * d, where the paper's asymptotics apply."""
        return self.fit(min_length=N_OVER_D * (self.width or 0.0))


def with_time_per_seq(df: pd.DataFrame) -> pd.DataFrame:
    """Add ``time_per_seq_s``: median step time over the batch size, else n / tokens per s."""
    batch = df["config"].map(lambda c: ((c or {}).get("train") or {}).get("batch_size"))
    step = pd.to_numeric(df["train_step_s"], errors="coerce")
    per_batch = step / pd.to_numeric(batch, errors="coerce")
    per_tok = df["length"] / pd.to_numeric(df["train_tgt_tokens_per_s"], errors="coerce")
    return df.assign(time_per_seq_s=per_batch.where(per_batch.notna(), per_tok))


def scaling_task(df: pd.DataFrame) -> str | None:
    """The task with the most (model, length) measurements: the one the scaling plots use."""
    rows = speed_rows(df)
    rows = rows[rows["length"].notna()]
    if rows.empty:
        return None
    sizes = rows.groupby("task")[["model", "length"]].apply(lambda g: len(g.drop_duplicates()))
    return str(sizes.sort_values(ascending=False, kind="stable").index[0])


SWEPT = ("length", "min_length", "eval_size")  # task knobs a length sweep may vary
# train values every point of a sweep shares (learning rates may be tuned per model)
SWEEP_TRAIN = ("steps", "batch_size", "precision", "timing_warmup", "timing_blocks")


def sweep_id(row: dict) -> str:
    """What a length sweep holds fixed: batch, steps, precision and timing, the trainer, the
    task's other knobs, device and mode. One series never mixes sweeps (e.g. a batch-32
    cell into a batch-8 sweep)."""
    cfg = row.get("config") if isinstance(row.get("config"), dict) else {}
    task_cfg = {k: v for k, v in (cfg.get("task") or {}).items() if k not in SWEPT}
    train = {k: (cfg.get("train") or {}).get(k) for k in SWEEP_TRAIN}
    fixed = [train, cfg.get("trainer"), task_cfg, row.get("device"), row.get("mode")]
    return json.dumps(fixed, sort_keys=True, default=str)


def series(df: pd.DataFrame, metric: str, task: str | None = None) -> dict[str, Series]:
    """One Series per model for ``metric`` (a row field or ``time_per_seq_s``).

    Uses ok speed rows on the scaling task, of the one sweep (fixed train config and task
    knobs) with the most (model, length) points; per model the width with the most lengths.
    """
    task = task or scaling_task(df)
    rows = with_time_per_seq(speed_rows(df))
    rows = rows[rows["task"].eq(task) & rows["length"].notna()]
    rows = rows.assign(value=pd.to_numeric(rows[metric], errors="coerce")).dropna(subset=["value"])
    if rows.empty:
        return {}
    rows = rows.assign(sweep=[sweep_id(r) for r in records(rows)])
    sizes = rows.groupby("sweep")[["model", "length"]].apply(lambda g: len(g.drop_duplicates()))
    rows = rows[rows["sweep"].eq(sizes.sort_values(ascending=False, kind="stable").index[0])]
    out = {}
    for model in sort_models(rows["model"].dropna().unique().tolist()):
        m = rows[rows["model"].eq(model)]
        widths = m.groupby("width", dropna=False)["length"].nunique()
        width = widths.sort_values(ascending=False, kind="stable").index[0]
        m = m[m["width"].eq(width)] if pd.notna(width) else m[m["width"].isna()]
        pts = m.groupby("length").agg(value=("value", "median"), n_ok=("value", "size"))
        width = None if pd.isna(width) else float(width)
        out[model] = Series(model, str(task), width, pts.reset_index(), m)
    return out
