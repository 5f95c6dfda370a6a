"""Checks of quality claims: long-range dependencies, ease of training, translation BLEU order."""

from __future__ import annotations

import pandas as pd

from reports.numbers import fmt, spread
from reports.rows import long_range, ok_rows, sort_models
from reports.verdict import Outcome, decide, inconclusive

ACC_TOL = 0.02  # absolute accuracy tolerance for "at least as accurate"
BLEU_TOL = 0.5  # BLEU points tolerance for "at least as good"
MIN_SEEDS = 2
PARAM_TOL = 0.10  # "equal parameters": medians within 10% of each other
SPREAD_TOL = 1.25  # seed spread may exceed another model's by 25% (plus SPREAD_EPS)
SPREAD_EPS = 0.01
DIVERGED = "failed:nan"


def seed_stats(df: pd.DataFrame, by: list[str], value: str = "primary") -> pd.DataFrame:
    """Per group over seeds: median, min, max of ok rows, n_ok, n_total, failed seeds, valid."""
    rows = []
    for key, g in df.groupby(by, dropna=False, sort=True):
        key = key if isinstance(key, tuple) else (key,)
        vals = pd.to_numeric(g.loc[g["ok"], value], errors="coerce").dropna()
        failed_seeds = g.loc[~g["ok"], "seed"].nunique(dropna=False)
        rows.append(
            {
                **dict(zip(by, key, strict=True)),
                "median": vals.median() if len(vals) else None,
                "min": vals.min() if len(vals) else None,
                "max": vals.max() if len(vals) else None,
                "n_ok": len(vals),
                "n_total": len(g),
                "valid": failed_seeds <= 1,
            }
        )
    return pd.DataFrame(rows, columns=[*by, "median", "min", "max", "n_ok", "n_total", "valid"])


def _enough(stats: pd.DataFrame) -> pd.DataFrame:
    return stats[stats["valid"] & (stats["n_ok"] >= MIN_SEEDS)]


def _spread_text(r: pd.Series) -> str:
    return f"{r['model']} {spread(r['median'], r['min'], r['max'])} ({r['n_ok']}/{r['n_total']} ok)"


def check_long_range(df: pd.DataFrame) -> Outcome:
    """At the largest distance all compared models reach, Transformer >= LSTM and ConvS2S."""
    rows = long_range(df)
    if rows.empty:
        return inconclusive("no long-range rows (dependency, recall, or copy with a delay)")
    results, texts = [], []
    for task, g in rows.groupby("task", sort=True):
        stats = _enough(seed_stats(g, ["model", "distance"]))
        t = stats[stats["model"].eq("transformer")]
        others = stats[stats["model"].isin(["lstm", "convs2s"])]
        common = sorted(set(t["distance"]) & set(others["distance"]))
        if not common:
            continue
        at = stats[stats["distance"].eq(common[-1])].set_index("model")
        t_acc = at.loc["transformer", "median"]
        for m in sort_models([m for m in at.index if m in ("lstm", "convs2s")]):
            results.append(t_acc >= at.loc[m, "median"] - ACC_TOL)
        texts.append(
            f"{task} at distance {fmt(common[-1], 6)}: "
            + ", ".join(
                _spread_text(r)
                for _, r in at.loc[sort_models(list(at.index))].reset_index().iterrows()
            )
        )
    if not results:
        return inconclusive(
            f"needs Transformer and LSTM or ConvS2S at a shared distance, >= {MIN_SEEDS} ok seeds"
        )
    return decide(all(results), "; ".join(texts) + f" (tolerance {ACC_TOL})")


def check_training_ease(df: pd.DataFrame) -> Outcome:
    """Transformer: no more diverged runs (rate) and no larger seed spread than the others."""
    if df.empty or "transformer" not in set(df["model"]):
        return inconclusive("no Transformer rows")
    runs = df.groupby("model").agg(
        n=("status", "size"), diverged=("status", lambda s: int(s.eq(DIVERGED).sum()))
    )
    runs = runs[runs["n"] >= 3]
    spread = _seed_spread(df)
    t_tasks = set(spread[spread["model"].eq("transformer")]["task"])
    shared = spread[spread["task"].isin(t_tasks)]
    if "transformer" not in runs.index or len(runs) < 2 or shared["model"].nunique() < 2:
        return inconclusive(
            f"needs >= 3 runs of the Transformer and another model, with >= {MIN_SEEDS} ok "
            "seeds of a shared cell"
        )
    rate = runs["diverged"] / runs["n"]
    ok = bool(rate["transformer"] <= rate.drop("transformer").min())
    for _, g in shared.groupby("task"):
        by = g.set_index("model")["spread"]
        if "transformer" in by:
            ok &= bool(
                (by["transformer"] <= by.drop("transformer") * SPREAD_TOL + SPREAD_EPS).all()
            )
    numbers = "diverged: " + ", ".join(
        f"{m} {int(runs.loc[m, 'diverged'])}/{int(runs.loc[m, 'n'])}"
        for m in sort_models(runs.index.tolist())
    )
    numbers += "; median seed std of the task metric: " + ", ".join(
        f"{r['task']}/{r['model']} {fmt(r['spread'])}" for _, r in shared.iterrows()
    )
    return decide(ok, numbers)


def _seed_spread(df: pd.DataFrame) -> pd.DataFrame:
    """Median over cells (same config, several seeds) of the seed std of the task metric."""
    ok = ok_rows(df).assign(primary=lambda d: pd.to_numeric(d["primary"], errors="coerce"))
    per_cell = ok.groupby(["model", "task", "config_id"])["primary"].agg(["std", "count"])
    per_cell = per_cell[per_cell["count"] >= MIN_SEEDS]
    out = per_cell.groupby(["model", "task"])["std"].median().rename("spread").reset_index()
    return out.sort_values(["task", "model"], key=lambda s: s.map(str))


def _equal_params_rows(rows: pd.DataFrame) -> tuple[pd.DataFrame, str] | None:
    """Rows of one shared ``equal_params`` target, or rows whose sizes agree within PARAM_TOL."""
    targets = rows.dropna(subset=["equal_params"]).groupby("equal_params")["model"].nunique()
    full = targets[targets >= 3]
    if len(full):
        target = full.index[0]
        return rows[rows["equal_params"].eq(target)], f"equal_params target {int(target):,}"
    sizes = pd.to_numeric(rows["n_params"], errors="coerce").groupby(rows["model"]).median()
    if sizes.notna().all() and sizes.max() <= sizes.min() * (1 + PARAM_TOL):
        return rows, f"params {int(sizes.min()):,}–{int(sizes.max()):,} (within 10%)"
    return None


def check_translation(df: pd.DataFrame) -> Outcome:
    """Median BLEU over seeds at equal parameters: Transformer >= ConvS2S >= LSTM (± BLEU_TOL)."""
    rows = df[df["task"].eq("translate")]
    rows = rows[rows["model"].isin(["transformer", "lstm", "convs2s"])]
    if rows["model"].nunique() < 3:
        return inconclusive("needs translate rows of all three models")
    picked = _equal_params_rows(rows)
    if picked is None:
        return inconclusive("translation rows are not at equal parameters (set equal_params)")
    rows, size = picked
    stats = _enough(seed_stats(rows, ["model"], "bleu")).set_index("model")
    if len(stats) < 3:
        return inconclusive(f"needs >= {MIN_SEEDS} ok seeds (valid cell) per model")
    b = stats["median"]
    sigs = rows.loc[rows["ok"], "sacrebleu_signature"].dropna().unique()
    numbers = "BLEU median [min–max]: " + ", ".join(
        _spread_text(r)
        for _, r in stats.loc[sort_models(stats.index.tolist())].reset_index().iterrows()
    )
    numbers += f"; {size}; signature {' | '.join(sigs) if len(sigs) else 'not recorded'}"
    ok = b["transformer"] >= b["convs2s"] - BLEU_TOL and b["convs2s"] >= b["lstm"] - BLEU_TOL
    return decide(bool(ok), numbers)
