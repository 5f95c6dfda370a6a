"""A sweep cell's dev score with an interval, from the per-example dev outcomes its cell
wrote (``dev_eval.jsonl``: the final dev decode; ``dev_rungs.jsonl``: teacher-forced loss),
and the floor it must clear. Tuning uses it to tell a choice from a tie
(bench/matrix/tuning.py).

The interval is a 95% percentile bootstrap over dev examples (1000 draws, fixed seed): one
run, so examples are the only source of variance it can show. Corpus metrics (BLEU, chrF)
are recomputed on each draw from sacrebleu's per-sentence statistics; ratios (accuracy,
loss per token) from per-example sums. None where the cell wrote no outcomes (a run made
before they existed) or the metric has none.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np

from bench.rundir.layout import DEV_EVAL_FILE, DEV_RUNGS_FILE, read_per_example

DRAWS, LEVEL, SEED = 1000, 0.95, 0
ACCURACY = {"dev_acc": None, "dev_token_acc": "token_acc", "dev_answer_acc": "answer_acc"}


def dev_evidence(directory: Path, row: dict[str, Any], metric: str) -> dict[str, Any] | None:
    """``{"interval": (lo, hi), "floor": value or None}`` of ``metric`` for a sweep row."""
    if row.get("status") != "ok" or not isinstance(row.get("key"), str):
        return None
    if metric == "dev_loss":
        last = _rung_outcomes(str(directory), row["key"])
        if not last:
            return None
        sums = np.array([[o["loss"], o["tokens"]] for o in last], float)  # (N, 2)
        return {"interval": _ratio_interval(sums), "floor": None}
    examples = _read(str(directory), row["key"], DEV_EVAL_FILE)
    if not examples:
        return None
    if metric in ACCURACY and ACCURACY[metric] in (None, row.get("floor_metric")):
        sums = np.array([[e["correct"], e["total"]] for e in examples], float)  # (N, 2)
        floors = [k for k in examples[0] if k.startswith("floor_")]
        floor = max((sum(e[k] for e in examples) / sums[:, 1].sum() for k in floors), default=None)
        return {"interval": _ratio_interval(sums), "floor": floor}
    if metric in ("dev_bleu", "dev_chrf") and "hyp" in examples[0]:
        name = metric.removeprefix("dev_")
        floor = row.get(f"dev_copy_source_{name}")
        return {"interval": _corpus_interval(examples, name), "floor": floor}
    return None


def _ratio_interval(sums: np.ndarray) -> tuple[float, float]:
    """Interval of sum(col 0) / sum(col 1) over examples resampled with replacement."""
    idx = np.random.default_rng(SEED).integers(0, len(sums), (DRAWS, len(sums)))  # (D, N)
    draws = sums[idx].sum(1)  # (D, 2)
    ratio = draws[:, 0] / np.maximum(draws[:, 1], 1e-12)
    return _percentiles(ratio)


def _corpus_interval(examples: list[dict[str, Any]], name: str) -> tuple[float, float]:
    """BLEU or chrF recomputed from sacrebleu's sentence statistics on each draw."""
    from sacrebleu.metrics import BLEU, CHRF

    metric = BLEU() if name == "bleu" else CHRF()
    hyps, refs = [e["hyp"] for e in examples], [e["ref"] for e in examples]
    stats = np.array(metric._extract_corpus_statistics(hyps, [refs]), float)  # (N, S)
    idx = np.random.default_rng(SEED).integers(0, len(stats), (DRAWS, len(stats)))
    scores = [metric._compute_score_from_stats(list(stats[i].sum(0))).score for i in idx]
    return _percentiles(np.array(scores))


def _percentiles(draws: np.ndarray) -> tuple[float, float]:
    lo, hi = np.percentile(draws, [50 * (1 - LEVEL), 50 * (1 + LEVEL)])
    return round(float(lo), 6), round(float(hi), 6)


def _read(directory: str, key: str, name: str) -> list[dict[str, Any]] | None:
    return read_per_example(Path(directory), key, name)


def _rung_outcomes(directory: str, key: str) -> list[dict[str, Any]] | None:
    """The last rung's teacher-forced outcomes (the end of training)."""
    outcomes = _read(directory, key, DEV_RUNGS_FILE)
    if not outcomes:
        return None
    last = max(o["step"] for o in outcomes)
    return [o for o in outcomes if o["step"] == last]
