"""The Long range section: accuracy against distance per block (the Long-range evidence, the
end-state shortcut probe, copy-memory), model and task (95% interval bands, best floor), dev
learning curves per distance, each cell's evidence, and medians over seeds per cell."""

from __future__ import annotations

import pandas as pd

from reports.claims.evidence import seed_stats
from reports.claims.longrange import long_range_runs
from reports.claims.power import fit_arrivals
from reports.dev_curves import dev_figures
from reports.document import Figure, Paragraph, Section, Table
from reports.evidence_table import evidence_frame, evidence_table
from reports.long_range_rows import DISTANCE_BLOCKS
from reports.numbers import spread
from reports.render.plots import accuracy_vs_distance
from reports.render.verdicts import steps_to_target_figure
from reports.rows import (
    group_table,
    order_by_model,
    preset_hint,
    primary_metric,
    sort_models,
)


def long_range_section(df: pd.DataFrame) -> Section:
    """Accuracy against distance per block (the Long-range evidence, the shortcut probe,
    copy-memory), model and task, spread over seeds."""
    sec = Section("Long range")
    blocks = [(name, title, rows(df), what) for name, title, rows, what in DISTANCE_BLOCKS]
    if all(rows.empty for _, _, rows, _ in blocks):
        return sec.add(
            Paragraph(
                "No distance rows (match, dependency, recall, or copy with a delay): "
                f"{preset_hint('longrange')}."
            )
        )
    for name, title, rows, what in blocks:
        if rows.empty:
            continue
        sec.add(Paragraph(f"**{title}** ({what})."))
        suffix = "" if name == "long_range" else f"_{name}"  # figure names: longrange[_probe]
        if name == "long_range":
            sec.add(*steps_figures(df))
        cells = evidence_frame(rows)
        for task, g in cells.groupby("task", sort=True) if len(cells) else []:
            g = g.set_index("model").loc[sort_models(g["model"].unique().tolist())].reset_index()
            metric = primary_metric(str(task))
            png = accuracy_vs_distance(g, str(task), metric)
            sec.add(
                Figure(
                    f"longrange{suffix}_{task}", png, f"{title}, {task}: {metric} against distance."
                )
            )
        sec.add(*dev_figures(rows, "dev_longrange" if not suffix else f"dev_{name}"))
        sec.add(
            Table(
                evidence_table(rows, tuple(rows["task"].unique())),
                f"{title}: score with its 95% interval (bootstrap over examples and seeds; a "
                "failed seed scores chance), the best floor (chance or a shortcut on the same "
                "examples), and whether the cell is evidence: learned (interval above the "
                "floor) and not saturated (every model's interval reaching 0.98).",
                f"{name}_evidence",
            ),
            Table(
                long_range_table(rows), f"{title}: median [min–max] over ok seeds per cell.", name
            ),
        )
    return sec


def steps_figures(df: pd.DataFrame) -> list[Figure]:
    """What Long-range judges: steps to the dev target against distance per task, one point
    per run, censored runs at their budget, each model's fitted censored law dashed."""
    runs = long_range_runs(df)
    out = []
    for task, g in runs.groupby("task", sort=True) if len(runs) else []:
        g = g.set_index("model").loc[sort_models(g["model"].unique().tolist())].reset_index()
        never = int(g["censored"].sum())
        out.append(
            Figure(
                f"longrange_steps_{task}",
                steps_to_target_figure(g, fit_arrivals(g), str(task)),
                f"{task}: steps to the dev target ({g['target'].dropna().unique().tolist()}) "
                f"against distance, the Long-range claim's evidence: one point per run "
                f"({len(g)} runs, {never} never got there: open triangles at their budget), "
                "each model's censored log-normal fit dashed. The claim compares the slopes.",
            )
        )
    return out


def long_range_table(rows: pd.DataFrame) -> pd.DataFrame:
    """Accuracy (task metric) per task x model x distance of one block's rows: median
    [min–max] over ok seeds."""
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
