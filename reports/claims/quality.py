"""Quality claims: long-range dependencies, ease of training, translation BLEU order."""

from __future__ import annotations

from dataclasses import replace

import numpy as np
import pandas as pd

from catalog import BASELINES, LONG_RANGE_TASKS
from reports.claims.censored import ease_runs, judge_ease
from reports.claims.evidence import CellScore, by_setting, cell_scores, saturated, tuned_tasks
from reports.claims.longrange import check_long_range_cost
from reports.claims.rungs import FRACTIONS, dev_at, rung, rung_steps, stabilise, train_steps
from reports.claims.stats import (
    bonferroni,
    fisher_greater,
    percentile_interval,
    slope,
    welch_interval,
)
from reports.claims.verdict import (
    FAIL,
    INCONCLUSIVE,
    PASS,
    Verdict,
    against,
    combine,
    inconclusive,
)
from reports.long_range_rows import long_range
from reports.records import records
from reports.rows import sort_models

OTHERS = BASELINES  # catalog.py: what the Transformer is judged against
MIN_SEEDS = 3
MIN_DISTANCES = 3
PARAM_TOL = 0.10  # "equal parameters": sizes within 10% of each other
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


def _diff_text(model: str, interval: tuple[float, float], est: float) -> str:
    return f"transformer − {model} {est:+.3f} [{interval[0]:+.3f}, {interval[1]:+.3f}]"


def _seed_means(cells: list[CellScore]) -> list[float]:
    """One value per seed label: its score averaged over the given cells (distances). Runs
    at different distances are independent, so these are independent per-seed values."""
    by_seed: dict = {}
    for c in cells:
        for seed, v in c.seed_values.items():
            by_seed.setdefault(seed, []).append(v)
    return [float(np.mean(v)) for v in by_seed.values()]


def _versus(
    pairs: dict[str, list[tuple[CellScore, CellScore]]], what: str, numbers: str
) -> Verdict:
    """Transformer minus each other model, averaged over the usable settings: a Welch t
    interval on per-seed means (seeds dominate the uncertainty at 3 seeds); Bonferroni over
    the compared models. PASS: better than every one; FAIL: worse than any; else straddles."""
    conf = bonferroni(len(pairs))
    judged: list[Verdict] = []
    texts = []
    for model, cells in pairs.items():
        t_vals = _seed_means([t for t, _ in cells])
        o_vals = _seed_means([o for _, o in cells])
        est = float(np.mean(t_vals) - np.mean(o_vals))
        interval = welch_interval(t_vals, o_vals, conf)
        if not np.isfinite(interval[0]):  # no spread or one seed: the example bootstrap
            diffs = np.mean([t.draws - o.draws for t, o in cells], axis=0)
            interval = percentile_interval(diffs, conf)
        texts.append(_diff_text(model, interval, est) + f" ({len(t_vals)} vs {len(o_vals)} seeds)")
        judged.append(against(interval, 0.0, "", f"{what} transformer − {model}", confidence=conf))
    numbers = numbers + "; " + "; ".join(texts) + f" ({conf:.1%} each, Welch t, Bonferroni)"
    return combine(judged, numbers, 0.0)


def check_long_range(df: pd.DataFrame) -> Verdict:
    """How the cost grows with distance (``longrange.check_long_range_cost``), with the
    accuracy at the end of the budget alongside: accuracy at one budget is not the verdict."""
    v = check_long_range_cost(df)
    acc = check_accuracy_at_distance(df)
    numbers = f"{v.numbers}; accuracy at the end of the budget: {acc.verdict} ({acc.reason})"
    return replace(v, numbers=numbers)


def check_accuracy_at_distance(df: pd.DataFrame) -> Verdict:
    """At distances every model learned and that are not saturated, the Transformer's
    accuracy beats the LSTM's and ConvS2S's (Welch interval on per-seed means above 0)."""
    rows = long_range(df)
    if rows.empty or "transformer" not in set(rows["model"]):
        return inconclusive("no long-range rows of the Transformer (match, dependency, recall)")
    cells = cell_scores(rows)
    usable: dict[str, list[tuple[CellScore, CellScore]]] = {}
    blockers: list[tuple[str, str]] = []  # (not learned | saturated, which cell)
    lines: list[str] = []
    seeds_short: list[str] = []
    per_task: dict[str, set[float]] = {}
    for setting in by_setting(cells).values():
        by_model = {c.model: c for c in setting}
        if "transformer" not in by_model or not set(OTHERS) & set(by_model):
            continue
        lines += [c.text() for c in setting]
        not_learned = [("not learned", c.not_learned_text()) for c in setting if not c.learned]
        if not_learned:
            blockers += not_learned
            continue
        if saturated(setting):
            t = by_model["transformer"]
            blockers.append(
                ("saturated", f"{t.task} d={t.distance:g} (every model's interval reaches 0.98)")
            )
            continue
        seeds_short += [f"{c.where()} {c.seeds} seeds" for c in setting if c.seeds < MIN_SEEDS]
        per_task.setdefault(by_model["transformer"].task, set()).add(
            by_model["transformer"].distance
        )
        for m in OTHERS:
            if m in by_model:
                usable.setdefault(m, []).append((by_model["transformer"], by_model[m]))
    numbers = "; ".join(lines) + _slopes(cells) if lines else "-"
    if not usable:
        why = "no shared setting of the Transformer and another model"
        return inconclusive(_first_reason(blockers, why), numbers)
    short = [f"{t}: {len(d)} distance(s)" for t, d in per_task.items() if len(d) < MIN_DISTANCES]
    if seeds_short or short:
        also = _first_reason(blockers, "")
        return inconclusive(
            f"too few seeds or distances (need ≥ {MIN_SEEDS} seeds and ≥ {MIN_DISTANCES} learned, "
            f"unsaturated distances per task): "
            + "; ".join(seeds_short + short)
            + (f"; the other settings do not count: {also}" if also else ""),
            numbers,
        )
    return _versus(usable, "accuracy", numbers)


def _first_reason(blockers: list[tuple[str, str]], default: str) -> str:
    """Why no setting is usable: not learned first, then saturated (raise the distance)."""
    learned = [text for kind, text in blockers if kind == "not learned"]
    sat = [text for kind, text in blockers if kind == "saturated"]
    parts = (["not learned: " + "; ".join(learned)] if learned else []) + (
        ["saturated: " + "; ".join(sat) + " — raise the distance"] if sat else []
    )
    return "; ".join(parts) or default


def _slopes(cells: list[CellScore]) -> str:
    """Accuracy against log2 distance per model and task (ok seeds' estimates)."""
    parts = []
    for task in LONG_RANGE_TASKS + ("copy",):
        for model in sort_models(list({c.model for c in cells})):
            pts = [(c.distance, c.estimate) for c in cells if c.task == task and c.model == model]
            fit = slope([np.log2(d) for d, _ in pts], [a for _, a in pts]) if pts else None
            if fit is not None:
                parts.append(f"{task}/{model} slope per doubling {fit.text(3)}")
    return ("; " + "; ".join(parts)) if parts else ""


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
