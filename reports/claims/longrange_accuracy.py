"""Long-range's second reading: the accuracy at the end of the budget, at distances every
model learned and none saturated (Welch on per-seed means), reported beside the verdict,
which judges how the cost grows with distance (``longrange``): accuracy at one budget is
not the verdict."""

from __future__ import annotations

import numpy as np
import pandas as pd

from catalog import BASELINES, LONG_RANGE_TASKS
from reports.claims.evidence import (
    MIN_DISTANCES,
    MIN_SEEDS,
    CellScore,
    by_setting,
    cell_scores,
    saturated,
)
from reports.claims.stats import (
    bonferroni,
    percentile_interval,
    slope,
    welch_interval,
)
from reports.claims.verdict import (
    Verdict,
    against,
    combine,
    inconclusive,
)
from reports.long_range_rows import long_range
from reports.rows import sort_models

OTHERS = BASELINES  # catalog.py: what the Transformer is judged against


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
