"""Translation quality against training cost: dev quality at the budget rungs against FLOPs
and seconds, and the Transformer's gap per doubling of steps (reports/translation_cost.py)."""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
import pytest

from reports.document import Figure, Paragraph
from reports.sections import translation
from reports.translation_cost import (
    BLEU_AT_RUNGS,
    TOKEN_ACC_AT_RUNGS,
    cost_curves,
    gap_trend,
)

STEPS = [300, 600, 900, 1200]


def run(model: str, seed: int, bleu: list[float] | None, fpt: float = 1e7) -> dict:
    rungs = {"step": STEPS, "dev_tf_token_acc": [0.2, 0.3, 0.35, 0.4]}
    if bleu is not None:
        rungs[BLEU_AT_RUNGS] = bleu
    return {
        "model": model,
        "seed": seed,
        "ok": True,
        "dev_rungs": rungs,
        "flops_per_token_counted": math.nan,  # not counted: the analytic figure is used
        "flops_per_token_analytic": fpt,
        "train_tgt_tokens_per_s": 1000.0,
        "train_step_s": 0.5,
    }


def shrinking_gap(seeds: int = 3) -> list[dict]:
    """The Transformer 4 BLEU behind at step 300, catching up about 1 BLEU per doubling."""
    rows = []
    g = np.random.default_rng(0)
    for s in range(seeds):
        base = 10 + np.log2(np.array(STEPS) / 300) * 3 + g.normal(0, 0.5)
        gap = -4 + np.log2(np.array(STEPS) / 300) * (1 + g.normal(0, 0.1))  # seeds differ
        rows.append(run("lstm", s, list(base)))
        rows.append(run("transformer", s, list(base + gap), fpt=2e7))
    return rows


def test_curves_count_flops_and_seconds_per_rung():
    curves, metric = cost_curves(shrinking_gap())
    assert metric == BLEU_AT_RUNGS and len(curves) == 2 * 3 * len(STEPS)
    t = curves[(curves["model"] == "transformer") & (curves["step"] == 600)].iloc[0]
    assert t["flops"] == pytest.approx(2e7 * 1000.0 * 0.5 * 600)  # per token × tokens/step × steps
    assert t["seconds"] == pytest.approx(0.5 * 600)


def test_gap_per_doubling_recovers_the_trend():
    curves, _ = cost_curves(shrinking_gap())
    trend = gap_trend(curves, "lstm")
    assert trend is not None and trend.pairs == 3
    assert trend.slope == pytest.approx(1.0, abs=0.2) and trend.low < 1.0 < trend.high
    assert trend.first == pytest.approx(-4.0) and trend.last == pytest.approx(-2.0, abs=0.4)
    assert "per doubling of steps" in trend.text("BLEU")


def test_gap_needs_two_seed_pairs():
    curves, _ = cost_curves(shrinking_gap(seeds=1))
    assert gap_trend(curves, "lstm") is None
    assert gap_trend(curves, "convs2s") is None


def test_rows_without_bleu_at_the_rungs_fall_back_to_token_accuracy():
    rows = shrinking_gap()
    rows[0]["dev_rungs"].pop(BLEU_AT_RUNGS)  # one run from before BLEU at the rungs
    curves, metric = cost_curves(rows)
    assert metric == TOKEN_ACC_AT_RUNGS and curves["value"].max() <= 1.0


def test_translation_section_draws_the_cost_figure_and_the_trend(monkeypatch):
    monkeypatch.setattr(translation, "compared_rows", lambda df: shrinking_gap())
    blocks = translation.cost_figure(pd.DataFrame())
    figures = [b for b in blocks if isinstance(b, Figure)]
    assert [f.name for f in figures] == ["translate_cost"]
    assert figures[0].png[:4] == b"\x89PNG"
    (text,) = [b.text for b in blocks if isinstance(b, Paragraph)]
    assert "Transformer − lstm: -4.00 at the first rung, " in text
    assert " BLEU per doubling of steps [+0." in text and "(95% t over 3 seed pairs)" in text
    monkeypatch.setattr(translation, "compared_rows", lambda df: [])
    assert translation.cost_figure(pd.DataFrame()) == []
