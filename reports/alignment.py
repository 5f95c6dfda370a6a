"""Attention files of a run directory as report columns: each cell's attention.npz summarised
(``bench.attention.alignment``: format, gold positions, hit rate and gold mass) and its
intervention.json, read with numpy and pandas."""

from __future__ import annotations

import json
import warnings
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from bench.attention.alignment import GOLD_TASKS, load_npz, summarise
from bench.rundir.layout import ATTENTION_FILE, INTERVENTION_FILE, cell_dir


def read_intervention(path: Path) -> dict[str, Any] | None:
    if not path.is_file():
        return None
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
        conds = data["conditions"]
        data["conditions"] = {
            k: {f: np.asarray(v[f], float) for f in ("correct", "total", "prob")}
            for k, v in conds.items()
            if v is not None
        }
        return data
    except (OSError, ValueError, KeyError, TypeError) as err:
        warnings.warn(f"{path}: unreadable intervention file ({err}), skipped", stacklevel=2)
        return None


def attach_attention(df: pd.DataFrame, directory: Path) -> pd.DataFrame:
    """``df`` with ``attention`` (summarise() of the cell's attention.npz) and
    ``intervention`` (its intervention.json) columns, None where a cell has neither."""
    att, inter = [], []
    for key, task in zip(df["key"], df["task"], strict=True):
        cell = cell_dir(directory, str(key))
        summary = None
        if isinstance(key, str) and task in GOLD_TASKS and (cell / ATTENTION_FILE).is_file():
            data = load_npz(cell / ATTENTION_FILE)
            summary = summarise(data) if data else None
        att.append(summary)
        inter.append(read_intervention(cell / INTERVENTION_FILE) if isinstance(key, str) else None)
    return df.assign(attention=att, intervention=inter)
