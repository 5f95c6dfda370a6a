"""The seed's fourth claim: attention focuses on the right input (copy, reverse, recall).

Measured from ``cells/<key>/attention.npz`` (per-example sums: reports.attention_files) and
``cells/<key>/intervention.json`` (decoding with one unit's weights replaced: bench
.intervention). Intervals: two-level bootstrap over examples and seeds (stats.ratio_draws).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd

from reports.claims import stats
from reports.claims.evidence import CellScore, cell_scores
from reports.claims.rungs import stabilise
from reports.claims.stats import bonferroni, percentile_interval, ratio_draws, rng
from reports.claims.verdict import FAIL, PASS, Verdict, inconclusive
from reports.rows import config_delay, sort_models

JUDGED_TASKS = ("copy", "reverse")  # the gold position is exact
HIT_PASS = 0.8  # best-head hit-rate interval above this: PASS (with the two below)
HIT_FAIL = 0.5  # ... below this on a learned task: FAIL
MASS_X = 5.0  # gold mass at least this many times uniform (1/S)


@dataclass(frozen=True)
class Estimate:
    """A ratio over examples and seeds with its bootstrap interval (and the draws)."""

    estimate: float
    interval: tuple[float, float]
    draws: np.ndarray = field(repr=False, compare=False)
    n_seeds: int = 1

    def text(self, digits: int = 2, unit: str = "") -> str:
        lo, hi = self.interval
        return f"{self.estimate:.{digits}f}{unit} [{lo:.{digits}f}, {hi:.{digits}f}]"


def ratio_estimate(
    seeds: list[np.ndarray], confidence: float = 0.95, salt: int = 0
) -> Estimate | None:
    """sum(num)/sum(den) per seed of (n, 2) arrays, averaged over seeds, with a t interval on
    the per-seed ratios (seeds dominate at 3 seeds: ``stats.seed_interval``); with one seed or
    seeds that agree exactly, the two-level bootstrap over examples (``stats.ratio_draws``)."""
    seeds = [np.asarray(s, float) for s in seeds if len(s) and np.asarray(s)[:, 1].sum() > 0]
    if not seeds:
        return None
    draws = ratio_draws(seeds, stats.N_BOOT, rng(salt))
    per_seed = [float(s[:, 0].sum() / s[:, 1].sum()) for s in seeds]
    interval = stats.seed_interval(per_seed, confidence)
    if interval is None:
        total = np.concatenate(seeds)
        est = float(total[:, 0].sum() / total[:, 1].sum())
        return Estimate(est, percentile_interval(draws, confidence), draws, len(seeds))
    return Estimate(float(np.mean(per_seed)), interval, draws, len(seeds))


def unit_estimate(
    summaries: list[dict[str, Any]],
    unit: str,
    what: str,
    correct_only: bool = False,
    confidence: float = 0.95,
    salt: int = 0,
) -> Estimate | None:
    """Hit rate (``hits``), gold mass (``mass``), its multiple of uniform (``mass_x``) or
    recall's ``pair``/``others`` weight of one unit over the seeds' examples (only the
    correctly answered ones with ``correct_only``)."""
    seeds = []
    for s in summaries:
        if unit not in s["units"] or what not in s:
            continue
        u = s["units"].index(unit)
        keep = s["correct"] if correct_only else np.ones(len(s["steps"]), bool)
        den = (s["steps"] > 0).astype(float) if what in ("pair", "others") else s["steps"]
        seeds.append(np.column_stack([s[what][keep, u], den[keep]]))
    return ratio_estimate(seeds, confidence, salt)


def best_unit(summaries: list[dict[str, Any]]) -> str | None:
    """The single head (or single-head attention) with the highest pooled hit rate."""
    if not summaries:
        return None
    first = summaries[0]
    heads = [u for u, h in zip(first["units"], first["is_head"], strict=True) if h]
    steps = max(sum(float(s["steps"].sum()) for s in summaries), 1e-12)
    rates = {
        u: sum(float(s["hits"][:, s["units"].index(u)].sum()) for s in summaries) / steps
        for u in heads
        if all(u in s["units"] for s in summaries)
    }
    return max(rates, key=lambda u: rates[u]) if rates else None


def intervention_drop(
    interventions: list[dict[str, Any]],
    cond: str,
    what: str = "correct",
    against: str = "none",
    confidence: float = 0.95,
    salt: int = 0,
) -> Estimate | None:
    """Per-step drop of accuracy (``correct``) or of the correct token's probability
    (``prob``) when ``cond`` replaces ``against``, paired per example, over seeds."""
    seeds = []
    for d in interventions:
        c = d.get("conditions") or {}
        if cond in c and against in c:
            seeds.append(np.column_stack([c[against][what] - c[cond][what], c[cond]["total"]]))
    return ratio_estimate(seeds, confidence, salt)


@dataclass
class CellAttention:
    """One model's attention measurements in one copy/reverse/recall configuration."""

    model: str
    task: str
    label: str  # "copy L=8 delay 8"
    score: CellScore | None
    summaries: list[dict[str, Any]]
    interventions: list[dict[str, Any]]
    keys: list[str] = field(default_factory=list)  # the recorded seeds' cell keys
    delay: int = 0  # copy-memory: fillers between the sequence and its output

    @property
    def learned(self) -> bool:
        return self.score is not None and self.score.learned

    @property
    def best(self) -> str | None:
        return best_unit(self.summaries)

    def units(self) -> list[str]:
        return list(self.summaries[0]["units"]) if self.summaries else []


def attention_cells(df: pd.DataFrame, tasks: tuple[str, ...] = ("copy", "reverse", "recall")):
    """Every (model, configuration) of ``tasks`` with attention recordings, in model order."""
    if "attention" not in df or df.empty:
        return []
    rows = df[df["task"].isin(tasks)]
    out = []
    for (model, _), g in rows.groupby(["model", "config_id"], sort=True):
        recs = g.to_dict("records")
        ok = [r for r in recs if r.get("ok")]
        recorded = [r for r in ok if isinstance(r.get("attention"), dict)]
        sums = [r["attention"] for r in recorded]
        if not sums:
            continue
        scores = cell_scores(g)
        inters = [r["intervention"] for r in ok if isinstance(r.get("intervention"), dict)]
        out.append(
            CellAttention(
                str(model),
                str(recs[0]["task"]),
                _label(recs[0]),
                scores[0] if scores else None,
                sums,
                inters,
                [str(r["key"]) for r in recorded],
                int(config_delay(recs[0].get("config"))),
            )
        )
    rank = {m: i for i, m in enumerate(sort_models(list({c.model for c in out})))}
    return sorted(out, key=lambda c: (rank[c.model], c.task, c.label))


def _label(row: dict[str, Any]) -> str:
    task_cfg = ((row.get("config") or {}).get("task")) or {}
    if row["task"] == "recall":
        return f"recall d={task_cfg.get('distance', row.get('distance'))}"
    delay = f" delay {task_cfg['delay']}" if task_cfg.get("delay") else ""
    return f"{row['task']} L={task_cfg.get('length', row.get('length'))}{delay}"


@dataclass
class Judged:
    """A cell's three judged intervals (at the verdict's Bonferroni confidence)."""

    cell: CellAttention
    unit: str | None
    hit: Estimate | None
    mass_x: Estimate | None
    shift_vs_random: Estimate | None  # accuracy drop, best unit − random other unit


def judge(cell: CellAttention, confidence: float, salt: int) -> Judged:
    unit = cell.best
    if unit is None:
        return Judged(cell, None, None, None, None)
    return Judged(
        cell,
        unit,
        unit_estimate(cell.summaries, unit, "hits", confidence=confidence, salt=salt),
        unit_estimate(cell.summaries, unit, "mass_x", confidence=confidence, salt=salt + 1),
        intervention_drop(
            cell.interventions,
            "best_shift",
            against="random_shift",
            confidence=confidence,
            salt=salt + 2,
        ),
    )


def cell_text(cell: CellAttention, salt: int = 0) -> str:
    """``transformer copy L=8: best dec_cross_l1_h0 hit 0.98 [..], gold mass 7.1× uniform
    [..]; moved (shift): accuracy −0.71 [..] vs a random other unit −0.02 [..]``"""
    unit = cell.best
    if unit is None:
        return f"{cell.model} {cell.label}: no attention units"
    learned = "" if cell.learned else " (not learned)"
    if cell.task == "recall":
        pair = unit_estimate(cell.summaries, unit, "pair", salt=salt)
        other = unit_estimate(cell.summaries, unit, "others", salt=salt + 1)
        hit = unit_estimate(cell.summaries, unit, "hits", salt=salt + 2)
        parts = [f"best {unit} value hit {hit.text()}" if hit else f"best {unit}"]
        if pair and other:
            parts.append(f"queried pair mass {pair.text()} vs another pair {other.text()}")
        return f"{cell.model} {cell.label}{learned}: " + ", ".join(parts)
    hit = unit_estimate(cell.summaries, unit, "hits", salt=salt)
    mass = unit_estimate(cell.summaries, unit, "mass_x", salt=salt + 1)
    text = f"{cell.model} {cell.label}{learned}: best {unit} hit {hit.text() if hit else '-'}"
    text += f", gold mass {mass.text(1, '×') if mass else '-'} uniform"
    best = intervention_drop(cell.interventions, "best_shift", salt=salt + 2)
    if best is not None:
        rand = intervention_drop(cell.interventions, "random_shift", salt=salt + 3)
        text += f"; moved: accuracy drop {best.text()}"
        text += f" vs a random other unit {rand.text()}" if rand else " (no other unit)"
    return text


def check_attention_alignment(df: pd.DataFrame) -> Verdict:
    """``_attention_alignment``; attention is recorded at the end of training only, so the
    verdict rests on one point."""
    v = _attention_alignment(df)
    cells = [c for c in attention_cells(df) if c.model == "transformer"]
    n = min((len(c.summaries) for c in cells), default=None)
    return stabilise(v, [], n, "attention is recorded at the end of training only")


def _attention_alignment(df: pd.DataFrame) -> Verdict:
    """On learned copy/reverse cells: the Transformer's best head hits the gold source
    position (interval above 0.8), puts ≥ 5× uniform weight on it, and moving its weights
    hurts more than moving a random other head's. FAIL: hit-rate interval below 0.5.

    Copy with a delay (copy-memory) is long-range evidence, not alignment evidence: its
    cells are sized to be partly learned, so a weak head there says how far training got,
    not whether attention aligns. Its cells are listed but not judged."""
    cells = attention_cells(df)
    numbers = "; ".join(cell_text(c, 100 * i) for i, c in enumerate(cells)) or "-"
    trans = [
        c for c in cells if c.model == "transformer" and c.task in JUDGED_TASKS and not c.delay
    ]
    if not trans:
        return inconclusive(
            "no Transformer attention recordings on copy (without a delay) or reverse "
            "(cells/<key>/attention.npz)",
            numbers,
        )
    learned = [c for c in trans if c.learned]
    if not learned:
        why = "; ".join(
            c.score.not_learned_text() if c.score else f"{c.model} {c.label}: no scores"
            for c in trans
        )
        return inconclusive(f"not learned: {why}", numbers)
    conf = bonferroni(len(learned))
    judged = [judge(c, conf, 1000 + 10 * i) for i, c in enumerate(learned)]
    numbers += f" (verdict intervals {conf:.1%} each, Bonferroni over {len(learned)} cells)"
    for j in judged:
        if j.hit is not None and j.hit.interval[1] < HIT_FAIL:
            return Verdict(
                FAIL,
                f"transformer {j.cell.label} is learned but its best head ({j.unit}) hit rate "
                f"{j.hit.text()} lies below {HIT_FAIL:g}",
                numbers,
                j.hit.interval,
                HIT_FAIL,
            )
    for j in judged:
        why = _not_passed(j)
        if why:
            interval = j.hit.interval if j.hit else None
            return inconclusive(f"transformer {j.cell.label}: {why}", numbers, interval, HIT_PASS)
    worst = min(judged, key=lambda j: j.hit.interval[0])
    return Verdict(
        PASS,
        f"on {len(judged)} learned cell(s) the best head's hit rate lies above {HIT_PASS:g} "
        f"(lowest {worst.hit.text()}, {worst.cell.label}), its gold mass ≥ {MASS_X:g}× "
        "uniform, and moving its weights costs more accuracy than moving a random head's",
        numbers,
        worst.hit.interval,
        HIT_PASS,
    )


def _not_passed(j: Judged) -> str:
    """Why a learned cell does not PASS ('' when it does)."""
    if j.hit is None or j.mass_x is None:
        return "no gold-position steps recorded"
    if j.hit.interval[0] <= HIT_PASS:
        return f"best head ({j.unit}) hit rate {j.hit.text()} does not lie above {HIT_PASS:g}"
    if j.mass_x.interval[0] < MASS_X:
        return (
            f"best head gold mass {j.mass_x.text(1, '×')} uniform does not lie at or above "
            f"{MASS_X:g}×"
        )
    if j.shift_vs_random is None:
        return "no intervention results with a random other head (cells/<key>/intervention.json)"
    if j.shift_vs_random.interval[0] <= 0:
        return (
            f"moving the best head's weights does not hurt significantly more than moving a "
            f"random head's (accuracy drop difference {j.shift_vs_random.text()})"
        )
    return ""
