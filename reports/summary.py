"""Per task x model counts (ok/total, failures, validity) and medians over ok seeds."""

from __future__ import annotations

import pandas as pd

from reports.numbers import count
from reports.rows import counts, order_by_model

COLUMNS = {  # results field -> report column (median over ok seeds)
    "n_params": "params",
    "primary": "task metric",
    "train_tgt_tokens_per_s": "train tgt tok/s",
    "infer_tgt_tokens_per_s": "decode tok/s",
    "peak_mem_mb": "peak mem MB",
    "wall_s": "wall s",
}


def summary_table(df: pd.DataFrame) -> pd.DataFrame:
    """One line per (task, model) of normalised rows: ok/total, medians over ok rows, validity."""
    out = counts(df, ["task", "model"])
    ok = df[df["ok"]].assign(**{c: pd.to_numeric(df[c], errors="coerce") for c in COLUMNS})
    medians = ok.groupby(["task", "model"])[list(COLUMNS)].median().rename(columns=COLUMNS)
    out = out.join(medians, on=["task", "model"])
    out["params"] = out["params"].map(count)
    cols = ["task", "model", "ok/total", *COLUMNS.values(), "failures", "valid"]
    return order_by_model(out, ["task"])[cols]
