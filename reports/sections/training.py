"""The Training section: learning curves (training loss; dev accuracy of the tasks that are
neither long-range nor translation, whose dev curves are in their own sections), time to
target, failed runs per model and every failed cell."""

from __future__ import annotations

import pandas as pd

from reports.dev_curves import dev_figures
from reports.document import Figure, Paragraph, Section, Table
from reports.long_range_rows import DISTANCE_BLOCKS
from reports.numbers import fmt
from reports.render.plots import learning_curves
from reports.rows import (
    group_table,
    order_by_model,
    preset_hint,
    sort_models,
)

FAILURE_KINDS = ("nan", "oom", "timeout", "exception", "killed")


def _has_curve(c: object) -> bool:
    return isinstance(c, dict) and bool(c.get("loss"))


def training_section(df: pd.DataFrame) -> Section:
    """Learning curves, time to target, and failed runs per model."""
    sec = Section("Training")
    if df.empty:
        return sec.add(Paragraph(f"No rows: {preset_hint('quick')}."))
    with_curves = df[df["curve"].map(_has_curve)]
    for task, g in with_curves.groupby("task", sort=True):
        png = learning_curves(g, str(task))
        sec.add(Figure(f"curves_{task}", png, f"{task}: training loss against step and time."))
    if with_curves.empty:
        sec.add(Paragraph("No loss curves recorded in these rows."))
    shown = [
        i for _, _, rows, _ in DISTANCE_BLOCKS for i in rows(df).index
    ]  # Long range draws them
    other = df[df["task"].ne("translate") & ~df.index.isin(shown)]
    sec.add(*dev_figures(other, "dev"))
    sec.add(
        Table(
            time_to_target_table(df),
            "Time to target: first logged step at the target.",
            "time_to_target",
        ),
        Table(
            failures_table(df),
            "Runs per model by outcome (diverged = non-finite loss).",
            "failures",
        ),
    )
    failed = failed_rows_table(df)
    sec.add(
        Table(failed, "Every failed cell.", "failed_rows")
        if len(failed)
        else Paragraph("No failed runs.")
    )
    return sec


def time_to_target_table(df: pd.DataFrame) -> pd.DataFrame:
    """Per task x model: how many ok runs reached the target, median steps and seconds to it."""
    if df.empty:
        return pd.DataFrame()
    out = group_table(
        df,
        ["task", "model"],
        reached=("steps_to_target", lambda s: int(s.notna().sum())),
        n=("ok", "size"),
        steps=("steps_to_target", "median"),
        secs=("time_to_target_s", "median"),
        target=("target_value", "first"),
        loss=("final_loss", "median"),
    )
    out["reached target"] = [
        f"{int(r)}/{int(n)}" if n == n else "0/0"
        for r, n in zip(out["reached"], out["n"], strict=True)
    ]
    out["target"] = out["target"].map(
        lambda x: f"train token acc ≥ {fmt(x)}" if x == x and x is not None else "-"
    )
    out["steps to target"] = out["steps"].map(fmt)
    out["s to target"] = out["secs"].map(fmt)
    out["final loss"] = out["loss"].map(fmt)
    cols = ["task", "model", "ok/total", "target", "reached target", "steps to target"]
    return order_by_model(out, ["task"])[[*cols, "s to target", "final loss", "failures", "valid"]]


def failures_table(df: pd.DataFrame) -> pd.DataFrame:
    """Per model: runs, ok runs, and failed runs by kind (diverged = nan)."""
    if df.empty:
        return pd.DataFrame()
    kind = df["status"].str.removeprefix("failed:")
    rows = []
    for model in sort_models(df["model"].dropna().unique().tolist()):
        k = kind[df["model"].eq(model)]
        row = {"model": model, "ok/total": f"{int(k.eq('ok').sum())}/{len(k)}"}
        for name in FAILURE_KINDS:
            row["diverged (nan)" if name == "nan" else name] = int(k.eq(name).sum())
        rows.append(row)
    return pd.DataFrame(rows)


def failed_rows_table(df: pd.DataFrame) -> pd.DataFrame:
    """Every failed row: where it was, its status, and the last line of its error."""
    failed = df[~df["ok"]]
    if failed.empty:
        return pd.DataFrame()
    last = failed["error"].map(lambda e: str(e).strip().splitlines()[-1][:160] if e else "-")
    return pd.DataFrame(
        {
            "model": failed["model"],
            "task": failed["task"],
            "seed": failed["seed"],
            "length": failed["length"].map(lambda x: fmt(x, 6)),
            "distance": failed["distance"].map(lambda x: fmt(x, 6)),
            "status": failed["status"],
            "error": failed["error_class"].fillna("-") + ": " + last,
        }
    )
