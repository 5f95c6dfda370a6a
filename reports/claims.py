"""The paper's claims as data, and their verdicts computed from results rows only."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import pandas as pd

from reports import checks_cost, checks_quality, checks_scaling
from reports.rows import preset_hint
from reports.verdict import INCONCLUSIVE, Outcome

GPU_CAVEAT = "measured on the rows' own hardware; the paper used 8 P100 GPUs"


@dataclass(frozen=True)
class Claim:
    """One testable claim: where it comes from, what is measured, and how it is judged."""

    id: str
    source: str  # paper section/table or a quoted sentence
    measurement: str  # what the rows must contain
    predicate: str  # the test, with its tolerance
    min_evidence: str
    caveat: str  # hardware (or other) caveat
    preset: str  # the preset that supplies the evidence
    check: Callable[[pd.DataFrame], Outcome]


CLAIMS: tuple[Claim, ...] = (
    Claim(
        "T1-complexity",
        "Table 1: self-attention O(n²·d) per layer, recurrent O(n·d²), convolutional O(k·n·d²)",
        "training time per sequence and peak memory against length n (log-log fit)",
        "Transformer time or memory exponent in [1.6, 2.3] for n ≥ 2d; "
        "LSTM and ConvS2S time exponents in [0.7, 1.3]",
        ">= 3 lengths per model (n ≥ 2d for the Transformer)",
        "CPU memory is process RSS; memory-efficient attention kernels keep memory linear, "
        "so time may be the only quadratic signal",
        "scaling",
        checks_scaling.check_complexity,
    ),
    Claim(
        "T1-crossover",
        "Sec. 4: 'self-attention layers are faster than recurrent layers when the sequence "
        "length n is smaller than the representation dimensionality d'",
        "per-layer FLOPs n²d vs nd² (analytic) and training tokens/s at n < d (measured)",
        "at every measured n < d the Transformer's tokens/s >= 0.9 × the LSTM's",
        ">= 1 length n < d measured for both models",
        "whole models differ from single layers (FFN, embeddings, output layer); "
        "the measured crossover depends on kernels and hardware",
        "scaling",
        checks_scaling.check_crossover,
    ),
    Claim(
        "T1-sequential",
        "Table 1: sequential operations O(n) for recurrent layers, O(1) for self-attention",
        "median training step time against n at fixed batch size",
        "LSTM exponent in [0.7, 1.3] and the Transformer's <= LSTM's − 0.2 (n <= 2d)",
        ">= 3 shared lengths n <= 2d",
        "on CPU all positions share a few cores, so parallelism over positions barely shows "
        "and this can FAIL; a GPU shows it",
        "scaling",
        checks_scaling.check_sequential,
    ),
    Claim(
        "Parallel-speed",
        "Sec. 1/7: 'significantly more parallelization', 'trained significantly faster'; "
        "commonly quoted as more than 10× for translation",
        "training target tokens/s, Transformer / LSTM, in shared cells (translate if present)",
        "median ratio > 1 (the measured ratio is stated, and whether it exceeds 10×)",
        ">= 1 cell with ok rows of both models",
        GPU_CAVEAT + "; cuDNN LSTMs and CPU threads change the ratio",
        "translate",
        checks_cost.check_parallel_speed,
    ),
    Claim(
        "Long-range",
        "Sec. 4: shorter paths between positions make long-range dependencies easier to "
        "learn (max path length O(1) vs O(n)); counter-evidence: Tang et al. 2018, "
        "Tran et al. 2018",
        "answer accuracy against dependency distance (dependency, recall tasks)",
        "at the largest shared distance Transformer accuracy >= LSTM's and ConvS2S's − 0.02",
        ">= 2 ok seeds per model at that distance, cell valid",
        "small models and short training; not natural-language agreement",
        "longrange",
        checks_quality.check_long_range,
    ),
    Claim(
        "Training-ease",
        "Sec. 1/7: the Transformer requires 'significantly less time to train' "
        "(read as: trains reliably)",
        "diverged runs (failed:nan) per model; seed std of the task metric per cell",
        "Transformer divergence rate <= others'; its median seed std <= 1.25 × others' + 0.01",
        ">= 3 runs per model, >= 2 ok seeds in a shared cell",
        "post-LN stability depends on warm-up and learning rate; few seeds",
        "longrange",
        checks_quality.check_training_ease,
    ),
    Claim(
        "Translation",
        "Table 2: Transformer 27.3/28.4 BLEU > ConvS2S 25.16 > GNMT+RL 24.6 (EN-DE)",
        "sacreBLEU per model, median over seeds, at equal parameters",
        "Transformer >= ConvS2S − 0.5 and ConvS2S >= LSTM − 0.5 BLEU",
        "all three models, >= 2 ok seeds each, same parameter budget (±10%)",
        "a small corpus and small models, not WMT14 EN-DE at 65M parameters",
        "translate",
        checks_quality.check_translation,
    ),
    Claim(
        "T2-cost",
        "Table 2 training cost: base 3.3e18, big 2.3e19 FLOPs = time × GPUs × ~9.5 TFLOPS "
        "(base 12 h, big 3.5 days, 8 P100)",
        "paper figures recomputed; our training FLOPs (FLOPs/token × tokens) and BLEU reached",
        "Transformer BLEU >= other − 0.5 for <= 1.1 × its FLOPs (FAIL if worse for more)",
        "translate rows of the Transformer and another model with BLEU and FLOPs",
        "counted FLOPs, not time × peak; far smaller runs than the paper's",
        "translate",
        checks_cost.check_t2_cost,
    ),
)


def evaluate_claims(df: pd.DataFrame) -> list[tuple[Claim, Outcome]]:
    """Every claim's outcome on the (normalised) rows; missing evidence names its preset."""
    out = []
    for claim in CLAIMS:
        outcome = claim.check(df)
        if outcome.verdict == INCONCLUSIVE and "attnbench" not in outcome.missing:
            missing = f"{outcome.missing}: {preset_hint(claim.preset)}"
            outcome = Outcome(INCONCLUSIVE, outcome.numbers, missing)
        out.append((claim, outcome))
    return out


def claims_table(df: pd.DataFrame) -> pd.DataFrame:
    """One row per claim: id, verdict, numbers, missing evidence, predicate, source, caveat."""
    return pd.DataFrame(
        [
            {
                "claim": c.id,
                "verdict": o.verdict,
                "numbers": o.numbers,
                "missing": o.missing,
                "predicate": c.predicate,
                "min evidence": c.min_evidence,
                "source": c.source,
                "caveat": c.caveat,
            }
            for c, o in evaluate_claims(df)
        ]
    )
