"""Evidence gates: each cell's score with its interval, its floors, and whether it counts.

A *cell* is one model at one configuration, over its seeds. Its score interval is a t
interval on the per-seed scores (``stats.seed_interval``: with 3 seeds the between-seed spread
dominates, and a bootstrap of 3 values is far too narrow); with one seed, or seeds that agree
exactly, the per-example outcomes in ``cells/<key>/eval.jsonl`` are bootstrapped instead. A
failed seed scores the task's chance level, it does not vanish. A model has *learned*
a cell when the interval's lower end clears every floor (chance and shortcut baselines
measured on the same examples); a *setting* (one task configuration shared by several
models) is *saturated* when every model's interval reaches the ceiling.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from functools import lru_cache
from typing import Any

import numpy as np
import pandas as pd

from reports.claims import stats
from reports.claims.stats import (
    corpus_metric_draws,
    percentile_interval,
    ratio_draws,
    rng,
)
from reports.records import records
from reports.rows import primary_metric

CEILING = 0.98  # accuracy at which a task no longer separates models
MIN_SEEDS = 3  # seeds per compared cell before a quality claim is judged
MIN_DISTANCES = 3  # distances per task before Long-range is judged
SEQUENCE_TASKS = ("copy", "reverse")  # token accuracy, EOS counted
TRANSLATION_METRICS = ("bleu", "chrf")


BUDGET = ("steps", "batch_size")  # the training budget every compared model shares


def budget(cfg: dict[str, Any]) -> dict[str, Any]:
    """The shared part of a train config; optimiser values may differ per model (tuned)."""
    return {k: (cfg.get("train") or {}).get(k) for k in BUDGET}


def setting_id(row: dict[str, Any]) -> str:
    """What models must share to be compared: task and its config, the training budget,
    device and mode (learning rates and optimisers may differ: each model's own tuning)."""
    cfg = row.get("config") if isinstance(row.get("config"), dict) else {}
    return json.dumps(
        [
            row.get("task"),
            cfg.get("task"),
            budget(cfg),
            row.get("device"),
            row.get("mode"),
            row.get("equal_params"),
        ],
        sort_keys=True,
        default=str,
    )


def floor_metric(row: dict[str, Any]) -> str:
    return row.get("floor_metric") or primary_metric(str(row.get("task")))


def floors(row: dict[str, Any]) -> dict[str, float]:
    """The row's floors; for rows written before a floor was recorded, what the config gives."""
    if isinstance(row.get("floors"), dict) and row["floors"]:
        out = {k: float(v) for k, v in row["floors"].items()}
    else:
        out = _config_floors(row)
    if row.get("task") in SEQUENCE_TASKS and "chance" in out and "length_known" not in out:
        out["length_known"] = length_known_floor(row, out["chance"])
    return out


def length_known_floor(row: dict[str, Any], chance: float) -> float:
    """Token accuracy of a copy/reverse output whose length (hence EOS) is right and whose
    symbols are guessed (``tasks.base.sequence_floors``), for rows written before it was
    recorded: over the row's evaluated examples, else in expectation over its lengths."""
    per = row.get("per_example")
    if isinstance(per, list) and per and "total" in per[0]:
        totals = np.array([e["total"] for e in per], float)
    else:
        task_cfg = ((row.get("config") or {}).get("task")) or {}
        longest = float(task_cfg.get("length") or 16)
        shortest = float(task_cfg.get("min_length") or longest)
        totals = np.array([(shortest + longest) / 2 + 1])  # mean length + EOS
    return float(((totals - 1) * chance + 1).sum() / totals.sum())


def _config_floors(row: dict[str, Any]) -> dict[str, float]:
    task_cfg = ((row.get("config") or {}).get("task")) or {}
    task = row.get("task")
    if task in SEQUENCE_TASKS and task_cfg.get("n_symbols"):
        return {"chance": 1 / task_cfg["n_symbols"]}
    if task == "dependency" and task_cfg.get("n_verbs"):
        return {
            "chance": 1 / (task_cfg["n_verbs"] * task_cfg["n_classes"]),
            "lemma_only": 1 / task_cfg["n_classes"],
        }
    if task == "recall" and task_cfg.get("n_values"):
        return {"chance": 1 / task_cfg["n_values"]}
    if task == "translate":
        return {
            f"copy_source_{m}": float(row[f"copy_source_{m}"])
            for m in TRANSLATION_METRICS
            if row.get(f"copy_source_{m}") is not None and not pd.isna(row[f"copy_source_{m}"])
        }
    return {}


def accuracy_outcomes(row: dict[str, Any]) -> tuple[np.ndarray | None, bool]:
    """(n, 2) per-example (correct, total) of an ok row, and whether it is approximate.

    Without an eval file the row's own count is used: ``metric × eval_examples`` correct of
    ``eval_examples`` one-unit examples (exact for answer accuracy; for token accuracy it
    overstates the variance, so intervals are wider, never narrower).
    """
    per = row.get("per_example")
    if isinstance(per, np.ndarray):
        return per, False
    if isinstance(per, list) and per and "correct" in per[0]:
        return np.array([[e["correct"], e["total"]] for e in per], float), False
    value, n = row.get(floor_metric(row)), row.get("eval_examples")
    if value is None or pd.isna(value) or not n or pd.isna(n):
        return None, True
    k = int(round(float(value) * int(n)))
    return np.array([[1.0, 1.0]] * k + [[0.0, 1.0]] * (int(n) - k)), True


@dataclass
class CellScore:
    """One model's score in one setting, over its seeds, with its interval and floors."""

    model: str
    task: str
    setting: str
    distance: float | None
    metric: str
    estimate: float
    interval: tuple[float, float]
    floors: dict[str, float]
    n_ok: int
    n_failed: int
    approx: bool
    draws: np.ndarray
    extra: dict[str, Any]  # translation: chrF estimate, interval and draws
    seed_values: dict[Any, float] = field(default_factory=dict)  # seed -> its score

    @property
    def best_floor(self) -> tuple[str, float]:
        if not self.floors:
            return ("none", 0.0)
        name = max(self.floors, key=lambda k: self.floors[k])
        return name, self.floors[name]

    @property
    def learned(self) -> bool:
        if self.task == "translate":
            return all(
                self.extra[m]["interval"][0] > self.floors.get(f"copy_source_{m}", 0.0)
                for m in TRANSLATION_METRICS
            )
        return self.interval[0] > self.best_floor[1]

    @property
    def at_ceiling(self) -> bool:
        return self.task != "translate" and self.interval[1] >= CEILING

    @property
    def seeds(self) -> int:
        return self.n_ok + self.n_failed

    def where(self) -> str:
        at = f" d={self.distance:g}" if self.distance is not None else ""
        return f"{self.model} {self.task}{at}"

    def text(self) -> str:
        """``model task d=..: 0.91 [0.88, 0.93] (floor lemma_only 0.50; 3/3 ok)``"""
        low, high = self.interval
        fails = f", {self.n_failed} failed at chance" if self.n_failed else ""
        if self.task == "translate":
            parts = [
                f"{m} {self.extra[m]['estimate']:.2f} [{self.extra[m]['interval'][0]:.2f}, "
                f"{self.extra[m]['interval'][1]:.2f}] (copy-source "
                f"{self.floors.get(f'copy_source_{m}', float('nan')):.2f})"
                for m in TRANSLATION_METRICS
            ]
            return f"{self.where()}: {', '.join(parts)}; {self.n_ok} ok{fails}"
        name, value = self.best_floor
        approx = ", from counts" if self.approx else ""
        return (
            f"{self.where()}: {self.metric} {self.estimate:.3f} [{low:.3f}, {high:.3f}] "
            f"(floor {name} {value:.3f}; {self.n_ok} ok{fails}{approx})"
        )

    def not_learned_text(self) -> str:
        """Which cell, and its interval against the floor it fails to clear."""
        if self.task == "translate":
            return f"{self.where()}: " + ", ".join(
                f"{m} interval low {self.extra[m]['interval'][0]:.2f} <= copy-source "
                f"{self.floors.get(f'copy_source_{m}', float('nan')):.2f}"
                for m in TRANSLATION_METRICS
            )
        name, value = self.best_floor
        return (
            f"{self.where()}: {self.metric} interval low {self.interval[0]:.3f} "
            f"<= {name} {value:.3f}"
        )


def cell_scores(df: pd.DataFrame, n_boot: int | None = None) -> list[CellScore]:
    """Every (model, configuration) cell of quality tasks, scored over its seeds
    (``n_boot`` bootstrap draws, default ``stats.N_BOOT``)."""
    n_boot = n_boot or stats.N_BOOT
    out = []
    quality = df[df["task"].notna()]
    for i, ((_, _), g) in enumerate(quality.groupby(["model", "config_id"], sort=True)):
        rows = records(g)
        if rows[0]["task"] == "translate":  # corpus metrics need the texts: no fallback
            score = _translation_score(rows, n_boot, i)
        else:
            score = _accuracy_score(rows, n_boot, i)
        if score is not None:
            out.append(score)
    return out


def _meta(rows: list[dict[str, Any]]) -> dict[str, Any]:
    ok = [r for r in rows if r.get("ok")]
    ref = ok[0] if ok else rows[0]
    merged: dict[str, list[float]] = {}
    for r in ok:
        for k, v in floors(r).items():
            merged.setdefault(k, []).append(v)
    distance = ref.get("distance")
    return {
        "model": str(ref["model"]),
        "task": str(ref["task"]),
        "setting": setting_id(ref),
        "distance": None if distance is None or pd.isna(distance) else float(distance),
        "floors": {k: float(np.mean(v)) for k, v in merged.items()},
        "n_ok": len(ok),
        "n_failed": len(rows) - len(ok),
    }


def _accuracy_score(rows: list[dict[str, Any]], n_boot: int, salt: int) -> CellScore | None:
    meta = _meta(rows)
    seeds, approx, labels = [], False, []
    for r in rows:
        if r.get("ok"):
            arr, rough = accuracy_outcomes(r)
            if arr is not None and len(arr):
                seeds.append(arr)
                labels.append(r.get("seed"))
                approx |= rough
    if not seeds:
        return None
    chance = meta["floors"].get("chance", 0.0)
    n = int(np.median([len(s) for s in seeds]))
    failed = [r.get("seed") for r in rows if not r.get("ok")]
    seeds += [np.array([[chance, 1.0]] * n)] * len(failed)  # failed seeds score chance
    labels += failed
    draws = ratio_draws(seeds, n_boot, rng(salt))
    per_seed: dict[Any, float] = {}
    for i, (lab, s) in enumerate(zip(labels, seeds, strict=True)):
        per_seed[lab if lab not in per_seed else f"{lab}#{i}"] = float(
            s[:, 0].sum() / s[:, 1].sum()
        )
    interval = stats.seed_interval(list(per_seed.values()))
    return CellScore(
        **meta,
        metric=floor_metric(rows[0]),
        estimate=float(np.mean(list(per_seed.values()))),
        interval=interval or percentile_interval(draws),
        approx=approx,
        draws=draws,
        extra={},
        seed_values=per_seed,
    )


@lru_cache(maxsize=4)
def _metric(name: str) -> object:
    from sacrebleu.metrics import BLEU, CHRF

    return {"bleu": BLEU, "chrf": CHRF}[name]()


def translation_stats(row: dict[str, Any], metric: str) -> np.ndarray | None:
    """(n_sentences, k) sacrebleu sentence statistics of a translate row's hypotheses."""
    per = row.get("per_example")
    if isinstance(per, dict):  # precomputed (simulations)
        return per.get(metric)
    if not (isinstance(per, list) and per and "hyp" in per[0]):
        return None
    hyps = [e["hyp"] for e in per]
    refs = [e["ref"] for e in per]
    return np.array(_metric(metric)._extract_corpus_statistics(hyps, [refs]), float)


def empty_stats(row: dict[str, Any], metric: str) -> np.ndarray | None:
    """Sentence statistics of empty outputs (a failed seed) against ``row``'s references."""
    per = row.get("per_example")
    if isinstance(per, dict):
        return per.get(f"{metric}_empty")
    if not (isinstance(per, list) and per and "ref" in per[0]):
        return None
    refs = [e["ref"] for e in per]
    return np.array(_metric(metric)._extract_corpus_statistics([""] * len(refs), [refs]), float)


def sentence_draws(n_sentences: int, n_boot: int, salt: int = 0) -> np.ndarray:
    """Resampled sentence indices shared by the systems compared on one test set."""
    return rng(10_000 + salt).integers(0, n_sentences, (n_boot, n_sentences))


def _translation_score(rows: list[dict[str, Any]], n_boot: int, salt: int) -> CellScore | None:
    meta = _meta(rows)
    ok = [r for r in rows if r.get("ok")]
    extra: dict[str, Any] = {}
    for m in TRANSLATION_METRICS:
        seeds = [s for s in (translation_stats(r, m) for r in ok) if s is not None]
        if not seeds:
            return None
        failed = empty_stats(ok[0], m)
        seeds += [failed] * meta["n_failed"] if failed is not None else []
        draws = corpus_metric_draws(
            seeds, _metric(m), sentence_draws(len(seeds[0]), n_boot), rng(salt)
        )
        estimate = _metric(m)._compute_score_from_stats(list(np.concatenate(seeds).sum(0))).score
        extra[m] = {
            "estimate": float(estimate),
            "interval": percentile_interval(draws),
            "draws": draws,
            "seeds": seeds,
        }
    texts = [r["per_example"] for r in ok if isinstance(r.get("per_example"), list)]
    if len(texts) == len(ok):
        extra["texts"] = (
            [e["hyp"] for t in texts for e in t],
            [e["ref"] for t in texts for e in t],
        )
    return CellScore(
        **meta,
        metric="bleu",
        estimate=extra["bleu"]["estimate"],
        interval=extra["bleu"]["interval"],
        approx=False,
        draws=extra["bleu"]["draws"],
        extra=extra,
    )


def by_setting(scores: list[CellScore]) -> dict[str, list[CellScore]]:
    out: dict[str, list[CellScore]] = {}
    for s in scores:
        out.setdefault(s.setting, []).append(s)
    return out


def saturated(cells: list[CellScore]) -> bool:
    """Every model of a setting reaches the ceiling: the setting cannot separate them."""
    return bool(cells) and all(c.at_ceiling for c in cells)


def translation_texts(cell: CellScore) -> tuple[list[str], list[str]] | None:
    """(hypotheses, references) of a translate cell's ok seeds, pooled; None without texts."""
    return cell.extra.get("texts")


def tuned_tasks(rows: pd.DataFrame) -> tuple[list[str], list[str]]:
    """(tasks whose cells were tuned on dev for every model that ran them, the others): an
    untuned task runs every model at one shared recipe, which tests the recipe, not ease."""
    tuned, untuned = [], []
    for task, g in rows.groupby("task"):
        by_model = g.groupby("model")["tuned"].agg(lambda s: s.map(bool_tuned).all())
        (tuned if bool(by_model.all()) else untuned).append(str(task))
    return tuned, untuned


def bool_tuned(value: object) -> bool:
    return isinstance(value, dict) and bool(value)


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
