"""Every report table by name, as plain DataFrames (for W&B tables, logged by bench/tracking)."""

from __future__ import annotations

from pathlib import Path

import pandas as pd

from reports.claims import claims_table
from reports.claims.cost import measured_cost, paper_cost
from reports.document import Table
from reports.environment import environment_table
from reports.rows import load_results
from reports.scaling import crossover_table
from reports.summary import summary_table
from reports.tables_perf import exponents_table, memory_table, sizes_table, speed_table
from reports.tables_quality import (
    examples_table,
    failed_rows_table,
    failures_table,
    long_range_table,
    time_to_target_table,
    translation_table,
)


def report_tables(directory: Path) -> dict[str, pd.DataFrame]:
    """The report's tables for ``directory/results.jsonl``, keyed by a stable table name.

    Empty tables are left out. Numeric and boolean columns keep their dtype; every other
    column is text (missing shown as ``-``), so each column has one type, as W&B tables need.
    """
    df = load_results(Path(directory))
    if df.empty:
        return {}
    tables = {
        "claims": claims_table(df),
        "environment": environment_table(df),
        "counts": summary_table(df),
        "speed": speed_table(df),
        "speed_exponents": exponents_table(
            df, {"tokens/s": "train_tgt_tokens_per_s", "time/seq": "time_per_seq_s"}
        ),
        "crossovers": crossover_table(df),
        "memory": memory_table(df),
        "memory_exponents": exponents_table(df, {"peak memory": "peak_mem_mb"}),
        "long_range": long_range_table(df),
        "time_to_target": time_to_target_table(df),
        "failures": failures_table(df),
        "failed_rows": failed_rows_table(df),
        "translation": translation_table(df),
        "translation_examples": examples_table(df),
        "paper_cost": paper_cost(),
        "measured_cost": measured_cost(df),
        "sizes": sizes_table(df),
    }
    return {name: _one_type_per_column(t) for name, t in tables.items() if len(t)}


def _one_type_per_column(df: pd.DataFrame) -> pd.DataFrame:
    out = df.reset_index(drop=True).copy()
    text = Table(out).cells()
    for col in out.columns:
        if not (pd.api.types.is_numeric_dtype(out[col]) or pd.api.types.is_bool_dtype(out[col])):
            out[col] = text[col]
    return out
