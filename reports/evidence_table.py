"""Evidence tables: each cell's score with its 95% interval, its floors, learned, saturated.

Shared by the Long range and Translation sections (``reports.claims.evidence`` computes the
scores)."""

from __future__ import annotations

import pandas as pd

from reports.claims.evidence import CEILING, CellScore, by_setting, cell_scores, saturated
from reports.rows import sort_models

COLUMNS = ["task", "distance", "model", "metric", "score [95% CI]", "best floor", "seeds",
           "evidence"]  # fmt: skip


def evidence_frame(df: pd.DataFrame) -> pd.DataFrame:
    """One row per cell: estimate, interval, best floor and the gate outcome (for plots too)."""
    out = []
    for setting in by_setting(cell_scores(df)).values():
        sat = saturated(setting)
        for c in setting:
            name, value = c.best_floor
            out.append(
                {
                    "task": c.task,
                    "distance": c.distance,
                    "model": c.model,
                    "metric": c.metric,
                    "estimate": c.estimate,
                    "low": c.interval[0],
                    "high": c.interval[1],
                    "floor_name": name,
                    "floor": value,
                    "learned": c.learned,
                    "saturated": sat,
                    "seeds_ok": c.n_ok,
                    "seeds": c.seeds,
                    "cell": c,
                }
            )
    return pd.DataFrame(out)


def _gate(r: pd.Series) -> str:
    if not r["learned"]:
        return "not learned"
    if r["saturated"]:
        return f"saturated (all ≥ {CEILING})"
    return "counts"


def _score(c: CellScore) -> str:
    if c.task == "translate":
        return "; ".join(
            f"{m} {c.extra[m]['estimate']:.2f} [{c.extra[m]['interval'][0]:.2f}, "
            f"{c.extra[m]['interval'][1]:.2f}]"
            for m in ("bleu", "chrf")
        )
    return f"{c.estimate:.3f} [{c.interval[0]:.3f}, {c.interval[1]:.3f}]"


def _floor(c: CellScore) -> str:
    if c.task == "translate":
        return ", ".join(f"{k.removeprefix('copy_source_')} {v:.2f}" for k, v in c.floors.items())
    name, value = c.best_floor
    return f"{name} {value:.3f}"


def evidence_table(df: pd.DataFrame, tasks: tuple[str, ...]) -> pd.DataFrame:
    """Cells of ``tasks`` with score intervals, best floor (chance or shortcut on the same
    examples) and whether the cell counts as evidence."""
    frame = evidence_frame(df)
    if frame.empty:
        return pd.DataFrame(columns=COLUMNS)
    frame = frame[frame["task"].isin(tasks)]
    if frame.empty:
        return pd.DataFrame(columns=COLUMNS)
    rank = {m: i for i, m in enumerate(sort_models(frame["model"].unique().tolist()))}
    frame = frame.assign(_r=frame["model"].map(rank)).sort_values(["task", "distance", "_r"])
    return pd.DataFrame(
        {
            "task": frame["task"],
            "distance": frame["distance"].map(lambda d: "-" if pd.isna(d) else f"{d:g}"),
            "model": frame["model"],
            "metric": frame["metric"],
            "score [95% CI]": frame["cell"].map(_score),
            "best floor": frame["cell"].map(_floor),
            "seeds": [
                f"{a}/{b} ok" for a, b in zip(frame["seeds_ok"], frame["seeds"], strict=True)
            ],
            "evidence": frame.apply(_gate, axis=1),
        }
    ).reset_index(drop=True)
