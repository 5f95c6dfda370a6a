"""Training-ease: per task tuned on dev for every model, the Transformer reaches the shared
target sooner (censored time to target) and does not diverge more often; tuned tasks that
decide opposite ways are "task-dependent". Untuned tasks test the shared recipe, not ease."""

from __future__ import annotations

from dataclasses import replace

import pandas as pd

from catalog import BASELINES
from reports.claims.censored import ease_runs, judge_ease
from reports.claims.evidence import tuned_tasks
from reports.claims.rungs import FRACTIONS, rung, stabilise, train_steps
from reports.claims.stats import (
    bonferroni,
    fisher_greater,
)
from reports.claims.verdict import (
    FAIL,
    INCONCLUSIVE,
    PASS,
    Verdict,
    combine,
    inconclusive,
)
from reports.records import records
from reports.rows import sort_models

OTHERS = BASELINES  # catalog.py: what the Transformer is judged against
DIVERGED = "failed:nan"


def check_training_ease(df: pd.DataFrame) -> Verdict:
    """Per tuned task, the Transformer reaches the shared target sooner (censored log time
    ratio interval below 0 for each other model, ``censored.judge_ease``) and does not
    diverge more (Fisher), judged at the budget rungs. One tuned task: its verdict; several
    that decide opposite ways: INCONCLUSIVE "task-dependent", each task's verdict shown."""
    ok_models = set(df["model"])
    if "transformer" not in ok_models or not set(OTHERS) & ok_models:
        return inconclusive("needs rows of the Transformer and the LSTM or ConvS2S")
    from reports.claims.evidence import setting_id

    rows = df[df["task"].notna() & df["task"].ne("translate")]
    tuned, untuned = tuned_tasks(rows)
    skipped = (
        f"not evidence (not tuned for every model, one shared recipe): {', '.join(untuned)}"
        if untuned
        else ""
    )
    if not tuned:
        return inconclusive(
            "no task tuned on dev for every model: " + (skipped or "no rows"),
            _divergence(df)["text"],
        )
    per_task: dict[str, Verdict] = {}
    for task in tuned:
        trows = rows[rows["task"].eq(task)]
        ids = [setting_id(r) for r in records(trows)]
        models_by = trows.groupby(ids)["model"].agg(set)
        settings = [s for s, ms in models_by.items() if "transformer" in ms and set(OTHERS) & ms]
        if settings:
            per_task[task] = _ease_of_task(trows, settings)
    if not per_task:
        return inconclusive("no tuned setting shared by the Transformer and another model")
    numbers = "; ".join(f"{t}: {v.verdict}: {v.numbers}" for t, v in per_task.items())
    numbers += f"; {skipped}" if skipped else ""
    if len(per_task) == 1:
        ((task, v),) = per_task.items()
        return replace(v, reason=f"{task}: {v.reason}", numbers=numbers)
    verdicts = {v.verdict for v in per_task.values()}
    shown = "; ".join(f"{t}: {v.verdict} ({v.reason})" for t, v in per_task.items())
    details = {"tasks": {t: v.verdict for t, v in per_task.items()}}
    if {PASS, FAIL} <= verdicts:
        return Verdict(INCONCLUSIVE, f"task-dependent: {shown}", numbers, details=details)
    v = combine(list(per_task.values()), numbers, 0.0)
    first = next(iter(per_task.values()))
    return replace(
        v,
        reason=shown,
        details={**first.details, **details, "n_seeds": first.details.get("n_seeds")},
    )


def _ease_of_task(rows: pd.DataFrame, settings: list[str]) -> Verdict:
    """Training-ease on one task's shared settings, at the budget rungs."""
    diverge = _divergence(rows)
    runs = ease_runs(rows, settings)
    end = judge_ease(runs)
    numbers = diverge["text"] + "; " + end.numbers
    if len(runs):
        sources = runs["source"].value_counts()
        numbers += (
            f"; time to target read on dev curves for {int(sources.get('dev', 0))} runs, "
            f"on training batches (with dropout) for {int(sources.get('train', 0))}"
        )
    if diverge["worse"]:
        return Verdict(
            FAIL,
            f"the Transformer diverges significantly more often ({diverge['worse']})",
            numbers,
        )
    end = replace(end, numbers=numbers)
    budgets = {train_steps(r) for r in records(rows)} - {None}
    total = budgets.pop() if len(budgets) == 1 else None
    rungs = [
        rung(round(f * total) if total else None, judge_ease(runs, f), "log time to target", f)
        for f in FRACTIONS
    ]  # each run censored at that fraction of its own run time (≈ that step)
    n = int(runs.groupby(["setting", "model"]).size().min()) if len(runs) else 0
    return stabilise(end, rungs, n)


def _divergence(df: pd.DataFrame) -> dict:
    runs = df.groupby("model")["status"].agg(["size", lambda s: int(s.eq(DIVERGED).sum())])
    runs.columns = ["n", "diverged"]
    text = "diverged: " + ", ".join(
        f"{m} {int(runs.loc[m, 'diverged'])}/{int(runs.loc[m, 'n'])}"
        for m in sort_models(runs.index.tolist())
    )
    worse = []
    if "transformer" in runs.index:
        t = runs.loc["transformer"]
        others = [m for m in OTHERS if m in runs.index]
        for m in others:
            o = runs.loc[m]
            p = fisher_greater(int(t["diverged"]), int(t["n"]), int(o["diverged"]), int(o["n"]))
            if p < (1 - bonferroni(len(others))):
                worse.append(f"vs {m}: Fisher one-sided p = {p:.3g}")
    return {"text": text, "worse": "; ".join(worse)}
