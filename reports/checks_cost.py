"""Checks of training-cost claims: Transformer vs LSTM speed per token, and Table 2 FLOPs."""

from __future__ import annotations

import pandas as pd

from reports.numbers import fmt
from reports.rows import ok_rows, sort_models, speed_rows
from reports.verdict import Outcome, decide, inconclusive

TEN_X = 10.0  # "more than 10x faster" (popular reading of the paper for translation)
P100_FLOPS = 9.5e12  # the paper's assumed sustained single-precision FLOP/s of a P100
PAPER_RUNS = {  # name: (training seconds, GPUs, training FLOPs stated in Table 2)
    "base": (12 * 3600, 8, 3.3e18),
    "big": (3.5 * 86400, 8, 2.3e19),
}
ARITH_TOL = 0.05  # recomputed Table 2 figures must agree within 5%
BLEU_TOL = 0.5
FLOPS_TOL = 0.10


def speed_ratios(df: pd.DataFrame, other: str = "lstm") -> tuple[pd.Series, str]:
    """Transformer / ``other`` median training tokens/s per shared cell, and the task scope."""
    rows = speed_rows(df).dropna(subset=["train_tgt_tokens_per_s"])
    scope = "all tasks"
    tr = rows[rows["task"].eq("translate")]
    if {"transformer", other} <= set(tr["model"]):
        rows, scope = tr, "translate"
    keys = ["task", "length", "distance"]
    med = (
        rows.assign(v=pd.to_numeric(rows["train_tgt_tokens_per_s"], errors="coerce"))
        .groupby([*keys, "model"], dropna=False)["v"]
        .median()
        .unstack("model")
    )
    if "transformer" not in med or other not in med:
        return pd.Series(dtype=float), scope
    return (med["transformer"] / med[other]).dropna(), scope


def check_parallel_speed(df: pd.DataFrame) -> Outcome:
    """Median Transformer/LSTM training tokens/s ratio over shared cells is above 1."""
    ratio, scope = speed_ratios(df)
    if ratio.empty:
        return inconclusive("needs ok training-speed rows of Transformer and LSTM in a shared cell")
    med = float(ratio.median())
    ten = "met" if med > TEN_X else "not met"
    numbers = (
        f"Transformer/LSTM training target tokens/s: median {med:.2f}× over {len(ratio)} cells "
        f"({scope}; range {ratio.min():.2f}–{ratio.max():.2f}×); '>10×' claim {ten}"
    )
    conv, _ = speed_ratios(df, "convs2s")
    if not conv.empty:
        numbers += f"; Transformer/ConvS2S median {conv.median():.2f}×"
    return decide(med > 1.0, numbers)


def paper_cost() -> pd.DataFrame:
    """Table 2 training FLOPs recomputed as time x GPUs x assumed P100 peak, next to the paper's."""
    rows = []
    for name, (seconds, gpus, stated) in PAPER_RUNS.items():
        recomputed = seconds * gpus * P100_FLOPS
        rows.append(
            {
                "model": f"Transformer ({name}), paper",
                "train time h": seconds / 3600,
                "GPUs": f"{gpus}× P100 @ {P100_FLOPS / 1e12:g} TFLOPS",
                "recomputed FLOPs": recomputed,
                "stated FLOPs": stated,
                "agree": abs(recomputed / stated - 1) <= ARITH_TOL,
            }
        )
    return pd.DataFrame(rows)


def measured_cost(df: pd.DataFrame) -> pd.DataFrame:
    """Per model on translate: median BLEU and training FLOPs (counted, else analytic)."""
    rows = ok_rows(df)
    rows = rows[rows["task"].eq("translate")]
    fpt = pd.to_numeric(rows["flops_per_token_counted"], errors="coerce")
    fpt = fpt.where(fpt.notna(), pd.to_numeric(rows["flops_per_token_analytic"], errors="coerce"))
    tok_s = pd.to_numeric(rows["train_tgt_tokens_per_s"], errors="coerce")
    step_s = pd.to_numeric(rows["train_step_s"], errors="coerce")
    steps = rows["config"].map(lambda c: ((c or {}).get("train") or {}).get("steps"))
    ttt = pd.to_numeric(rows["time_to_target_s"], errors="coerce")
    rows = rows.assign(
        train_flops=fpt * tok_s * step_s * pd.to_numeric(steps, errors="coerce"),
        flops_to_target=fpt * tok_s * ttt,
        bleu=pd.to_numeric(rows["bleu"], errors="coerce"),
    ).dropna(subset=["train_flops", "bleu"])
    if rows.empty:
        return pd.DataFrame(columns=["model", "BLEU", "train FLOPs", "FLOPs to target", "n ok"])
    out = rows.groupby("model").agg(
        BLEU=("bleu", "median"),
        **{"train FLOPs": ("train_flops", "median")},
        **{"FLOPs to target": ("flops_to_target", "median")},
        **{"n ok": ("bleu", "size")},
    )
    return out.loc[sort_models(out.index.tolist())].reset_index()


def check_t2_cost(df: pd.DataFrame) -> Outcome:
    """Transformer reaches at least the others' BLEU for no more training FLOPs."""
    paper = paper_cost()
    paper_text = "paper recomputed: " + ", ".join(
        f"{r['model'].split(',')[0]} {r['recomputed FLOPs']:.3g} (stated {r['stated FLOPs']:.2g})"
        for _, r in paper.iterrows()
    )
    if not paper["agree"].all():
        return decide(False, paper_text + ": the recomputation disagrees with Table 2")
    ours = measured_cost(df).set_index("model")
    if "transformer" not in ours.index or len(ours) < 2:
        return inconclusive(
            "needs translate rows with BLEU and FLOPs of the Transformer and another model",
            paper_text,
        )
    t = ours.loc["transformer"]
    numbers = (
        paper_text
        + "; ours: "
        + ", ".join(
            f"{m} BLEU {fmt(r['BLEU'])} for {r['train FLOPs']:.3g} FLOPs"
            for m, r in ours.iterrows()
        )
    )
    verdicts = []
    for m, r in ours.drop("transformer").iterrows():
        cheaper = t["train FLOPs"] <= r["train FLOPs"] * (1 + FLOPS_TOL)
        if t["BLEU"] >= r["BLEU"] - BLEU_TOL and cheaper:
            verdicts.append(True)
        elif t["BLEU"] < r["BLEU"] - BLEU_TOL and t["train FLOPs"] >= r["train FLOPs"]:
            verdicts.append(False)
        else:
            verdicts.append(None)
            numbers += f"; vs {m}: a trade-off between BLEU and FLOPs"
    if False in verdicts:
        return decide(False, numbers)
    if None in verdicts:
        return inconclusive(
            "a trade-off between BLEU and FLOPs; FLOPs to a shared BLEU need longer runs: "
            "run `attnbench matrix run paper`",
            numbers,
        )
    return decide(True, numbers)
