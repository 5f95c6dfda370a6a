"""Time to target as right-censored data: the arrival of one run (used by Long-range,
``longrange``) and Training-ease (how soon each model gets there).

A run that never reaches the target is censored at its last step (or its whole run time),
not timed; a failed run never got there and is censored at the full budget. Fits:
``stats.censored_regression`` (log-normal, censored likelihood); summaries: Kaplan–Meier
medians (``scipy.stats.ecdf``) and the log-rank test (``scipy.stats.logrank``).
"""

from __future__ import annotations

from dataclasses import replace
from typing import Any

import numpy as np
import pandas as pd

from bench.rundir.rows import dev_points, first_step_at
from catalog import BASELINES
from reports.claims import rungs as rg
from reports.claims.stats import bonferroni, censored_regression, km_median, logrank_p
from reports.claims.verdict import INCONCLUSIVE, Verdict, against, combine
from reports.records import records
from reports.rows import sort_models

OTHERS = BASELINES  # catalog.py: what the Transformer is judged against


def reach_step(row: dict[str, Any]) -> tuple[float, bool, str]:
    """(step, censored, source) of one run: the first dev point at the row's target when it
    has a dev curve, else the training curve's ``steps_to_target``; censored at its last step
    when it never got there, at the full budget when it failed."""
    steps = rg.train_steps(row) or 0
    if not row.get("ok"):
        return float(steps), True, "failed"
    target = row.get("target_value")
    points = dev_points(row, rg.DEV_METRIC)
    if points and target is not None and not pd.isna(target):
        first = first_step_at(points, float(target))
        return (first, False, "dev") if np.isfinite(first) else (float(max(points)), True, "dev")
    sts = row.get("steps_to_target")
    if sts is not None and not pd.isna(sts):
        return float(sts), False, "train"
    return float(steps), True, "train"


def truncate(t: np.ndarray, censored: np.ndarray, at: float) -> tuple[np.ndarray, np.ndarray]:
    """The same runs as seen at a budget rung ``at``: whatever had not arrived is censored."""
    return np.minimum(t, at), censored | (t > at)


def censored_text(groups: dict[str, tuple[np.ndarray, np.ndarray]], unit: str) -> str:
    parts = []
    for m in sort_models(list(groups)):
        t, c = groups[m]
        med = km_median(t, c)
        shown = "never (KM)" if not np.isfinite(med) else f"{med:.4g} {unit}"
        parts.append(f"{m} {int(c.sum())}/{len(c)} censored, median {shown}")
    return "; ".join(parts)


# ---------------------------------------------------------------------------- Training-ease


def ease_runs(df: pd.DataFrame, settings: list[str]) -> pd.DataFrame:
    """Runs of the given settings with training time to target, censored at the whole run
    time. A run with an ``eval_every`` dev curve is timed on it (the first dev point at the
    target, times the median step time): dev accuracy is measured without dropout, while a
    training batch's accuracy, the fallback, is not, so a model with dropout can reach the
    target on dev long before it does on its training batches."""
    from reports.claims.evidence import setting_id

    recs = []
    for r in records(df):
        sid = setting_id(r)
        if sid not in settings:
            continue
        steps = rg.train_steps(r) or 0
        step_s = pd.to_numeric(r.get("train_step_s"), errors="coerce")
        run_s = float(step_s) * steps if pd.notna(step_s) else float("nan")
        reached = pd.to_numeric(r.get("time_to_target_s"), errors="coerce")
        ok = bool(r.get("ok"))
        at_step, censored, source = reach_step(r)
        curve = r.get("dev_curve")
        every = isinstance(curve, dict) and bool(curve.get("step"))  # not only the four rungs
        if ok and source == "dev" and every:
            t, c = (run_s, True) if censored else (at_step * float(step_s), False)
        else:  # the training curve's arrival, censored at the whole run without one
            source = "train"
            t, c = (float(reached), False) if ok and pd.notna(reached) else (run_s, True)
        if not np.isfinite(t) or t <= 0:
            continue
        recs.append(
            {
                "setting": sid,
                "model": r["model"],
                "seed": r.get("seed"),
                "t": t,
                "censored": c,
                "run_s": run_s,
                "source": source,
            }
        )
    columns = ["setting", "model", "seed", "t", "censored", "run_s", "source"]
    return pd.DataFrame(recs, columns=columns)


def judge_ease(runs: pd.DataFrame, frac: float = 1.0) -> Verdict:
    """log time-to-target ratio Transformer/other from a censored fit with one intercept per
    setting; interval below 0 for every other model: PASS, above for any: FAIL."""
    t_all, c_all = runs["t"].to_numpy(float), runs["censored"].to_numpy(bool)
    if frac < 1.0:
        at = runs["run_s"].to_numpy(float) * frac
        c_all = c_all | (t_all > at)
        t_all = np.minimum(t_all, at)
    runs = runs.assign(t=t_all, censored=c_all)
    others = [m for m in OTHERS if m in set(runs["model"])]
    conf = bonferroni(len(others))
    judged, texts = [], []
    for m in others:
        g = runs[runs["model"].isin(["transformer", m])]
        arrived = g.groupby("setting")["censored"].transform(lambda c: (~c).any())
        g = g[arrived.astype(bool)]  # a setting nobody finished says nothing about the ratio
        if g.empty:
            n = runs[runs["model"].isin(["transformer", m])].groupby("model").size()
            cens = ", ".join(f"{k} {int(n[k])}/{int(n[k])}" for k in sorted(n.index))
            judged.append(
                Verdict(
                    INCONCLUSIVE,
                    f"censoring leaves transformer vs {m} undecidable: no run reached the "
                    f"target (runs censored: {cens})",
                )
            )
            continue
        settings = sorted(set(g["setting"]))
        X = np.column_stack(
            [g["setting"].eq(s).to_numpy(float) for s in settings]
            + [g["model"].eq("transformer").to_numpy(float)]
        )
        fit = censored_regression(np.log(g["t"]), g["censored"].to_numpy(), X, conf)
        groups = {
            k: (gk["t"].to_numpy(float), gk["censored"].to_numpy(bool))
            for k, gk in g.groupby("model")
        }
        p = logrank_p(groups.get("transformer", ([], [])), groups.get(m, ([], [])))
        texts.append(f"vs {m}: {censored_text(groups, 's')}; log-rank p = {p:.3g}")
        n_obs = {k: int((~c).sum()) for k, (_, c) in groups.items()}
        if fit is None or min(n_obs.get("transformer", 0), n_obs.get(m, 0)) < 1:
            cens = ", ".join(f"{k} {int(c.sum())}/{len(c)}" for k, (_, c) in sorted(groups.items()))
            judged.append(
                Verdict(
                    INCONCLUSIVE,
                    f"censoring leaves transformer vs {m} undecidable (runs censored: {cens}; "
                    f"log-rank p = {p:.3g}): no time ratio without arrivals of both models",
                )
            )
            continue
        iv = (float(fit.low[-1]), float(fit.high[-1]))
        texts[-1] += f"; log ratio {fit.coef[-1]:+.2f} [{iv[0]:+.2f}, {iv[1]:+.2f}]"
        v = against(iv, 0.0, "", f"log time-to-target ratio transformer/{m}", "below", conf)
        n = int(g.groupby(["setting", "model"]).size().min())
        design = {"n": n, "df": fit.df, "unit": "seeds per setting", "confidence": conf}
        judged.append(replace(v, details={"design": design}))
    if not judged:
        return Verdict(
            INCONCLUSIVE,
            "needs runs of the Transformer and the LSTM or ConvS2S with a time to target or, "
            "censored, a run time (train_step_s)",
        )
    return combine(judged, "; ".join(texts) + f" ({conf:.1%} each, censored fit)", 0.0)
