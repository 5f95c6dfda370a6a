"""Quality claims: long-range dependencies, ease of training, translation BLEU order."""

from __future__ import annotations

import numpy as np
import pandas as pd

from reports.claims.evidence import CellScore, by_setting, cell_scores, saturated
from reports.claims.stats import (
    bonferroni,
    fisher_greater,
    mean_interval,
    percentile_interval,
    slope,
)
from reports.claims.verdict import FAIL, Verdict, against, combine, inconclusive
from reports.rows import LONG_RANGE_TASKS, long_range, sort_models

OTHERS = ("lstm", "convs2s")
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


def _versus(
    pairs: dict[str, list[tuple[CellScore, CellScore]]], what: str, numbers: str
) -> Verdict:
    """Transformer minus each other model, averaged over the usable settings; Bonferroni over
    the compared models. PASS: better than every one; FAIL: worse than any; else straddles."""
    conf = bonferroni(len(pairs))
    judged: list[Verdict] = []
    texts = []
    for model, cells in pairs.items():
        diffs = np.mean([t.draws - o.draws for t, o in cells], axis=0)
        est = float(np.mean([t.estimate - o.estimate for t, o in cells]))
        interval = percentile_interval(diffs, conf)
        texts.append(_diff_text(model, interval, est))
        judged.append(against(interval, 0.0, "", f"{what} transformer − {model}", confidence=conf))
    numbers = numbers + "; " + "; ".join(texts) + f" ({conf:.1%} each, Bonferroni)"
    return combine(judged, numbers, 0.0)


def check_long_range(df: pd.DataFrame) -> Verdict:
    """At distances every model learned and that are not saturated, the Transformer's
    accuracy beats the LSTM's and ConvS2S's (difference interval above 0)."""
    rows = long_range(df)
    if rows.empty or "transformer" not in set(rows["model"]):
        return inconclusive(
            "no long-range rows of the Transformer (dependency, recall, copy delay)"
        )
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
    """On settings every model learned: the Transformer reaches the shared target sooner
    (log time ratio per seed, interval below 0) and does not diverge more (Fisher)."""
    ok_models = set(df["model"])
    if "transformer" not in ok_models or not set(OTHERS) & ok_models:
        return inconclusive("needs rows of the Transformer and the LSTM or ConvS2S")
    cells = cell_scores(df)
    learned_settings, blockers = [], []
    for setting in by_setting(cells).values():
        models = {c.model for c in setting}
        if "transformer" not in models or not set(OTHERS) & models:
            continue
        missing = [("not learned", c.not_learned_text()) for c in setting if not c.learned]
        if missing:
            blockers += missing
        else:
            learned_settings.append(setting[0].setting)
    diverge = _divergence(df)
    if not learned_settings:
        return inconclusive(
            _first_reason(blockers, "no setting shared by the Transformer and another model"),
            diverge["text"],
        )
    ratios = _time_ratios(df, learned_settings)
    numbers = diverge["text"] + "; " + ratios["text"]
    if diverge["worse"]:
        return Verdict(
            FAIL,
            f"the Transformer diverges significantly more often ({diverge['worse']})",
            numbers,
        )
    if not ratios["pairs"]:
        return inconclusive(
            "no learned setting where a model reached the shared target (time_to_target)",
            numbers,
        )
    conf = bonferroni(len(ratios["pairs"]))
    judged = []
    for model, groups in ratios["pairs"].items():
        interval = mean_interval(np.concatenate(groups), conf)
        if not np.isfinite(interval[0]):
            return inconclusive(f"too few seed pairs vs {model} (need ≥ 2)", numbers)
        judged.append(
            against(
                interval, 0.0, "", f"log time-to-target ratio transformer/{model}", "below", conf
            )
        )
    numbers += f" ({conf:.1%} each)"
    return combine(judged, numbers, 0.0)


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


def _time_ratios(df: pd.DataFrame, settings: list[str]) -> dict:
    """log(time to target) Transformer minus other, paired by seed within each setting.

    A run that never reached the target counts its whole training time (a lower bound, so
    the ratio is conservative); seeds where neither model reached it carry no information.
    """
    from reports.claims.evidence import setting_id

    rows = df[df["ok"]].copy()
    rows["setting"] = [setting_id(r) for r in rows.to_dict("records")]
    rows = rows[rows["setting"].isin(settings)]
    steps = rows["config"].map(lambda c: ((c or {}).get("train") or {}).get("steps"))
    train_s = pd.to_numeric(rows["train_step_s"], errors="coerce") * pd.to_numeric(steps)
    reached = pd.to_numeric(rows["time_to_target_s"], errors="coerce")
    rows["t"] = reached.where(reached.notna(), train_s)
    rows["reached"] = reached.notna()
    pairs: dict[str, list[np.ndarray]] = {}
    texts = []
    for model in OTHERS:
        groups = []
        for _, g in rows.groupby("setting"):
            t = g[g["model"].eq("transformer")].set_index("seed")
            o = g[g["model"].eq(model)].set_index("seed")
            shared = [
                s
                for s in t.index.intersection(o.index)
                if t.loc[s, "reached"] or o.loc[s, "reached"]
            ]
            vals = [np.log(t.loc[s, "t"] / o.loc[s, "t"]) for s in shared]
            vals = [v for v in vals if np.isfinite(v)]
            if vals:
                groups.append(np.array(vals))
        if groups:
            pairs[model] = groups
            allv = np.concatenate(groups)
            texts.append(
                f"time to target transformer/{model}: geometric mean ratio "
                f"{np.exp(allv.mean()):.2f}× over {len(allv)} seed pairs in {len(groups)} settings"
            )
    return {"pairs": pairs, "text": "; ".join(texts) or "no run reached the shared target"}


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
    return combine(judged, numbers, 0.0)


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
