"""Speed claims: the Transformer trains faster than the LSTM at all, and by more than 10×."""

from __future__ import annotations

from dataclasses import replace

import pandas as pd

from reports.claims.evidence import setting_id
from reports.claims.paired import paired_ratio
from reports.claims.translation_bleu import equal_params, param_text
from reports.claims.verdict import Verdict, against, inconclusive
from reports.records import records
from reports.rows import speed_rows

TEN_X = 10.0


def translate_speed(df: pd.DataFrame, other: str) -> dict:
    """Transformer/``other`` training tokens/s on translate at equal parameters, in the shared
    setting with the most runs. Scope is translate only, always said."""
    rows = speed_rows(df)
    rows = rows[rows["task"].eq("translate") & rows["model"].isin(["transformer", other])]
    if rows["model"].nunique() < 2:
        return {"why": f"needs ok translate rows of the Transformer and {other}"}
    picked = equal_params(rows)
    if picked is None:
        return {"why": f"translate rows are not at equal parameters ({param_text(rows)})"}
    rows, size = picked
    rows = rows.assign(setting=[setting_id(r) for r in records(rows)])
    best, counts = None, {}
    for sid, g in rows.groupby("setting"):
        t, o = (g[g["model"].eq(m) & g["ok"]] for m in ("transformer", other))
        counts[sid] = (len(t), len(o))
        if len(t) and len(o) and (best is None or len(t) + len(o) > len(best[0]) + len(best[1])):
            best = (t, o)
    if best is None:
        return {"why": f"no translate setting with speeds of both Transformer and {other}"}
    ratio = paired_ratio(*best)
    if ratio is None:
        n_t, n_o = len(best[0]), len(best[1])
        return {
            "why": f"too few runs at translate ({size}): {n_t} and {n_o} (need ≥ 2 per model, "
            "best as pairs made back to back: one run's timing blocks miss run-to-run "
            "variation, ±5–10% on a CPU)"
        }
    return {
        "interval": ratio.interval,
        "estimate": ratio.estimate,
        "text": f"translate only, {size}, {ratio.text().split('(', 1)[1].rstrip(')')}",
        "ratio": ratio,
        "ttq": _time_to_quality(rows, other),
    }


def _time_to_quality(rows: pd.DataFrame, other: str) -> str:
    """Wall time to the shared target (teacher-forced token accuracy), as MLPerf's 'faster'."""
    ok = rows[rows["ok"]]
    ttt = pd.to_numeric(ok["time_to_target_s"], errors="coerce").groupby(ok["model"]).median()
    target = ok["target_value"].dropna().unique()
    if ttt.get("transformer") is not None and ttt.get(other) is not None:
        if pd.notna(ttt["transformer"]) and pd.notna(ttt[other]):
            return (
                f"time to target transformer/{other} {ttt['transformer'] / ttt[other]:.2f}× "
                f"(medians {ttt['transformer']:.0f} s vs {ttt[other]:.0f} s)"
            )
    what = f" {target[0]}" if len(target) else ""
    return f"time to quality: the shared target{what} was not reached by both models"


def _speed_verdict(df: pd.DataFrame, threshold: float) -> Verdict:
    lstm = translate_speed(df, "lstm")
    if "why" in lstm:
        return inconclusive(lstm["why"], threshold=threshold)
    interval = lstm["interval"]
    numbers = (
        f"Transformer/LSTM training target tokens/s {lstm['estimate']:.2f}× "
        f"[{interval[0]:.2f}, {interval[1]:.2f}] ({lstm['text']}); {lstm['ttq']}"
    )
    conv = translate_speed(df, "convs2s")
    if "interval" in conv:
        ci = conv["interval"]
        numbers += f"; Transformer/ConvS2S {conv['estimate']:.2f}× [{ci[0]:.2f}, {ci[1]:.2f}]"
    ratio = lstm["ratio"]
    what = "paired" if ratio.paired else "unpaired"
    v = against(interval, threshold, numbers, f"Transformer/LSTM tokens/s ratio ({what})")
    unit = "pairs of runs" if ratio.paired else "runs per model"
    n = ratio.pairs if ratio.paired else min(ratio.runs)
    design = {"n": n, "df": ratio.df, "unit": unit, "log": True, "confidence": 0.95}
    return replace(v, details={"design": design})


def check_parallel_speed(df: pd.DataFrame) -> Verdict:
    """The Transformer trains faster than the LSTM at all: ratio interval above 1."""
    return _speed_verdict(df, 1.0)


def check_parallel_10x(df: pd.DataFrame) -> Verdict:
    """The seed article's number: more than 10× faster (ratio interval above 10)."""
    return _speed_verdict(df, TEN_X)
