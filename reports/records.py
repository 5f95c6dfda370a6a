"""A DataFrame's rows as dicts, fast: ``records(df)`` is ``df.to_dict("records")`` (values as
Python scalars, NaN kept) without pandas' per-cell indexing, which dominates the claims'
simulations (tests/test_claims_calibration.py) on wide row frames."""

from __future__ import annotations

from typing import Any

import pandas as pd


def records(df: pd.DataFrame) -> list[dict[str, Any]]:
    """``df.to_dict("records")``, about twice as fast on the report's row frames."""
    cols = list(df.columns)
    columns = (df[c].tolist() for c in cols)
    return [dict(zip(cols, row, strict=True)) for row in zip(*columns, strict=True)]
