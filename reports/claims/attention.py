"""The seed's fourth claim: attention focuses on the right input (copy, reverse, recall).

Measured from ``cells/<key>/attention.npz`` (per-example sums: reports.attention_files) and
``cells/<key>/intervention.json`` (decoding with one unit's or one layer's weights replaced:
bench.attention.intervention). Two readings of alignment: the best single head, and the best
layer's head average (heads can be redundant: each may be noisy where their average is
sharp). Intervals: t over seeds, or a two-level bootstrap over examples (``ratio_estimate``).
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from typing import Any

import numpy as np
import pandas as pd

from catalog import GOLD_TASKS
from reports.claims import stats
from reports.claims.evidence import CellScore, cell_scores
from reports.claims.rungs import stabilise
from reports.claims.stats import bonferroni, percentile_interval, ratio_draws, rng
from reports.claims.verdict import FAIL, PASS, Verdict, inconclusive
from reports.long_range_rows import config_delay
from reports.records import records
from reports.rows import sort_models

JUDGED_TASKS = ("copy", "reverse")  # the gold position is exact
HIT_PASS = 0.8  # a reading's hit-rate interval above this: PASS (with the two below)
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


def best_unit(summaries: list[dict[str, Any]], heads: bool = True) -> str | None:
    """The single head (or single-head attention) with the highest pooled hit rate; with
    ``heads=False`` the layer head average (``dec_cross_l1_mean``) with the highest."""
    if not summaries:
        return None
    first = summaries[0]
    units = [u for u, h in zip(first["units"], first["is_head"], strict=True) if h == heads]
    steps = max(sum(float(s["steps"].sum()) for s in summaries), 1e-12)
    rates = {
        u: sum(float(s["hits"][:, s["units"].index(u)].sum()) for s in summaries) / steps
        for u in units
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

    @property
    def best_layer(self) -> str | None:
        """The best layer's head average (None without multi-head layers)."""
        return best_unit(self.summaries, heads=False)

    def readings(self) -> list[tuple[str, str]]:
        """(reading, unit) judged: the best head and the best layer's head average."""
        pairs = (("best head", self.best), ("best layer's head average", self.best_layer))
        return [(name, u) for name, u in pairs if u is not None]

    def units(self) -> list[str]:
        return list(self.summaries[0]["units"]) if self.summaries else []


def attention_cells(df: pd.DataFrame, tasks: tuple[str, ...] = GOLD_TASKS):
    """Every (model, configuration) of ``tasks`` with attention recordings, in model order."""
    if "attention" not in df or df.empty:
        return []
    rows = df[df["task"].isin(tasks)]
    out = []
    for (model, _), g in rows.groupby(["model", "config_id"], sort=True):
        recs = records(g)
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


def contrast(
    interventions: list[dict[str, Any]], confidence: float = 0.95, salt: int = 0
) -> tuple[str, Estimate | None]:
    """(what was compared, the accuracy drop difference): all heads of the best layer against
    all heads of a random other layer where every seed recorded both, else the best head
    against a random other head."""
    has = [d.get("conditions") or {} for d in interventions]
    if has and all("random_layer_shift" in c for c in has):
        first = interventions[0]
        what = (
            f"all heads of the best layer ({first.get('best_layer')}) vs all heads of a "
            f"random other layer ({first.get('random_layer')})"
        )
        cond, against = "best_layer_shift", "random_layer_shift"
    else:
        one = bool(interventions) and all("best_layer_shift" in c for c in has)
        what = "the best head vs a random other head" + (
            " (one cross-attention layer)" if one else " (no layer conditions recorded)"
        )
        cond, against = "best_shift", "random_shift"
    drop = intervention_drop(interventions, cond, against=against, confidence=confidence, salt=salt)
    return what, drop


@dataclass
class Judged:
    """A cell's judged intervals (at the verdict's Bonferroni confidence): every reading's
    hit rate, and the deciding reading's (highest lower end) gold mass and intervention."""

    cell: CellAttention
    readings: list[tuple[str, str, Estimate]]  # (reading, unit, hit rate)
    reading: str | None  # the deciding one: "best head", "best layer's head average"
    unit: str | None
    hit: Estimate | None
    mass_x: Estimate | None
    contrast: str = ""  # what the intervention compared
    shift_vs_random: Estimate | None = None  # accuracy drop, best − random (unit or layer)

    def deciding(self) -> str:
        return f"{self.reading} ({self.unit}) hit rate {self.hit.text() if self.hit else '-'}"


def judge(cell: CellAttention, confidence: float, salt: int) -> Judged:
    readings = []  # (reading, unit, hit rate) of the readings with gold-position steps
    for i, (name, u) in enumerate(cell.readings()):
        hit = unit_estimate(cell.summaries, u, "hits", confidence=confidence, salt=salt + 3 * i)
        if hit is not None:
            readings.append((name, u, hit))
    if not readings:
        return Judged(cell, [], None, cell.best, None, None)
    name, unit, hit = max(readings, key=lambda r: r[2].interval[0])
    what, drop = contrast(cell.interventions, confidence, salt + 2)
    mass = unit_estimate(cell.summaries, unit, "mass_x", confidence=confidence, salt=salt + 1)
    return Judged(cell, readings, name, unit, hit, mass, what, drop)


def cell_text(cell: CellAttention, salt: int = 0) -> str:
    """``transformer copy L=8: best dec_cross_l1_h0 hit 0.98 [..], gold mass 7.1× uniform
    [..]; best layer dec_cross_l1_mean hit 0.99 [..], gold mass 6.8× [..]; moved: accuracy
    drop 0.71 [..] vs a random other unit 0.02 [..]; all heads of dec_cross_l1 moved: ...``"""
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
    readings = []
    for i, (name, u) in enumerate((("best", unit), ("best layer", cell.best_layer))):
        if u is None:
            continue
        hit = unit_estimate(cell.summaries, u, "hits", salt=salt + 10 * i)
        mass = unit_estimate(cell.summaries, u, "mass_x", salt=salt + 10 * i + 1)
        readings.append(
            f"{name} {u} hit {hit.text() if hit else '-'}, "
            f"gold mass {mass.text(1, '×') if mass else '-'} uniform"
        )
    text = f"{cell.model} {cell.label}{learned}: " + "; ".join(readings)
    for who, unit_key, what in (
        ("best", "random", "unit"),
        ("best_layer", "random_layer", "layer"),
    ):
        best = intervention_drop(cell.interventions, f"{who}_shift", salt=salt + 2)
        if best is None:
            continue
        first = cell.interventions[0]
        rand = intervention_drop(cell.interventions, f"{unit_key}_shift", salt=salt + 3)
        moved = "moved" if who == "best" else f"all heads of {first.get(who)} moved"
        text += f"; {moved}: accuracy drop {best.text()}"
        if rand is None:
            text += f" (no other {what})"
        elif who == "best":
            text += f" vs a random other unit {rand.text()}"
        else:
            text += f" vs all heads of {first.get(unit_key)} {rand.text()}"
    return text


def judged_cells(df: pd.DataFrame) -> list[CellAttention]:
    """The cells the verdict judges: the Transformer's on copy (without a delay) or reverse,
    learned ones only when any is learned."""
    trans = _judgeable(attention_cells(df))
    return [c for c in trans if c.learned] or trans


def _judgeable(cells: list[CellAttention]) -> list[CellAttention]:
    """The Transformer's cells on copy (without a delay) or reverse."""
    return [c for c in cells if c.model == "transformer" and c.task in JUDGED_TASKS and not c.delay]


def check_attention_alignment(df: pd.DataFrame) -> Verdict:
    """``_attention_alignment``; attention is recorded at the end of training only, so the
    verdict rests on one point."""
    v = _attention_alignment(df)
    cells = [c for c in attention_cells(df) if c.model == "transformer"]
    n = min((len(c.summaries) for c in cells), default=None)
    return stabilise(v, [], n, "attention is recorded at the end of training only")


def _attention_alignment(df: pd.DataFrame) -> Verdict:
    """On learned copy/reverse cells: one of the Transformer's two readings (its best head,
    its best layer's head average) hits the gold source position (interval above 0.8), puts
    ≥ 5× uniform weight on it, and moving all heads of the best layer hurts more than moving
    all heads of a random other layer (one layer, or older files: the best head against a
    random other head). FAIL: every reading's hit-rate interval below 0.5. Bonferroni over
    cells × readings (the better reading is chosen).

    Copy with a delay (copy-memory) is long-range evidence, not alignment evidence: its
    cells are sized to be partly learned, so a weak head there says how far training got,
    not whether attention aligns. Its cells are listed but not judged."""
    cells = attention_cells(df)
    numbers = "; ".join(cell_text(c, 100 * i) for i, c in enumerate(cells)) or "-"
    trans = _judgeable(cells)
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
    k = sum(max(len(c.readings()), 1) for c in learned)
    conf = bonferroni(k)
    judged = [judge(c, conf, 1000 + 10 * i) for i, c in enumerate(learned)]
    numbers += (
        f" (verdict intervals {conf:.1%} each, Bonferroni over {len(learned)} cells × their "
        f"readings = {k})"
    )
    for j in judged:
        if j.readings and all(hit.interval[1] < HIT_FAIL for _, _, hit in j.readings):
            top = max(j.readings, key=lambda r: r[2].interval[1])
            return Verdict(
                FAIL,
                f"transformer {j.cell.label} is learned but every reading lies below "
                f"{HIT_FAIL:g}: "
                + ", ".join(f"{n} ({u}) hit rate {h.text()}" for n, u, h in j.readings),
                numbers,
                top[2].interval,
                HIT_FAIL,
            )
    for j in judged:
        why = _not_passed(j)
        if why:
            interval = j.hit.interval if j.hit else None
            v = inconclusive(f"transformer {j.cell.label}: {why}", numbers, interval, HIT_PASS)
            if j.hit is None or j.hit.n_seeds < 2:
                return v
            n = j.hit.n_seeds
            design = {"n": n, "df": n - 1, "unit": "seeds", "confidence": conf}
            return replace(v, details={"design": design})
    worst = min(judged, key=lambda j: j.hit.interval[0])
    decided = "; ".join(f"{j.cell.label}: {j.deciding()}" for j in judged)
    moved = "; ".join(f"{j.cell.label}: {j.contrast} {j.shift_vs_random.text()}" for j in judged)
    return Verdict(
        PASS,
        f"on {len(judged)} learned cell(s) a reading's hit rate lies above {HIT_PASS:g}, "
        f"decided by {decided}; its gold mass is ≥ {MASS_X:g}× uniform, and moving the "
        f"weights costs more accuracy (accuracy drop difference, {moved})",
        numbers,
        worst.hit.interval,
        HIT_PASS,
    )


def _not_passed(j: Judged) -> str:
    """Why a learned cell does not PASS ('' when it does)."""
    if j.hit is None or j.mass_x is None:
        return "no gold-position steps recorded"
    if j.hit.interval[0] <= HIT_PASS:
        readings = ", ".join(f"{n} ({u}) hit rate {h.text()}" for n, u, h in j.readings)
        return f"no reading lies above {HIT_PASS:g}: {readings}"
    if j.mass_x.interval[0] < MASS_X:
        return (
            f"{j.deciding()} decides, but its gold mass {j.mass_x.text(1, '×')} uniform does "
            f"not lie at or above {MASS_X:g}×"
        )
    if j.shift_vs_random is None:
        return (
            "no intervention results with a random other head or layer "
            "(cells/<key>/intervention.json)"
        )
    if j.shift_vs_random.interval[0] <= 0:
        return (
            f"{j.deciding()} decides, but moving the weights does not hurt significantly "
            f"more ({j.contrast}: accuracy drop difference {j.shift_vs_random.text()})"
        )
    return ""
