"""The Counts section: per task x model ok/total, failures, validity and medians over ok seeds."""

from __future__ import annotations

import pandas as pd

from reports.document import Paragraph, Section, Table
from reports.numbers import count
from reports.rows import group_table, order_by_model

COUNT_RULE = (
    "Every table shows ok/total for its cell; failures are listed, never averaged away. A "
    "cell whose seeds failed more than once is marked INVALID."
)
COLUMNS = {  # results field -> report column (median over ok seeds)
    "n_params": "params",
    "primary": "task metric",
    "train_tgt_tokens_per_s": "train tgt tok/s",
    "infer_tgt_tokens_per_s": "decode tok/s",
    "peak_mem_mb": "peak mem MB",
    "wall_s": "wall s",
}


def counts_table(df: pd.DataFrame) -> pd.DataFrame:
    """One line per (task, model) of normalised rows: ok/total, medians over ok rows, validity."""
    numeric = df.assign(**{c: pd.to_numeric(df[c], errors="coerce") for c in COLUMNS})
    medians = {label: (c, "median") for c, label in COLUMNS.items()}
    out = group_table(numeric, ["task", "model"], **medians)
    out["params"] = out["params"].map(count)
    cols = ["task", "model", "ok/total", *COLUMNS.values(), "failures", "valid"]
    return order_by_model(out, ["task"])[cols]


def counts_section(df: pd.DataFrame) -> Section:
    """ok/total, failures and validity per task x model, with medians over ok rows."""
    return Section("Counts").add(
        Paragraph(COUNT_RULE),
        Table(
            counts_table(df),
            "`task metric`: BLEU, answer accuracy or token accuracy.",
            name="counts",
        ),
        Paragraph(time_totals(df)),
    )


def time_totals(df: pd.DataFrame) -> str:
    """Total seconds in the cells (``wall_s``) and spent by the runner around them
    (``overhead_s``: process start, imports, W&B, the row), latest attempts."""
    timed = df[pd.to_numeric(df["overhead_s"], errors="coerce").notna()]
    if timed.empty:
        return "Runner overhead: not recorded (rows older than `overhead_s`)."
    wall, over = (pd.to_numeric(timed[c]).sum() for c in ("wall_s", "overhead_s"))
    return (
        f"Time: {wall:.0f} s in {len(timed)} cells and {over:.0f} s of runner overhead "
        f"around them ({over / len(timed):.1f} s per cell: process start, imports, W&B)."
    )
