"""Results rows as a DataFrame: loading, latest attempts, derived columns, ok/total counts and
the per-group tables every section opens with (``group_table``)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pandas as pd

from bench.rundir.layout import EVAL_FILE, RESULTS_FILE, read_per_example
from bench.rundir.rows import read_rows
from catalog import model_order, task_metric
from reports.records import records

FIELDS = (  # every report reads these; a row may lack any of them
    "key", "attempt", "matrix", "status", "error_class", "model", "task", "seed", "device",
    "device_name", "threads", "mode", "git_sha", "git_dirty", "bench_version", "started_utc",
    "ended_utc", "wall_s", "seq_len", "distance", "width", "equal_params", "n_params",
    "flops_per_token_analytic", "flops_per_token_counted", "train_tgt_tokens_per_s",
    "train_tgt_tokens_per_s_q1", "train_tgt_tokens_per_s_q3", "train_speed_noisy",
    "train_step_s", "infer_tgt_tokens_per_s", "infer_batch_latency_ms", "infer_batch_size",
    "decode", "peak_mem_mb", "peak_mem_kind", "token_acc", "seq_acc", "answer_acc", "bleu",
    "chrf", "sacrebleu_signature", "final_loss", "time_to_target_s", "steps_to_target",
    "target_metric", "target_value", "curve", "examples", "config", "versions", "sweep", "tuned",
    "parallel_cells", "overhead_s", "stopped_at_step",
)  # fmt: skip


def load_results(directory: Path) -> pd.DataFrame:
    """Latest attempt of every cell in ``directory/results.jsonl``, normalised, with each
    cell's per-example outcomes (``per_example``) and attention measurements (``attention``,
    ``intervention``: reports.attention_files) where the directory has them; tuning sweep cells
    are left out (reports/sections/tuning.py reads them)."""
    from reports.attention_files import attach_attention

    path = Path(directory) / RESULTS_FILE
    rows = read_rows(path)
    if not rows:
        raise ValueError(f"{path} holds no complete rows: nothing to report or judge")
    df = normalise(pd.DataFrame([r for r in rows if not isinstance(r.get("sweep"), dict)]))
    return attach_attention(attach_examples(df, directory), directory)


def read_examples(directory: Path, key: str) -> list[dict[str, Any]] | None:
    """A cell's per-example outcomes, or None when the run directory has none for it."""
    return read_per_example(directory, str(key), EVAL_FILE)


def attach_examples(df: pd.DataFrame, directory: Path) -> pd.DataFrame:
    """``df`` with a ``per_example`` column read from ``directory/cells/<key>/eval.jsonl``
    (or its slimmed ``eval.jsonl.gz``)."""
    per = [read_examples(directory, k) if isinstance(k, str) else None for k in df["key"]]
    return df.assign(per_example=per)


def normalise(df: pd.DataFrame) -> pd.DataFrame:
    """Keep each key's latest attempt; add missing fields as None and derived columns.

    Derived: ``ok`` (status is ok), ``length`` (seq_len, else config.task.length),
    ``distance`` and ``width`` (from the config when the row lacks them), ``primary``
    (the task's headline quality metric) and ``config_id`` (the config without the seed:
    rows sharing it are seeds of one cell).
    """
    df = df.copy()
    for col in FIELDS:
        if col not in df:
            df[col] = None
    df = _latest_attempts(df)
    df["status"] = df["status"].fillna("failed:unknown")
    df["ok"] = df["status"].eq("ok")
    cfg = df["config"].map(lambda c: c if isinstance(c, dict) else {})
    task_cfg = cfg.map(lambda c: c.get("task") or {})
    model_cfg = cfg.map(lambda c: c.get("model") or {})
    df["length"] = _num(df["seq_len"].where(df["seq_len"].notna(), task_cfg.map(_length)))
    df["distance"] = _num(df["distance"].where(df["distance"].notna(), task_cfg.map(_distance)))
    df["width"] = _num(df["width"].where(df["width"].notna(), model_cfg.map(_width)))
    df["primary"] = [primary_value(r) for r in records(df)]
    df["config_id"] = [
        json.dumps([r["model"], r["task"], r["config"], r["device"], r["mode"]], sort_keys=True)
        for r in records(df)
    ]
    return df.reset_index(drop=True)


def _latest_attempts(df: pd.DataFrame) -> pd.DataFrame:
    if df.empty:
        return df
    attempt = pd.to_numeric(df["attempt"], errors="coerce").fillna(1)
    keyed = df.assign(_attempt=attempt, _order=range(len(df)))
    has_key = keyed["key"].notna()
    latest = keyed[has_key].sort_values(["_attempt", "_order"]).drop_duplicates("key", keep="last")
    out = pd.concat([latest, keyed[~has_key]]).sort_values("_order")
    return out.drop(columns=["_attempt", "_order"])


def _num(s: pd.Series) -> pd.Series:
    return pd.to_numeric(s, errors="coerce")


def _length(task_cfg: dict) -> float | None:
    return task_cfg.get("length")


def _distance(task_cfg: dict) -> float | None:
    """The config's distance; for copy-memory (a ``delay`` knob) length + delay."""
    if task_cfg.get("distance") is not None:
        return task_cfg["distance"]
    if task_cfg.get("delay") and task_cfg.get("length") is not None:
        return task_cfg["length"] + task_cfg["delay"]
    return None


def _width(model_cfg: dict) -> float | None:
    return model_cfg.get("d_model") or model_cfg.get("d_hidden")


def primary_metric(task: str) -> str:
    """The headline quality metric of a task (catalog.py)."""
    return task_metric(task)


def primary_value(row: dict) -> float | None:
    """The row's headline metric, falling back to sequence then token accuracy."""
    for name in (primary_metric(str(row.get("task"))), "seq_acc", "token_acc"):
        value = row.get(name)
        if value is not None and not pd.isna(value):
            return float(value)
    return None


def ok_rows(df: pd.DataFrame) -> pd.DataFrame:
    """Rows whose status is ok."""
    return df[df["ok"]]


def speed_rows(df: pd.DataFrame) -> pd.DataFrame:
    """Ok rows usable for timing: speed-mode rows (if any) on the most common device."""
    ok = ok_rows(df)
    if ok.empty:
        return ok
    if ok["mode"].ne("repro").any():
        ok = ok[ok["mode"].ne("repro")]
    device = ok["device"].fillna("?").mode().iloc[0]
    return ok[ok["device"].fillna("?").eq(device)]


def counts(df: pd.DataFrame, by: list[str]) -> pd.DataFrame:
    """Per group: ``ok/total``, the failures by status, and ``valid`` (at most one failed seed).

    Groups keep NaN keys (e.g. a task without a length) so no row is dropped.
    """
    rows = []
    for key, g in df.groupby(by, dropna=False, sort=True):
        key = key if isinstance(key, tuple) else (key,)
        failed = g[~g["ok"]]
        n_failed_seeds = failed["seed"].nunique(dropna=False)
        statuses = failed["status"].str.removeprefix("failed:").value_counts()
        rows.append(
            {
                **dict(zip(by, key, strict=True)),
                "ok/total": f"{int(g['ok'].sum())}/{len(g)}",
                "failures": ", ".join(f"{s}×{n}" for s, n in statuses.items()) or "-",
                "valid": "yes" if n_failed_seeds <= 1 else "INVALID",
            }
        )
    return pd.DataFrame(rows, columns=[*by, "ok/total", "failures", "valid"])


def group_table(df: pd.DataFrame, by: list[str], **aggs: tuple[str, object]) -> pd.DataFrame:
    """``counts(df, by)`` joined with named aggregations over each group's ok rows.

    ``aggs`` are pandas ``agg`` keywords, ``name=(column, function)``; a group without an ok
    row keeps its counts and gets missing values.
    """
    out = counts(df, by)
    if not aggs:
        return out
    return out.join(df[df["ok"]].groupby(by).agg(**aggs), on=by)


def sort_models(models: list[str] | pd.Index) -> list[str]:
    """Models in the catalog's order (Transformer, LSTM, ConvS2S), then any others."""
    return model_order(models)


def order_by_model(df: pd.DataFrame, cols: list[str]) -> pd.DataFrame:
    """Rows sorted by the paper's model order, then by ``cols`` (``cols`` first if given)."""
    rank = {m: i for i, m in enumerate(sort_models(df["model"].dropna().unique().tolist()))}
    keys = [*cols[:1], "_rank", *cols[1:]]
    return df.assign(_rank=df["model"].map(rank)).sort_values(keys).drop(columns="_rank")


def preset_hint(preset: str) -> str:
    """The command that supplies a section's or a claim's missing evidence."""
    return f"run `attnbench matrix run {preset}`"
