"""Table 2 training cost: the paper's FLOPs recomputed, and ours against BLEU reached."""

from __future__ import annotations

import pandas as pd

from reports.claims.evidence import MIN_SEEDS
from reports.claims.stats import bonferroni, percentile_interval
from reports.claims.translation_bleu import dev_rungs, translation_cells
from reports.claims.verdict import FAIL, PASS, Verdict, inconclusive
from reports.rows import ok_rows, sort_models

P100_FLOPS = 9.5e12  # the paper's assumed sustained single-precision FLOP/s of a P100
PAPER_RUNS = {  # name: (training seconds, GPUs, training FLOPs stated in Table 2)
    "base": (12 * 3600, 8, 3.3e18),
    "big": (3.5 * 86400, 8, 2.3e19),
}
ARITH_TOL = 0.05  # recomputed Table 2 figures must agree within 5%


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


def check_t2_cost(df: pd.DataFrame) -> Verdict:
    """The cost comparison (``_t2_cost``), judged for stability on the dev curves."""
    v, by_model = _t2_cost(df)
    if by_model is None or v.interval is None:
        return v
    pairs = [("transformer", m) for m in by_model if m != "transformer"]
    return dev_rungs(df, by_model, v, pairs)


def _t2_cost(df: pd.DataFrame) -> tuple[Verdict, dict | None]:
    """The Transformer reaches a higher BLEU (paired interval above 0) for no more training
    FLOPs than each other model; FAIL when it is worse for at least as many FLOPs."""
    paper = paper_cost()
    paper_text = "paper recomputed: " + ", ".join(
        f"{r['model'].split(',')[0]} {r['recomputed FLOPs']:.3g} (stated {r['stated FLOPs']:.2g})"
        for _, r in paper.iterrows()
    )
    if not paper["agree"].all():
        return Verdict(FAIL, "the recomputation disagrees with Table 2", paper_text), None
    by_model, size, why = translation_cells(df)
    if by_model is None:
        return inconclusive(why, paper_text), None
    flops = measured_cost(df).set_index("model")["train FLOPs"]
    numbers = (
        paper_text
        + "; ours: "
        + "; ".join(
            f"{c.text()}, {flops.get(m, float('nan')):.3g} train FLOPs"
            for m, c in sorted(
                by_model.items(), key=lambda kv: sort_models(list(by_model)).index(kv[0])
            )
        )
    )
    if why:
        return inconclusive(why, numbers), None
    if "transformer" not in by_model or len(by_model) < 2:
        return inconclusive(
            "needs learned translate cells of the Transformer and another model", numbers
        ), None
    short = [f"{c.where()} {c.seeds} seeds" for c in by_model.values() if c.seeds < MIN_SEEDS]
    if short:
        return inconclusive(
            f"too few seeds (need ≥ {MIN_SEEDS}): " + "; ".join(short), numbers
        ), None
    t = by_model["transformer"]
    others = [m for m in by_model if m != "transformer"]
    conf = bonferroni(len(others))
    outcomes = []
    for m in others:
        interval = percentile_interval(t.draws - by_model[m].draws, conf)
        cheaper = flops.get("transformer", float("inf")) <= flops.get(m, 0.0)
        dearer = flops.get("transformer", 0.0) >= flops.get(m, float("inf"))
        numbers += f"; BLEU transformer − {m} [{interval[0]:+.2f}, {interval[1]:+.2f}]"
        if interval[0] > 0 and cheaper:
            outcomes.append((PASS, m, interval))
        elif interval[1] < 0 and dearer:
            outcomes.append((FAIL, m, interval))
        else:
            outcomes.append(("", m, interval))
    fails = [o for o in outcomes if o[0] == FAIL]
    if fails:
        _, m, iv = fails[0]
        return Verdict(
            FAIL, f"lower BLEU than {m} for at least its FLOPs", numbers, iv, 0.0
        ), by_model
    if all(o[0] == PASS for o in outcomes):
        _, m, iv = min(outcomes, key=lambda o: o[2][0])
        return Verdict(
            PASS, "higher BLEU than every other model for no more FLOPs", numbers, iv, 0.0
        ), by_model
    _, m, iv = next(o for o in outcomes if o[0] != PASS)
    return inconclusive(
        f"vs {m}: BLEU difference [{iv[0]:+.2f}, {iv[1]:+.2f}] straddles 0 or trades off "
        "against FLOPs; FLOPs to a shared BLEU need dev curves (train.eval_every)",
        numbers,
        iv,
        0.0,
    ), by_model
