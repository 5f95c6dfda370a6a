"""Translation (Table 2's BLEU order at equal parameters, paired over sentences) and what
T2-cost and Parallel-speed share with it: the equal-parameter translate cells per model,
and the verdict judged again at the dev-curve rungs."""

from __future__ import annotations

import numpy as np
import pandas as pd

from catalog import BASELINES
from reports.claims.evidence import MIN_SEEDS, CellScore, cell_scores
from reports.claims.rungs import dev_at, rung, rung_steps, stabilise, train_steps
from reports.claims.stats import (
    bonferroni,
    percentile_interval,
    welch_interval,
)
from reports.claims.verdict import (
    INCONCLUSIVE,
    Verdict,
    against,
    combine,
    inconclusive,
)
from reports.records import records
from reports.rows import sort_models

OTHERS = BASELINES  # catalog.py: what the Transformer is judged against
PARAM_TOL = 0.10  # "equal parameters": sizes within 10% of each other


def equal_params(rows: pd.DataFrame) -> tuple[pd.DataFrame, str] | None:
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


def param_text(rows: pd.DataFrame) -> str:
    sizes = pd.to_numeric(rows["n_params"], errors="coerce").groupby(rows["model"]).median()
    return ", ".join(f"{m} {sizes[m]:,.0f}" for m in sort_models(sizes.index.tolist()))


def translation_cells(df: pd.DataFrame) -> tuple[dict[str, CellScore] | None, str, str]:
    """Translate cells by model (one setting each: the one with the most seeds), a size
    note, and why they cannot be compared ("" when they can).

    Not learned comes first: a model below copy-the-source is not evidence at any size.
    """
    rows = df[df["task"].eq("translate") & df["model"].isin(["transformer", *OTHERS])]
    if rows["model"].nunique() < 2 or "transformer" not in set(rows["model"]):
        return None, "", "needs translate rows of the Transformer and another model"
    picked = equal_params(rows)
    use, size = picked if picked is not None else (rows, f"unequal sizes: {param_text(rows)}")
    by_model: dict[str, CellScore] = {}
    for c in cell_scores(use):
        if c.model not in by_model or c.seeds > by_model[c.model].seeds:
            by_model[c.model] = c
    if not by_model:
        return None, size, "translate rows have no per-example outputs (cells/<key>/eval.jsonl)"
    unlearned = [c.not_learned_text() for c in by_model.values() if not c.learned]
    if unlearned:
        return by_model, size, "not learned: " + "; ".join(unlearned)
    if picked is None:
        return by_model, size, f"translate rows are not at equal parameters ({param_text(rows)})"
    return by_model, size, ""


def check_translation(df: pd.DataFrame) -> Verdict:
    """Table 2's order at equal parameters: Transformer > ConvS2S > LSTM in BLEU, each
    difference paired over sentences, after every model beats copy-the-source."""
    by_model, size, why = translation_cells(df)
    if by_model is None:
        return inconclusive(why)
    numbers = "; ".join(by_model[m].text() for m in sort_models(list(by_model))) + f"; {size}"
    if why:
        return inconclusive(why, numbers)
    if len(by_model) < 3:
        return inconclusive("needs translate cells of all three models", numbers)
    short = [f"{c.where()} {c.seeds} seeds" for c in by_model.values() if c.seeds < MIN_SEEDS]
    numbers += _paired_tests(by_model)
    if short:
        return inconclusive(f"too few seeds (need ≥ {MIN_SEEDS}): " + "; ".join(short), numbers)
    order = [("transformer", "convs2s"), ("convs2s", "lstm")]
    conf = bonferroni(len(order))
    judged = []
    for a, b in order:
        draws = by_model[a].draws - by_model[b].draws
        interval = percentile_interval(draws, conf)
        numbers += f"; BLEU {a} − {b} [{interval[0]:+.2f}, {interval[1]:+.2f}]"
        judged.append(against(interval, 0.0, "", f"BLEU {a} − {b}", confidence=conf))
    numbers += f" ({conf:.1%} each, paired over sentences, seeds resampled)"
    return dev_rungs(df, by_model, combine(judged, numbers, 0.0), order)


def dev_rungs(
    df: pd.DataFrame, cells: dict[str, CellScore], end: Verdict, pairs: list[tuple[str, str]]
) -> Verdict:
    """``end`` (the claim's verdict on test) judged for stability against the rows' dev
    curves: at ¼, ½ and ¾ of the budget, each ``a − b`` dev teacher-forced accuracy as a
    Welch interval on per-seed values (Bonferroni over pairs)."""
    from reports.claims.evidence import setting_id

    rows = {
        m: [r for r in records(df) if r["model"] == m and setting_id(r) == c.setting]
        for m, c in cells.items()
    }
    n_seeds = min(c.seeds for c in cells.values()) if cells else None
    steps = {train_steps(r) for rs in rows.values() for r in rs}
    if len(steps) != 1 or None in steps:
        return stabilise(end, [], n_seeds)
    total = steps.pop()
    conf = bonferroni(len(pairs))
    out = []
    for step in rung_steps(total)[:-1]:
        vals = {m: [dev_at(r, step) for r in rs if r.get("ok")] for m, rs in rows.items()}
        if any(not v or any(x is None for x in v) for v in vals.values()):
            return stabilise(end, [], n_seeds)
        judged = [
            against(
                welch_interval(vals[a], vals[b], conf),
                0.0,
                "",
                f"dev acc {a} − {b}",
                confidence=conf,
            )
            if np.isfinite(welch_interval(vals[a], vals[b], conf)[0])
            else Verdict(INCONCLUSIVE, "no spread between seeds")
            for a, b in pairs
        ]
        out.append(rung(step, combine(judged, "", 0.0), "dev_tf_token_acc difference"))
    out.append(rung(total, end, end.details.get("metric", "test metric")))
    return stabilise(end, out, n_seeds)


def _paired_tests(by_model: dict[str, CellScore]) -> str:
    """sacrebleu's paired bootstrap test against the Transformer (seed outputs pooled), when
    the cells carry their texts."""
    from reports.claims.evidence import translation_texts

    texts = {m: translation_texts(c) for m, c in by_model.items()}
    if any(t is None for t in texts.values()) or "transformer" not in texts:
        return ""
    from sacrebleu.metrics import BLEU
    from sacrebleu.significance import PairedTest

    refs = texts["transformer"][1]
    systems = [("transformer", texts["transformer"][0])]
    systems += [(m, t[0]) for m, t in texts.items() if m != "transformer" and t[1] == refs]
    if len(systems) < 2:
        return ""
    _, results = PairedTest(systems, {"BLEU": BLEU()}, [refs], test_type="bs", n_samples=1000)()
    names, scores = results["System"][1:], results["BLEU"][1:]
    pvals = [f"{n} p = {r.p_value:.3g}" for n, r in zip(names, scores, strict=True)]
    return "; sacrebleu paired bootstrap vs transformer: " + ", ".join(pvals) if pvals else ""
