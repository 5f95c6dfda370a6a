"""The paper's claims as data, and their verdicts computed from a run directory only.

One claim = one ``Claim`` entry below + one check function, in the module of its claim
family (``table1``, ``speed``, ``longrange``, ``training_ease``, ``translation_bleu``, ``cost``,
``attention``). A check returns a ``Verdict``: PASS or FAIL
only when the judged effect's 95% interval clears its threshold on learned, unsaturated
evidence; otherwise INCONCLUSIVE with the reason.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass, replace
from typing import Any

import pandas as pd

from reports.claims import (
    attention,
    cost,
    evidence,
    longrange,
    measured_scale,
    power,
    speed,
    table1,
    training_ease,
    translation_bleu,
)
from reports.claims.verdict import INCONCLUSIVE, Verdict
from reports.rows import preset_hint

GPU_CAVEAT = "measured on the rows' own hardware; the paper used 8 P100 GPUs"


@dataclass(frozen=True)
class Claim:
    """One testable claim: where it comes from, what is measured, and how it is judged."""

    id: str
    source: str  # paper section/table or a quoted sentence
    measurement: str  # what the rows must contain
    predicate: str  # the test, with its threshold
    min_evidence: str
    caveat: str  # hardware (or other) caveat
    preset: str  # the preset that supplies the evidence
    check: Callable[[pd.DataFrame], Verdict]
    scope: Callable[[pd.DataFrame], pd.DataFrame] = (
        measured_scale.length_sweep
    )  # the rows it judges
    timed: bool = False  # judged on wall-clock timings: rows of cells run at once do not count


CLAIMS: tuple[Claim, ...] = (
    Claim(
        "T1-complexity",
        "Table 1: self-attention O(n²·d) per layer, recurrent O(n·d²), convolutional O(k·n·d²)",
        "training time per sequence against length n, one sweep (fixed batch, steps, width); "
        "the exponent the rows' own analytic FLOPs predict over the same lengths",
        "Transformer time exponent interval above 1 and containing its FLOPs-expected exponent; "
        "LSTM and ConvS2S exponent intervals below 2 (Bonferroni over models)",
        f">= {table1.MIN_LENGTHS} lengths spanning >= {table1.MIN_SPAN:g}× per model",
        "CPU memory is process RSS; memory-efficient attention keeps memory linear, so time is "
        "the quadratic signal; the LSTM's and ConvS2S's attention is quadratic too",
        "claims",
        table1.check_complexity,
        timed=True,
    ),
    Claim(
        "T1-crossover",
        "Sec. 4: 'self-attention layers are faster than recurrent layers when the sequence "
        "length n is smaller than the representation dimensionality d'",
        "Transformer/LSTM training tokens/s at the shared n < d, paired by seed (a setting's "
        "runs are made back to back), and the ratio's trend with n",
        "one regression of the paired log ratio on log n over n < d: its interval above 1 at "
        "both ends of that range (Bonferroni over the two ends; one length: its paired "
        "interval); FAIL if below 1 at either",
        ">= 1 length n < d measured for both models",
        "whole models differ from single layers (FFN, embeddings, output layer); "
        "the measured crossover depends on kernels and hardware",
        "claims",
        table1.check_crossover,
        timed=True,
    ),
    Claim(
        "T1-sequential",
        "Table 1: sequential operations O(n) for recurrent layers, O(1) for self-attention",
        "median training step time against n at fixed batch size (n <= 2d)",
        "LSTM − Transformer step-time exponent interval above 0, on a GPU",
        f">= {table1.SEQ_LENGTHS} lengths n <= 2d for both models, rows on CUDA",
        "on a CPU all positions share a few cores, so parallelism over positions cannot show: "
        "INCONCLUSIVE there by design",
        "claims",
        table1.check_sequential,
        timed=True,
    ),
    Claim(
        "Parallel-speed",
        "Sec. 1/7: 'significantly more parallelization', 'trained significantly faster'",
        "training target tokens/s, Transformer / LSTM, translate at equal parameters, one log "
        "ratio per seed's pair of runs (made back to back; Welch over runs without pairs); "
        "wall time to the shared target beside it",
        "ratio interval above 1 (faster at all)",
        ">= 1 translate setting with ok rows of both models at equal parameters",
        GPU_CAVEAT + "; cuDNN LSTMs and CPU threads change the ratio",
        "claims",
        speed.check_parallel_speed,
        scope=measured_scale.translation_rows,
        timed=True,
    ),
    Claim(
        "Parallel-10×",
        "the seed article: the Transformer trains more than 10× faster than recurrent models "
        "(a popular reading of Sec. 6.1 / Table 2)",
        "the same ratio as Parallel-speed",
        f"ratio interval above {speed.TEN_X:g}",
        "as Parallel-speed",
        GPU_CAVEAT + "; a magnitude, not a direction: 1.1× is not 10×",
        "claims",
        speed.check_parallel_10x,
        scope=measured_scale.translation_rows,
        timed=True,
    ),
    Claim(
        "Long-range",
        "Sec. 4: shorter paths between positions make long-range dependencies easier to "
        "learn (max path length O(1) vs O(n)); counter-evidence: Tang et al. 2018, "
        "Tran et al. 2018",
        "steps to the dev target against log2 distance per model (right-censored where a "
        "run never gets there), on tasks whose distance lengthens the recurrent and "
        "convolutional paths (match with the pair inside its context; dependency, recall); "
        "accuracy at the end of the budget beside it. Copy-memory and the pair-at-the-ends "
        "probe are shown, not judged",
        "per comparison (vs LSTM, vs ConvS2S; Bonferroni): one censored log-normal fit of "
        "both models' runs (intercept and slope on log2 distance each, one σ), equal slopes "
        "tested by a likelihood-ratio t; PASS when the Transformer's slope is lower, FAIL "
        "when higher. The headline is vs LSTM (attention against recurrence); ConvS2S's "
        "decoder attends in every layer, so its line is shown, not required. A constant "
        "offset is Training-ease, not Long-range",
        f">= {evidence.MIN_DISTANCES} learned, unsaturated distances per task and "
        f">= {evidence.MIN_SEEDS} seeds per cell (failed seeds score chance)",
        "small models and short training; not natural-language agreement",
        "claims",
        longrange.check_long_range,
        scope=measured_scale.long_range_rows,
    ),
    Claim(
        "Training-ease",
        "Sec. 1/7: the Transformer requires 'significantly less time to train' "
        "(read as: reaches a shared quality sooner and trains reliably)",
        "wall time to the shared target (teacher-forced token accuracy) per seed pair, on "
        "tasks tuned on dev for every model (an untuned task tests the shared recipe); "
        "diverged runs (failed:nan) per model",
        "per tuned task: log time-to-target ratio Transformer/other interval below 0 for "
        "every other model, and no significantly higher divergence (Fisher's exact test); "
        "tuned tasks that decide opposite ways: task-dependent",
        "a tuned setting shared by the Transformer and another model",
        "post-LN stability depends on warm-up and learning rate; runs that never reach the "
        "target count their whole training time (a lower bound)",
        "claims",
        training_ease.check_training_ease,
        scope=measured_scale.ease_rows,
        timed=True,
    ),
    Claim(
        "Translation",
        "Table 2: Transformer 27.3/28.4 BLEU > ConvS2S 25.16 > GNMT+RL 24.6 (EN-DE)",
        "sacreBLEU and chrF per model over seeds at equal parameters; differences paired over "
        "sentences (sacrebleu statistics, seeds resampled) and sacrebleu's paired test",
        "Transformer − ConvS2S and ConvS2S − LSTM BLEU intervals above 0 (Bonferroni)",
        f"all three models beat copy-the-source (BLEU and chrF), >= {evidence.MIN_SEEDS} seeds, "
        "same parameter budget (±10%)",
        "a small corpus and small models, not WMT14 EN-DE at 65M parameters",
        "claims",
        translation_bleu.check_translation,
        scope=measured_scale.translation_rows,
    ),
    Claim(
        "T2-cost",
        "Table 2 training cost: base 3.3e18, big 2.3e19 FLOPs = time × GPUs × ~9.5 TFLOPS "
        "(base 12 h, big 3.5 days, 8 P100)",
        "paper figures recomputed; our training FLOPs (FLOPs/token × tokens) and BLEU reached",
        "Transformer BLEU − other interval above 0 for no more training FLOPs (FAIL: below 0 "
        "for at least as many FLOPs)",
        "learned translate cells (as Translation) of the Transformer and another model",
        "counted FLOPs, not time × peak; far smaller runs than the paper's",
        "claims",
        cost.check_t2_cost,
        scope=measured_scale.translation_rows,
    ),
    Claim(
        "Attention-alignment",
        "the seed article: attention works like a memory with a human-like focus, looking at "
        "the input words that matter; Sec. 4 and Figures 3–5 (heads that attend to the "
        "relevant positions)",
        "cross-attention of >= 64 held-out examples per cell (teacher-forced, per layer and "
        "head) against the gold source position (copy: t, reverse: L−1−t; recall: the queried "
        "pair); decoding with one head's, and one layer's (all heads), weights moved one "
        "source position (and made uniform) against the same done to a random other head "
        "(layer)",
        f"on learned copy/reverse cells: the hit-rate interval of the Transformer's best head "
        f"or of its best layer's head average (the reason names which) above "
        f"{attention.HIT_PASS:g}, that reading's gold mass >= {attention.MASS_X:g}× uniform, "
        f"and the accuracy drop from moving all heads of the best layer above a random other "
        f"layer's (one layer: the best head's above a random head's); Bonferroni over cells × "
        f"readings; FAIL: both readings' intervals below {attention.HIT_FAIL:g} on a learned "
        f"task",
        "a learned copy or reverse cell of the Transformer with attention.npz and "
        "intervention.json (LSTM and ConvS2S alongside)",
        "'human-like' is not measurable; what is shown is whether a head's weight lands on the "
        "source position a correct answer must read, on synthetic tasks whose right position is "
        "known, and whether the output depends on it (Jain & Wallace 2019: weights alone need "
        "not explain a prediction); the best head and layer are chosen on the same examples",
        "claims",
        attention.check_attention_alignment,
        scope=measured_scale.attention_rows,
    ),
)


def evaluate_claims(df: pd.DataFrame) -> list[tuple[Claim, Verdict]]:
    """Every claim's verdict on the (normalised) rows; a reason about missing rows names the
    preset that supplies them."""
    out = []
    shared = shared_device(df)
    for claim in CLAIMS:
        rows = df[~shared] if claim.timed else df
        verdict = claim.check(rows)
        if verdict.verdict == INCONCLUSIVE and verdict.interval is None and _missing_rows(verdict):
            hint = preset_hint(claim.preset)
            if claim.timed and shared.any():
                hint = (
                    f"{int(shared.sum())} rows ran several cells at once (--jobs) and are not "
                    f"timing evidence; {hint}"
                )
            verdict = Verdict(INCONCLUSIVE, f"{verdict.reason}: {hint}", verdict.numbers)
        verdict = power.annotate(claim.id, rows, verdict)
        out.append((claim, with_scale(verdict, claim.scope(rows))))
    return out


def with_scale(verdict: Verdict, rows: pd.DataFrame) -> Verdict:
    """The verdict with its scale (``measured_scale.scale_text`` of the rows it judged) ending its
    reason and in ``details["scale"]``; unchanged when it judged no rows."""
    text = measured_scale.scale_text(rows)
    if text is None:
        return verdict
    return replace(
        verdict,
        reason=f"{verdict.reason} (scale: {text})",
        details={**verdict.details, "scale": text},
    )


def shared_device(df: pd.DataFrame) -> pd.Series:
    """Rows of cells that ran beside others on one device (``--jobs`` > 1): their timings
    measure the sharing, not the model."""
    if "parallel_cells" not in df:
        return pd.Series(False, index=df.index)
    return pd.to_numeric(df["parallel_cells"], errors="coerce").fillna(1).gt(1)


def _missing_rows(v: Verdict) -> bool:
    return v.reason.startswith(("no ", "needs ", "too few"))


# the report's verdict table: these columns of ``claims_table``, in this order (the full
# reason, numbers and rules follow it, one block per claim)
VERDICT_COLUMNS = (
    "claim",
    "verdict",
    "interval",
    "threshold",
    "stable across budget",
    "short reason",
)
SHORT = 100  # characters of a reason in the verdict table


def short_reason(reason: str, limit: int = SHORT) -> str:
    """The reason without its scale, cut at its first clause (or ``limit`` characters, at a
    word) for the verdict table; the whole reason follows the table."""
    text = reason.split(" (scale: ")[0]
    first = text.split("; ")[0]
    if len(first) <= limit:
        return first + (" …" if first != text else "")
    return first[:limit].rsplit(" ", 1)[0] + " …"


QUALITY = ("Long-range", "Training-ease", "Translation", "T2-cost", "Attention-alignment")


def stable_text(v: Verdict) -> str:
    """The verdict table's "stable across budget" cell (the rungs' steps: ``claims --json``
    and the reason of a budget-dependent verdict)."""
    if "stable" not in v.details:
        return "-"
    stable = v.details["stable"]
    if stable is None:
        return "one point"
    undecided = stable and v.details.get("three_quarter") == INCONCLUSIVE != v.verdict
    return ("yes, undecided at ¾" if undecided else "yes") if stable else "no"


def claims_table(df: pd.DataFrame) -> pd.DataFrame:
    """One row per claim (and one per comparison of a claim judged per comparison, named
    "<claim> vs <model>"): id, verdict, interval, threshold, stable across budget, reason,
    numbers and the claim."""
    rows = []
    for c, v in evaluate_claims(df):
        rows.append(_table_row(c, c.id, v))
        for other, line in (v.details.get("comparisons") or {}).items():
            rows.append(_table_row(c, f"{c.id} vs {other}", line))  # its own verdict line
    return pd.DataFrame(rows)


def _table_row(c: Claim, name: str, v: Verdict) -> dict[str, Any]:
    low, high = v.interval if v.interval is not None else (None, None)
    return {
        "claim": name,
        "verdict": v.verdict,
        "low": low,
        "high": high,
        "threshold_value": v.threshold,
        "short reason": short_reason(v.reason),
        "interval": interval_text(v.interval),
        "threshold": "-" if v.threshold is None else f"{v.threshold:g}",
        "stable across budget": stable_text(v),
        "reason": v.reason,
        "numbers": v.numbers,
        "predicate": c.predicate,
        "min evidence": c.min_evidence,
        "source": c.source,
        "caveat": c.caveat,
    }


def claims_records(df: pd.DataFrame) -> list[dict[str, Any]]:
    """``attnbench claims --json``: claim, verdict, interval, threshold, reason, numbers,
    scale (parameters, steps, target tokens per run, hardware; null without rows); a
    quality claim adds ``rungs`` ([{step, interval, verdict, metric}]), ``stable`` (the same
    verdict at ¾ and the end; null when it rests on one point) and ``n_seeds``."""
    out = []
    for c, v in evaluate_claims(df):
        rec = {
            "claim": c.id,
            "verdict": v.verdict,
            "interval": _finite_pair(v.interval),
            "threshold": v.threshold,
            "reason": v.reason,
            "numbers": v.numbers,
            "scale": v.details.get("scale"),
        }
        if c.id in QUALITY:
            rec |= {
                "rungs": v.details.get("rungs", []),
                "stable": v.details.get("stable"),
                "n_seeds": v.details.get("n_seeds"),
            }
        if v.details.get("power") is not None:
            rec["power"] = v.details["power"]
        if "comparisons" in v.details:
            rec["comparisons"] = [
                comparison_record(m, line) for m, line in v.details["comparisons"].items()
            ]
        out.append(rec)
    return out


def comparison_record(other: str, v: Verdict) -> dict[str, Any]:
    """One comparison's own verdict line in ``claims --json`` (Long-range: vs each model)."""
    rec = {
        "vs": other,
        "verdict": v.verdict,
        "interval": _finite_or_open(v.interval),
        "threshold": v.threshold,
        "reason": v.reason,
        "stable": v.details.get("stable"),
        "rungs": v.details.get("rungs", []),
        "n_seeds": v.details.get("n_seeds"),
    }
    if v.details.get("power") is not None:
        rec["power"] = v.details["power"]
    return rec


def _finite_or_open(interval: tuple[float, float] | None) -> list[float | None] | None:
    """An interval for JSON: an infinite end (a profile interval left open) is null."""
    if interval is None or all(not math.isfinite(x) for x in interval):
        return None
    return [float(x) if math.isfinite(x) else None for x in interval]


def interval_text(interval: tuple[float, float] | None) -> str:
    if interval is None:
        return "-"
    return f"[{interval[0]:.3g}, {interval[1]:.3g}]"


def _finite_pair(interval: tuple[float, float] | None) -> list[float] | None:
    if interval is None or not all(math.isfinite(x) for x in interval):
        return None
    return [float(interval[0]), float(interval[1])]
