"""The run directory's layout: the one place that spells its file and folder names.

```
DIR/results.jsonl                 one row per cell attempt (bench.rundir.rows)
DIR/matrix.json                   what `matrix status` needs to rebuild the cells
DIR/runner.lock                   one runner per directory (bench.rundir.lock)
DIR/cells/<key>/job.json          the worker's job; row.json its answer
DIR/cells/<key>/eval.jsonl        per-example outcomes of the test split (.jsonl.gz once slimmed)
DIR/cells/<key>/attention.npz     recorded cross-attention (bench.attention.record)
DIR/cells/<key>/attention_summary.json  its per-example sums (reports.slim keeps these)
DIR/cells/<key>/intervention.json what shifting attention costs
DIR/wandb/offline-run-*           W&B offline runs (bench.tracking)
```
Standard library only: reports read the layout through it.
"""

from __future__ import annotations

import gzip
import json
from pathlib import Path
from typing import Any

RESULTS_FILE = "results.jsonl"
MATRIX_FILE = "matrix.json"
LOCK_FILE = "runner.lock"
CELLS_DIR = "cells"
JOB_FILE = "job.json"
EVAL_FILE = "eval.jsonl"
DEV_EVAL_FILE = "dev_eval.jsonl"  # per-example outcomes of the final dev decode
DEV_RUNGS_FILE = "dev_rungs.jsonl"  # per-example dev outcomes at the budget's rungs
ATTENTION_FILE = "attention.npz"
ATTENTION_SUMMARY_FILE = "attention_summary.json"  # summarise() of attention.npz (slimmed runs)
PER_EXAMPLE_FILES = (EVAL_FILE, DEV_EVAL_FILE, DEV_RUNGS_FILE)  # gzipped in a slimmed run
GZIP_SUFFIX = ".gz"
INTERVENTION_FILE = "intervention.json"
WANDB_DIR = "wandb"


def results_path(out: Path | str) -> Path:
    """DIR/results.jsonl."""
    return Path(out) / RESULTS_FILE


def matrix_path(out: Path | str) -> Path:
    """DIR/matrix.json."""
    return Path(out) / MATRIX_FILE


def cell_dir(out: Path | str, key: str) -> Path:
    """DIR/cells/<key>: every file one cell writes."""
    return Path(out) / CELLS_DIR / str(key)


def cell_file(out: Path | str, key: str, name: str) -> Path:
    """DIR/cells/<key>/<name>, e.g. ``cell_file(out, key, EVAL_FILE)``."""
    return cell_dir(out, key) / name


def per_example_file(out: Path | str, key: str, name: str) -> Path | None:
    """The cell's per-example file ``name`` (one of PER_EXAMPLE_FILES) as written
    (``eval.jsonl``) or slimmed (``eval.jsonl.gz``), or None when the cell has neither."""
    plain = cell_file(out, key, name)
    for path in (plain, plain.with_name(name + GZIP_SUFFIX)):
        if path.is_file():
            return path
    return None


def read_per_example(out: Path | str, key: str, name: str) -> list[dict[str, Any]] | None:
    """The records of the cell's per-example file ``name``, plain or gzipped; None if absent."""
    path = per_example_file(out, key, name)
    if path is None:
        return None
    opener = gzip.open if path.suffix == GZIP_SUFFIX else open
    with opener(path, "rt", encoding="utf-8") as f:
        return [json.loads(line) for line in f if line.strip()]


def wandb_dir(out: Path | str) -> Path:
    """DIR/wandb: the W&B runs of the directory's cells."""
    return Path(out) / WANDB_DIR


def write_matrix_meta(out: Path | str, meta: dict[str, Any]) -> None:
    """DIR/matrix.json, atomically: what ``matrix status`` needs to rebuild the cells."""
    from bench.rundir.atomic import atomic_write_text

    atomic_write_text(matrix_path(out), json.dumps(meta, indent=1))


def read_matrix_meta(out: Path | str) -> dict[str, Any] | None:
    """DIR/matrix.json, or None when DIR is not a matrix run directory."""
    path = matrix_path(out)
    return json.loads(path.read_text(encoding="utf-8")) if path.is_file() else None
