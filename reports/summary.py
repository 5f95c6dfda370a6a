"""Per model x task summary of a run directory's results rows, as a markdown table."""

from __future__ import annotations

import json
import os
import tempfile
import warnings
from pathlib import Path

import pandas as pd

COLUMNS = {  # results field -> report column (median over ok seeds)
    "n_params": "params",
    "token_acc": "token acc",
    "seq_acc": "exact acc",
    "train_tgt_tokens_per_s": "train tgt tok/s",
    "infer_tgt_tokens_per_s": "decode tok/s",
    "peak_mem_mb": "peak mem MB",
    "wall_s": "wall s",
}


def load_rows(path: Path) -> pd.DataFrame:
    """Results rows as a DataFrame; truncated lines are skipped with a warning."""
    rows = []
    for n, line in enumerate(path.read_text(encoding="utf-8").splitlines(), 1):
        if line.strip():
            try:
                rows.append(json.loads(line))
            except json.JSONDecodeError:
                warnings.warn(f"{path}:{n}: skipping a truncated or corrupt row", stacklevel=2)
    return pd.DataFrame(rows)


def summary_table(df: pd.DataFrame) -> pd.DataFrame:
    """One line per (task, model): ok/total count and medians over ok rows."""
    df = df.copy()
    df["ok"] = df["status"].eq("ok")
    for col in COLUMNS:
        if col not in df:
            df[col] = float("nan")
    groups = df.groupby(["task", "model"], sort=True)
    out = groups["ok"].agg(lambda s: f"{int(s.sum())}/{len(s)}").rename("ok/total").to_frame()
    medians = df[df["ok"]].groupby(["task", "model"])[list(COLUMNS)].median()
    return out.join(medians.rename(columns=COLUMNS)).reset_index()


def write_summary(directory: Path) -> tuple[Path, str]:
    """Write ``directory/report.md`` atomically; return its path and text."""
    df = load_rows(directory / "results.jsonl")
    table = summary_table(df)
    failed = df[df["status"] != "ok"]
    lines = [
        f"# attnbench summary: {directory.name}",
        "",
        f"{len(df)} rows, {len(failed)} failed. Medians over `ok` rows; "
        "`ok/total` counts every attempt.",
        "",
        table.to_markdown(index=False, floatfmt=".4g"),
        "",
    ]
    if len(failed):
        lines += ["## Failed cells", ""]
        for _, r in failed.iterrows():
            lines.append(
                f"- {r['model']} / {r['task']} seed {r['seed']}: {r['status']} "
                f"({r.get('error_class', '')})"
            )
        lines.append("")
    text = "\n".join(lines)
    path = directory / "report.md"
    atomic_write(path, text)
    return path, text


def atomic_write(path: Path, text: str) -> None:
    """Write via a temporary file, fsync, rename: readers never see half a file."""
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.")
    with os.fdopen(fd, "w", encoding="utf-8") as f:
        f.write(text)
        f.flush()
        os.fsync(f.fileno())
    os.replace(tmp, path)
