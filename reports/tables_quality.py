"""Long-range, training and translation tables: medians and spreads over seeds, ok/total in each."""

from __future__ import annotations

import pandas as pd

from reports.claims.quality import seed_stats
from reports.numbers import count, fmt, spread
from reports.rows import counts, long_range, order_by_model, primary_metric, sort_models

FAILURE_KINDS = ("nan", "oom", "timeout", "exception", "killed")


def long_range_table(df: pd.DataFrame) -> pd.DataFrame:
    """Accuracy (task metric) per task x model x distance: median [min–max] over ok seeds."""
    rows = long_range(df)
    if rows.empty:
        return pd.DataFrame()
    stats = seed_stats(rows, ["task", "model", "distance"])
    out = counts(rows, ["task", "model", "distance"])
    out["metric"] = out["task"].map(primary_metric)
    out["accuracy [min–max]"] = [
        spread(m, a, b) for m, a, b in zip(stats["median"], stats["min"], stats["max"], strict=True)
    ]
    out["distance"] = out["distance"].astype(int)
    cols = ["task", "model", "distance", "ok/total", "metric", "accuracy [min–max]"]
    return order_by_model(out, ["task", "distance"])[[*cols, "failures", "valid"]]


def time_to_target_table(df: pd.DataFrame) -> pd.DataFrame:
    """Per task x model: how many ok runs reached the target, median steps and seconds to it."""
    if df.empty:
        return pd.DataFrame()
    out = counts(df, ["task", "model"])
    ok = df[df["ok"]]
    agg = ok.groupby(["task", "model"]).agg(
        reached=("steps_to_target", lambda s: int(s.notna().sum())),
        n=("ok", "size"),
        steps=("steps_to_target", "median"),
        secs=("time_to_target_s", "median"),
        target=("target_value", "first"),
        loss=("final_loss", "median"),
    )
    out = out.join(agg, on=["task", "model"])
    out["reached target"] = [
        f"{int(r)}/{int(n)}" if n == n else "0/0"
        for r, n in zip(out["reached"], out["n"], strict=True)
    ]
    out["target"] = out["target"].map(
        lambda x: f"train token acc ≥ {fmt(x)}" if x == x and x is not None else "-"
    )
    out["steps to target"] = out["steps"].map(fmt)
    out["s to target"] = out["secs"].map(fmt)
    out["final loss"] = out["loss"].map(fmt)
    cols = ["task", "model", "ok/total", "target", "reached target", "steps to target"]
    return order_by_model(out, ["task"])[[*cols, "s to target", "final loss", "failures", "valid"]]


def failures_table(df: pd.DataFrame) -> pd.DataFrame:
    """Per model: runs, ok runs, and failed runs by kind (diverged = nan)."""
    if df.empty:
        return pd.DataFrame()
    kind = df["status"].str.removeprefix("failed:")
    rows = []
    for model in sort_models(df["model"].dropna().unique().tolist()):
        k = kind[df["model"].eq(model)]
        row = {"model": model, "ok/total": f"{int(k.eq('ok').sum())}/{len(k)}"}
        for name in FAILURE_KINDS:
            row["diverged (nan)" if name == "nan" else name] = int(k.eq(name).sum())
        rows.append(row)
    return pd.DataFrame(rows)


def failed_rows_table(df: pd.DataFrame) -> pd.DataFrame:
    """Every failed row: where it was, its status, and the last line of its error."""
    failed = df[~df["ok"]]
    if failed.empty:
        return pd.DataFrame()
    last = failed["error"].map(lambda e: str(e).strip().splitlines()[-1][:160] if e else "-")
    return pd.DataFrame(
        {
            "model": failed["model"],
            "task": failed["task"],
            "seed": failed["seed"],
            "length": failed["length"].map(lambda x: fmt(x, 6)),
            "distance": failed["distance"].map(lambda x: fmt(x, 6)),
            "status": failed["status"],
            "error": failed["error_class"].fillna("-") + ": " + last,
        }
    )


def translation_table(df: pd.DataFrame) -> pd.DataFrame:
    """Per model on translate: BLEU and chrF median [min–max] over ok seeds, sizes, signature."""
    rows = df[df["task"].eq("translate")]
    if rows.empty:
        return pd.DataFrame()
    out = counts(rows, ["model"])
    bleu = seed_stats(rows, ["model"], "bleu")
    chrf = seed_stats(rows, ["model"], "chrf")
    ok = rows[rows["ok"]]
    agg = ok.groupby("model").agg(
        params=("n_params", "median"),
        eq=("equal_params", "first"),
        sig=("sacrebleu_signature", lambda s: " / ".join(sorted(set(s.dropna())))),
        decode=("decode", "first"),
    )
    out = out.join(agg, on="model")
    out["BLEU [min–max]"] = [
        spread(m, a, b) for m, a, b in zip(bleu["median"], bleu["min"], bleu["max"], strict=True)
    ]
    out["chrF [min–max]"] = [
        spread(m, a, b) for m, a, b in zip(chrf["median"], chrf["min"], chrf["max"], strict=True)
    ]
    out["params"] = out["params"].map(count)
    out["equal_params"] = out["eq"].map(
        lambda x: f"{int(x):,}" if x == x and x is not None else "-"
    )
    out["decode"] = out["decode"].fillna("-")
    out["sacrebleu signature"] = out["sig"].fillna("").replace("", "not recorded")
    cols = ["model", "ok/total", "BLEU [min–max]", "chrF [min–max]", "params", "equal_params"]
    return order_by_model(out, [])[[*cols, "decode", "sacrebleu signature", "failures", "valid"]]


def examples_table(df: pd.DataFrame, per_model: int = 3) -> pd.DataFrame:
    """A few example translations per model, from its lowest-seed ok row."""
    rows = df[df["task"].eq("translate") & df["ok"]].sort_values("seed")
    out = []
    for model in sort_models(rows["model"].dropna().unique().tolist()):
        r = rows[rows["model"].eq(model)].iloc[0]
        examples = r["examples"] if isinstance(r["examples"], list) else []
        for ex in examples[:per_model]:
            out.append(
                {
                    "model": model,
                    "seed": r["seed"],
                    "source": ex.get("source", ""),
                    "reference": ex.get("reference", ""),
                    "hypothesis": ex.get("hypothesis", ""),
                }
            )
    return pd.DataFrame(out)
