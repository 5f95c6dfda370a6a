"""The Sizes section: parameters, width and FLOPs per token per task x model, and whether each
task compares its models at equal parameter counts."""

from __future__ import annotations

import pandas as pd

from reports.document import Bullets, Paragraph, Section, Table
from reports.numbers import count_spread, fmt
from reports.rows import group_table, order_by_model, preset_hint


def sizes_section(df: pd.DataFrame) -> Section:
    """Parameters and FLOPs per token per model, and whether comparisons are at equal size."""
    sec = Section("Sizes")
    table = sizes_table(df)
    if table.empty:
        return sec.add(Paragraph(f"No rows in these rows: {preset_hint('quick')}."))
    lines = equal_params_lines(df) or ["a single model per task: nothing to compare"]
    sec.add(
        Table(table, "Medians over ok rows; FLOPs are training FLOPs per target token.", "sizes"),
        Paragraph("Compared at equal parameters?"),
        Bullets(lines),
    )
    return sec


def sizes_table(df: pd.DataFrame) -> pd.DataFrame:
    """Parameters, width and FLOPs per target token per task x model (medians over ok rows)."""
    if df.empty:
        return pd.DataFrame()
    out = group_table(
        df,
        ["task", "model"],
        p=("n_params", "median"),
        p_lo=("n_params", "min"),
        p_hi=("n_params", "max"),
        w=("width", "median"),
        fa=("flops_per_token_analytic", "median"),
        fc=("flops_per_token_counted", "median"),
        eq=("equal_params", lambda s: ", ".join(sorted({f"{int(v):,}" for v in s.dropna()}))),
    )
    out["params"] = [
        count_spread(m, a, b) for m, a, b in zip(out["p"], out["p_lo"], out["p_hi"], strict=True)
    ]
    out["width"] = out["w"].map(lambda x: fmt(x, 4))
    out["FLOPs/tok analytic"] = out["fa"].map(lambda x: fmt(x, 3))
    out["FLOPs/tok counted"] = out["fc"].map(lambda x: fmt(x, 3))
    out["equal_params target"] = out["eq"].fillna("").replace("", "-")
    cols = ["task", "model", "ok/total", "params", "width", "FLOPs/tok analytic"]
    cols += ["FLOPs/tok counted", "equal_params target"]
    return order_by_model(out, ["task"])[cols]


def equal_params_lines(df: pd.DataFrame) -> list[str]:
    """Per task: whether its models were compared at equal parameters, and how far apart."""
    lines = []
    for task, g in df[df["ok"]].groupby("task", sort=True):
        sizes = pd.to_numeric(g["n_params"], errors="coerce").groupby(g["model"]).median().dropna()
        targets = g["equal_params"].dropna().unique()
        if len(sizes) < 2:
            continue
        ratio = sizes.max() / sizes.min()
        if len(targets) == 1 and g["equal_params"].notna().all():
            verdict = f"yes: every model sized to {int(targets[0]):,} parameters (±10%)"
        elif ratio <= 1.1:
            verdict = "about equal: parameter counts within 10% (no equal_params target)"
        else:
            verdict = f"no: parameter counts differ by up to {ratio:.2f}×"
        lines.append(f"`{task}`: {verdict}")
    return lines
