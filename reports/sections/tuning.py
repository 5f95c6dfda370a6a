"""The Tuning section: each model's sweep on dev, the chosen value, and every recipe.

Sweep rows (``sweep`` in the row, bench/matrix/tuning.py) are kept out of every other section by
``reports.rows.load_results``; this section reads them itself. Selection is on dev only,
so no test number of a sweep cell is shown.
"""

from __future__ import annotations

import json
import warnings
from pathlib import Path

import pandas as pd

from bench.matrix.tuning import METRICS, best_index, edge_keys, metric_value
from bench.rundir.layout import RESULTS_FILE
from bench.rundir.rows import read_rows
from reports.document import Bullets, Figure, Paragraph, Section, Table
from reports.expected_max import expected_best
from reports.records import records
from reports.render.plots import sweep_figure
from reports.rows import normalise, order_by_model, sort_models

RECIPE_KEYS = ("optimizer", "lr", "warmup", "schedule", "clip", "label_smoothing")


def sweep_rows(directory: Path) -> pd.DataFrame:
    """Latest attempt of every sweep cell in ``directory/results.jsonl`` (maybe empty)."""
    path = Path(directory) / RESULTS_FILE
    if not path.exists():
        return pd.DataFrame()
    with warnings.catch_warnings():  # load_results has already warned about a corrupt line
        warnings.simplefilter("ignore")
        rows = [r for r in read_rows(path) if isinstance(r.get("sweep"), dict)]
    return normalise(pd.DataFrame(rows)) if rows else pd.DataFrame()


def _group_id(row: dict) -> str:
    """Sweep cells of one model, task setting and grid (the swept keys left out)."""
    sweep = row["sweep"]
    swept = sweep.get("space") or sweep["grid"]
    train = {k: v for k, v in (row["config"] or {}).get("train", {}).items()
             if k not in swept}  # fmt: skip
    task = (row["config"] or {}).get("task", {})
    return json.dumps([row["model"], row["task"], task, train, sweep["grid"], sweep["metric"]],
                      sort_keys=True, default=str)  # fmt: skip


def _point_label(point: dict) -> str:
    return ", ".join(f"{k}={v:g}" if isinstance(v, float) else f"{k}={v}" for k, v in point.items())


def seed_choices(df: pd.DataFrame) -> dict[str, str]:
    """Sweep cell key -> how the seed cells' choice was made there ("tie broken by dev_loss",
    "" for a clear best), from the seed rows' ``tuned`` records: the runner's own choice."""
    out: dict[str, str] = {}
    tuned = df["tuned"] if "tuned" in df else pd.Series([], dtype=object)
    for t in tuned:
        if not isinstance(t, dict):
            continue
        for rec in t.get("dev_metric", []):
            if {k: rec.get(k) for k in t["chosen"]} == t["chosen"]:
                tie = t.get("tie")
                out[rec["key"]] = f"tie broken by {tie['broken_by']}" if tie else ""
    return out


def sweep_table(sweeps: pd.DataFrame, choices: dict[str, str] | None = None) -> pd.DataFrame:
    """One line per sweep cell: model, task, swept value, dev metric, status, chosen, edge.
    ``choices`` (``seed_choices``) marks what the runner chose; without it, the best value."""
    out = []
    choices = choices or {}
    setting = _settings(sweeps)
    for _, g in sweeps.groupby(sweeps.apply(lambda r: _group_id(r.to_dict()), axis=1)):
        recs = records(g)
        metric = recs[0]["sweep"]["metric"]
        grid = recs[0]["sweep"]["grid"]
        points = [r["sweep"]["point"] for r in recs]
        values = [metric_value(r, metric) for r in recs]
        best = best_index(values, metric)
        mine = [i for i, r in enumerate(recs) if r["key"] in choices]
        best = mine[0] if mine else best
        how = choices.get(recs[best]["key"], "") if best is not None else ""
        edge = best is not None and bool(edge_keys(grid, points[best]))
        mark = "**chosen**" + (" (grid edge)" if edge else "") + (f" ({how})" if how else "")
        for i, (r, v) in enumerate(zip(recs, values, strict=True)):
            out.append(
                {
                    "task": r["task"],
                    "setting": setting[r["key"]][0],
                    "_setting_order": setting[r["key"]][1],
                    "model": r["model"],
                    "value": _point_label(points[i]),
                    "metric": metric,
                    "dev": v,
                    "status": r["status"],
                    "chosen": mark if i == best else "",
                    "wall_s": r.get("wall_s"),
                    "_order": tuple(points[i].values()),
                }
            )
    cols = ["task", "setting", "model", "value", "metric", "dev", "status", "chosen", "wall_s"]
    if not out:
        return pd.DataFrame(columns=cols)
    frame = pd.DataFrame(out)
    rank = {m: i for i, m in enumerate(sort_models(frame["model"].unique().tolist()))}
    frame = frame.assign(_rank=frame["model"].map(rank))
    frame = frame.sort_values(["task", "_setting_order", "_rank", "_order"])
    if not frame["setting"].astype(bool).any():
        cols.remove("setting")  # one sweep per task and model: no setting to tell apart
    return frame[cols].reset_index(drop=True)


def _settings(sweeps: pd.DataFrame) -> dict[str, tuple[str, tuple]]:
    """Sweep row key -> (label, sort key): the label names the task values that differ
    between its task's sweeps ("delay=256") and where the choice was used ("delay=256 (used
    at every delay)" for ``tune.at``); the sort key orders numbers as numbers (16 before 128)."""
    out = {}
    for _, g in sweeps.groupby("task"):
        tasks = [(r["config"] or {}).get("task", {}) for r in records(g)]
        keys = {k for t in tasks for k in t}
        varying = sorted(k for k in keys if len({repr(t.get(k)) for t in tasks}) > 1)
        for r, t in zip(records(g), tasks, strict=True):
            at = r["sweep"].get("at") or {}
            label = ", ".join(f"{k}={t.get(k)}" for k in varying if k not in at)
            label = ", ".join(filter(None, [label] + [f"{k}={v}" for k, v in at.items()]))
            used = ", ".join(f"every {k}" for k in at)
            order = tuple(_sortable(t.get(k)) for k in varying if k not in at)
            out[r["key"]] = (label + (f" (used at {used})" if used else ""), order)
    return out


def _sortable(value: object) -> tuple[int, float, str]:
    """Numbers first, by value; anything else after them, by its text."""
    if isinstance(value, (int, float)) and not isinstance(value, bool):
        return (0, float(value), "")
    return (1, 0.0, str(value))


def budget_table(sweeps: pd.DataFrame) -> pd.DataFrame:
    """Per task and model: sweep cells, steps, batch size and the sweep's wall time."""
    train = sweeps["config"].map(lambda c: (c or {}).get("train", {}))
    frame = sweeps.assign(steps=train.map(lambda t: t.get("steps")),
                          batch_size=train.map(lambda t: t.get("batch_size")))  # fmt: skip
    out = frame.groupby(["task", "model"], sort=False).agg(
        cells=("key", "size"),
        ok=("ok", "sum"),
        steps=("steps", "first"),
        batch_size=("batch_size", "first"),
        wall_s=("wall_s", "sum"),
    )
    return order_by_model(out.reset_index(), ["task"]).reset_index(drop=True)


def recipe_table(df: pd.DataFrame) -> pd.DataFrame:
    """How each model trained per task: tuned on dev, a shared recipe, or its own recipe."""
    ok = df[df["ok"]] if "ok" in df else df
    out = []
    for task, g in ok.groupby("task", sort=True):
        trains = {m: _recipe(h) for m, h in g.groupby("model")}
        shared = len({json.dumps(t, sort_keys=True, default=str) for t in trains.values()}) == 1
        for model in sort_models(list(trains)):
            rows = g[g["model"] == model]
            tuned = rows["tuned"].map(lambda t: isinstance(t, dict)) if "tuned" in rows else None
            if tuned is not None and tuned.any():
                label = "tuned on dev (" + ", ".join(rows[tuned].iloc[0]["tuned"]["grid"]) + ")"
            else:
                label = "shared recipe" if shared and len(trains) > 1 else "own recipe"
            out.append({"task": task, "model": model, "recipe": label, "rows": len(rows),
                        **trains[model]})  # fmt: skip
    return pd.DataFrame(out, columns=["task", "model", "recipe", "rows", *RECIPE_KEYS])


def _recipe(rows: pd.DataFrame) -> dict:
    """The recipe keys of the rows' train configs ("a | b" where the rows differ)."""
    train = rows["config"].map(lambda c: (c or {}).get("train", {}))
    out = {}
    for k in RECIPE_KEYS:
        vals = sorted({json.dumps(_train_value(t, k)) for t in train})
        out[k] = " | ".join(json.loads(v) if v.startswith('"') else v for v in vals)
    return out


def _train_value(train: dict, key: str) -> object:
    if key == "clip" and key not in train:
        return train.get("grad_clip")  # rows written before train.grad_clip became clip
    return train.get(key)


def tuning_section(directory: Path, df: pd.DataFrame) -> Section:
    """Dev metric per swept value and model (chosen marked, grid edges flagged), the tuning
    budget, and how every model trained (tuned, shared recipe or its own recipe)."""
    sec = Section("Tuning")
    sweeps = sweep_rows(directory)
    if len(df):
        sec.add(Table(recipe_table(df), "How each model trained, per task (ok rows).", "recipes"))
    if sweeps.empty:
        return sec.add(
            Paragraph(
                "No tuning sweep in these rows: models trained with the recipe shown above. "
                "A matrix with `tune:` (as the translate preset) gives every model the same "
                "tuning budget and chooses on dev."
            )
        )
    table = sweep_table(sweeps, seed_choices(df) if len(df) else {})
    sec.add(
        Paragraph(
            "Every model got the same number of trials (same steps, batch and seed); the "
            "value with the best dev metric was chosen (a failed cell counts as worst), and "
            "values whose dev intervals overlap the best one's were a tie, broken by dev loss. "
            "Test numbers of sweep cells are not shown: choices are made on dev only."
        ),
        Table(
            table,
            "Dev metric per swept value; **chosen** marks each model's choice.",
            "tuning_sweep",
        ),
    )
    png = sweep_figure(table)
    if png is not None:
        sec.add(
            Figure("tuning_sweep", png, "Dev metric against the swept value (circled: chosen).")
        )
    edges = table[table["chosen"].str.contains("grid edge")]
    sec.add(
        Bullets(
            [
                f"{r.model} ({r.task}): best at the edge of its grid ({r.value}); "
                "the optimum may lie outside it."
                for r in edges.itertuples()
            ]
        )  # fmt: skip
        if len(edges)
        else Paragraph("No model's chosen value sits at the edge of its grid."),
        Table(
            budget_table(sweeps),
            "Tuning budget per model: sweep cells and wall time (s).",
            "tuning_budget",
        ),
    )
    curves = expected_best_table(sweeps)
    if len(curves):
        sec.add(
            Paragraph(
                "Expected best dev score of n trials drawn from each model's sweep (Dodge et "
                "al. 2019, ± its standard deviation): a curve still rising at the last n needed "
                "more tuning than it got; at equal n the models had an equal tuning budget."
            ),
            Table(curves, "Expected best dev score against trials.", "tuning_expected_best"),
        )
    notes = tuning_notes(df) if len(df) else []
    if notes:
        sec.add(Bullets(notes))
    return sec


def expected_best_table(sweeps: pd.DataFrame) -> pd.DataFrame:
    """Per task, setting and model: E[best of n trials] ± sd for n = 1 .. its trials."""
    setting = _settings(sweeps)
    out = []
    for _, g in sweeps.groupby(sweeps.apply(lambda r: _group_id(r.to_dict()), axis=1)):
        recs = records(g)
        metric = recs[0]["sweep"]["metric"]
        values = [metric_value(r, metric) for r in recs]
        values = [float("nan") if v is None else v for v in values]
        if all(v != v for v in values):  # every trial failed
            continue
        curve = expected_best(values, METRICS[metric] == "max")
        out.append(
            {
                "task": recs[0]["task"],
                "setting": setting[recs[0]["key"]][0],
                "model": recs[0]["model"],
                "metric": metric,
                **{
                    f"n={int(c.trials)}": f"{c.expected_best:.3g} ± {c.std:.2g}"
                    for c in curve.itertuples()
                },
            }
        )
    if not out:
        return pd.DataFrame()
    frame = order_by_model(pd.DataFrame(out), ["task", "setting"]).reset_index(drop=True)
    if not frame["setting"].astype(bool).any():
        frame = frame.drop(columns="setting")
    return frame.fillna("")


def tuning_notes(df: pd.DataFrame) -> list[str]:
    """Ties and floors the runner recorded in the seed rows, once per model and setting."""
    seen: dict[str, str] = {}
    for r in records(df):
        t = r.get("tuned")
        if not isinstance(t, dict):
            continue
        where = f"{r['model']} ({r['task']}"
        where += "".join(f", {k}={v}" for k, v in (t.get("at") or {}).items()) + ")"
        if t.get("at_floor"):
            seen[where + "f"] = f"{where}: {t['at_floor']}."
        if t.get("tie"):
            points = "; ".join(_point_label(p) for p in t["tie"]["points"])
            seen[where + "t"] = (
                f"{where}: a tie on {t['metric']} between {points} (overlapping dev intervals), "
                f"broken by {t['tie']['broken_by']}."
            )
        if t.get("extended"):
            seen[where + "e"] = f"{where}: the grid extended once past its edge: {t['extended']}."
    return list(seen.values())
