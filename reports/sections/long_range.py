"""The Long range section: accuracy against dependency distance per model and task (95%
interval bands, best floor), dev learning curves per distance, each cell's evidence, and
medians over seeds per cell."""

from __future__ import annotations

import pandas as pd

from reports.claims.quality import seed_stats
from reports.dev_curves import dev_figures
from reports.document import Figure, Paragraph, Section, Table
from reports.evidence_table import evidence_frame, evidence_table
from reports.numbers import spread
from reports.render.plots import accuracy_vs_distance
from reports.rows import (
    group_table,
    long_range,
    order_by_model,
    preset_hint,
    primary_metric,
    sort_models,
)


def long_range_section(df: pd.DataFrame) -> Section:
    """Accuracy against dependency distance per model and task, spread over seeds."""
    sec = Section("Long range")
    rows = long_range(df)
    if rows.empty:
        return sec.add(
            Paragraph(
                "No long-range rows (dependency, recall, or copy with a delay): "
                f"{preset_hint('longrange')}."
            )
        )
    cells = evidence_frame(rows)
    for task, g in cells.groupby("task", sort=True) if len(cells) else []:
        g = g.set_index("model").loc[sort_models(g["model"].unique().tolist())].reset_index()
        metric = primary_metric(str(task))
        png = accuracy_vs_distance(g, str(task), metric)
        sec.add(Figure(f"longrange_{task}", png, f"{task}: {metric} against distance."))
    sec.add(*dev_figures(rows, "dev_longrange"))
    sec.add(
        Table(
            evidence_table(rows, tuple(rows["task"].unique())),
            "Score with its 95% interval (bootstrap over examples and seeds; a failed seed "
            "scores chance), the best floor (chance or a shortcut on the same examples), and "
            "whether the cell is evidence: learned (interval above the floor) and not "
            "saturated (every model's interval reaching 0.98).",
            "long_range_evidence",
        ),
        Table(long_range_table(df), "Median [min–max] over ok seeds per cell.", "long_range"),
    )
    return sec


def long_range_table(df: pd.DataFrame) -> pd.DataFrame:
    """Accuracy (task metric) per task x model x distance: median [min–max] over ok seeds."""
    rows = long_range(df)
    if rows.empty:
        return pd.DataFrame()
    stats = seed_stats(rows, ["task", "model", "distance"])
    out = group_table(rows, ["task", "model", "distance"])
    out["metric"] = out["task"].map(primary_metric)
    out["accuracy [min–max]"] = [
        spread(m, a, b) for m, a, b in zip(stats["median"], stats["min"], stats["max"], strict=True)
    ]
    out["distance"] = out["distance"].astype(int)
    cols = ["task", "model", "distance", "ok/total", "metric", "accuracy [min–max]"]
    return order_by_model(out, ["task", "distance"])[[*cols, "failures", "valid"]]
