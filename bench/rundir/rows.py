"""Results rows: append-only JSON lines (flush + fsync) and read back. Standard library only:
reports read rows through it."""

from __future__ import annotations

import json
import math
import os
import warnings
from pathlib import Path
from typing import Any

STATUSES = ("ok", "failed:exception", "failed:oom", "failed:nan", "failed:timeout", "failed:killed")
"""Every status a row can end with; each is terminal (the cell is not run again on resume)."""


def append_row(path: Path, row: dict[str, Any]) -> None:
    """Append one row as a whole line, flushed and fsynced, so a crash loses no earlier row."""
    path.parent.mkdir(parents=True, exist_ok=True)
    line = json.dumps(row, sort_keys=True, default=str) + "\n"
    with open(path, "a+b") as f:
        f.seek(0, os.SEEK_END)
        size = f.tell()
        try:
            if size > 0:  # a crash mid-write leaves a line without its newline: end it
                f.seek(-1, os.SEEK_END)
                if f.read(1) != b"\n":
                    write_bytes(f, b"\n")
            write_bytes(f, line.encode("utf-8"))
            f.flush()
            os.fsync(f.fileno())
        except OSError as err:  # e.g. a full disk: leave no partial row behind
            f.truncate(size)
            err.filename = err.filename or str(path)
            raise


def write_bytes(f: Any, data: bytes) -> None:
    """The one write of ``append_row`` (a hook: tests make it fail like a full disk)."""
    f.write(data)


def read_rows(path: Path) -> list[dict[str, Any]]:
    """All complete rows (none when ``path`` is absent); a truncated or corrupt line, or one
    that is not a JSON object, is skipped with a warning."""
    rows: list[dict[str, Any]] = []
    if not path.exists():
        return rows
    with open(path, encoding="utf-8") as f:
        for n, line in enumerate(f, 1):
            if not line.strip():
                continue
            try:
                row = json.loads(line)
            except json.JSONDecodeError:
                row = None
            if isinstance(row, dict):
                rows.append(row)
            else:
                warnings.warn(f"{path}:{n}: skipping a truncated or corrupt row", stacklevel=2)
    return rows


def dev_points(row: dict[str, Any], metric: str = "dev_tf_token_acc") -> dict[int, float]:
    """The row's dev ``metric`` by step: its ``eval_every`` curve (``dev_curve``) and the
    budget rungs every cell measures (``dev_rungs``, bench/cell/dev.py), merged."""
    points: dict[int, float] = {}
    for name in ("dev_curve", "dev_rungs"):
        curve = row.get(name)
        if isinstance(curve, dict) and curve.get("step") and curve.get(metric):
            points.update(zip(curve["step"], curve[metric], strict=False))
    return points


def first_step_at(points: dict[int, float], target: float) -> float:
    """The first step of ``points`` (``dev_points``) at or above ``target``; ``inf`` if none."""
    return next((float(s) for s in sorted(points) if points[s] >= target), math.inf)
