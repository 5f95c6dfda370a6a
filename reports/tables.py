"""Every named report table, as plain DataFrames (for W&B tables, logged by bench/tracking).

One source: the tables are read off the report's own sections (``reports.sections``), so
report.md/html and W&B show the same tables under the same names.
"""

from __future__ import annotations

from pathlib import Path

import pandas as pd

from reports.document import Section, Table
from reports.rows import load_results
from reports.sections import build_sections


def tables_of(sections: list[Section]) -> dict[str, pd.DataFrame]:
    """The named, non-empty tables of ``sections``, in report order, one type per column."""
    out: dict[str, pd.DataFrame] = {}
    for block in (b for s in sections for b in s.blocks):
        if isinstance(block, Table) and block.name and len(block.frame):
            if block.name in out:
                raise ValueError(f"two report tables are named {block.name!r}")
            out[block.name] = _one_type_per_column(block.frame)
    return out


def report_tables(directory: Path) -> dict[str, pd.DataFrame]:
    """The report's tables for ``directory/results.jsonl``, keyed by a stable table name.

    Empty tables are left out. Numeric and boolean columns keep their dtype; every other
    column is text (missing shown as ``-``), so each column has one type, as W&B tables need.
    """
    df = load_results(Path(directory))
    if df.empty:
        return {}
    sections, _ = build_sections(Path(directory), df)
    return tables_of(sections)


def _one_type_per_column(df: pd.DataFrame) -> pd.DataFrame:
    out = df.reset_index(drop=True).copy()
    text = Table(out).cells()
    for col in out.columns:
        if not (pd.api.types.is_numeric_dtype(out[col]) or pd.api.types.is_bool_dtype(out[col])):
            out[col] = text[col]
    return out
