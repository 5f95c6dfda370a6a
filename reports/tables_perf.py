"""Speed, memory and size tables: one row per model x length (or model x task), ok/total in each."""

from __future__ import annotations

import pandas as pd

from reports.fit import PowerFit
from reports.numbers import count_spread, fmt, spread
from reports.rows import counts, order_by_model
from reports.scaling import series

FAILED_MARK = ("failed:oom", "failed:timeout", "failed:killed")


def _length_rows(df: pd.DataFrame) -> pd.DataFrame:
    return df[df["length"].notna() & df["task"].notna()]


def speed_table(df: pd.DataFrame) -> pd.DataFrame:
    """Training tokens/s (median [q1–q3] over ok seeds), step time, decode latency per length."""
    rows = _length_rows(df)
    if rows.empty:
        return pd.DataFrame()
    out = counts(rows, ["task", "model", "length"])
    ok = rows[rows["ok"]]
    med = ok.groupby(["task", "model", "length"]).agg(
        tok=("train_tgt_tokens_per_s", "median"),
        q1=("train_tgt_tokens_per_s_q1", "median"),
        q3=("train_tgt_tokens_per_s_q3", "median"),
        step=("train_step_s", "median"),
        lat=("infer_batch_latency_ms", "median"),
        noisy=("train_speed_noisy", lambda s: bool(s.fillna(False).astype(bool).any())),
    )
    out = out.join(med, on=["task", "model", "length"])
    out["train tgt tok/s [q1–q3]"] = [
        spread(m, a, b, 4) for m, a, b in zip(out["tok"], out["q1"], out["q3"], strict=True)
    ]
    out["step s"] = out["step"].map(lambda x: fmt(x, 3))
    out["decode latency ms"] = out["lat"].map(lambda x: fmt(x, 3))
    out["noisy"] = out["noisy"].map(lambda x: "yes" if x is True else "")
    out["length"] = out["length"].astype(int)
    cols = ["task", "model", "length", "ok/total", "train tgt tok/s [q1–q3]", "step s"]
    cols += ["decode latency ms", "noisy", "failures", "valid"]
    return order_by_model(out, ["task", "length"])[cols]


def memory_table(df: pd.DataFrame) -> pd.DataFrame:
    """Peak memory (median over ok seeds) per model x length, with OOM/timeout cells marked."""
    rows = _length_rows(df)
    if rows.empty:
        return pd.DataFrame()
    out = counts(rows, ["task", "model", "length"])
    ok = rows[rows["ok"]]
    med = ok.groupby(["task", "model", "length"]).agg(
        mem=("peak_mem_mb", "median"), kind=("peak_mem_kind", "first")
    )
    out = out.join(med, on=["task", "model", "length"])
    out["peak mem MB"] = out["mem"].map(lambda x: fmt(x, 4))
    out["kind"] = out["kind"].fillna("-")
    out["length"] = out["length"].astype(int)
    cols = ["task", "model", "length", "ok/total", "peak mem MB", "kind", "failures", "valid"]
    return order_by_model(out, ["task", "length"])[cols]


def _fit_cell(fit: PowerFit | None) -> str:
    if fit is None:
        return "-"
    return f"{fit.exponent:.2f} (R² {fit.r2:.3f}, {fit.n_points} pts)"


def exponents_table(df: pd.DataFrame, metrics: dict[str, str]) -> pd.DataFrame:
    """Fitted exponent of each metric against length, over all lengths and over n >= 2d."""
    table: dict[str, dict] = {}
    for label, metric in metrics.items():
        for model, s in series(df, metric).items():
            total = _length_rows(df)
            total = total[total["model"].eq(model) & total["task"].eq(s.task)]
            row = table.setdefault(
                model,
                {
                    "model": model,
                    "task": s.task,
                    "width d": fmt(s.width, 4),
                    "ok/total": f"{int(s.points['n_ok'].sum())}/{len(total)}",
                },
            )
            row[f"{label} exponent"] = _fit_cell(s.fit())
            row[f"{label} exponent, n ≥ 2d"] = _fit_cell(s.fit_long())
    return pd.DataFrame(list(table.values()))


def failed_lengths(df: pd.DataFrame, task: str | None) -> dict[str, list[float]]:
    """Per model, the lengths whose cells ended in OOM, timeout or a killed worker."""
    rows = _length_rows(df)
    rows = rows[rows["status"].isin(FAILED_MARK) & rows["task"].eq(task)]
    return {m: sorted(g["length"].unique().tolist()) for m, g in rows.groupby("model")}


def sizes_table(df: pd.DataFrame) -> pd.DataFrame:
    """Parameters, width and FLOPs per target token per task x model (medians over ok rows)."""
    if df.empty:
        return pd.DataFrame()
    out = counts(df, ["task", "model"])
    ok = df[df["ok"]]
    agg = ok.groupby(["task", "model"]).agg(
        p=("n_params", "median"),
        p_lo=("n_params", "min"),
        p_hi=("n_params", "max"),
        w=("width", "median"),
        fa=("flops_per_token_analytic", "median"),
        fc=("flops_per_token_counted", "median"),
        eq=("equal_params", lambda s: ", ".join(sorted({f"{int(v):,}" for v in s.dropna()}))),
    )
    out = out.join(agg, on=["task", "model"])
    out["params"] = [
        count_spread(m, a, b) for m, a, b in zip(out["p"], out["p_lo"], out["p_hi"], strict=True)
    ]
    out["width"] = out["w"].map(lambda x: fmt(x, 4))
    out["FLOPs/tok analytic"] = out["fa"].map(lambda x: fmt(x, 3))
    out["FLOPs/tok counted"] = out["fc"].map(lambda x: fmt(x, 3))
    out["equal_params target"] = out["eq"].fillna("").replace("", "-")
    cols = ["task", "model", "ok/total", "params", "width", "FLOPs/tok analytic"]
    cols += ["FLOPs/tok counted", "equal_params target"]
    return order_by_model(out, ["task"])[cols]


def equal_params_lines(df: pd.DataFrame) -> list[str]:
    """Per task: whether its models were compared at equal parameters, and how far apart."""
    lines = []
    for task, g in df[df["ok"]].groupby("task", sort=True):
        sizes = pd.to_numeric(g["n_params"], errors="coerce").groupby(g["model"]).median().dropna()
        targets = g["equal_params"].dropna().unique()
        if len(sizes) < 2:
            continue
        ratio = sizes.max() / sizes.min()
        if len(targets) == 1 and g["equal_params"].notna().all():
            verdict = f"yes: every model sized to {int(targets[0]):,} parameters (±10%)"
        elif ratio <= 1.1:
            verdict = "about equal: parameter counts within 10% (no equal_params target)"
        else:
            verdict = f"no: parameter counts differ by up to {ratio:.2f}×"
        lines.append(f"`{task}`: {verdict}")
    return lines
