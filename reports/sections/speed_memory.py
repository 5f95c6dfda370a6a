"""The Speed and Memory sections: training tokens/s, decode latency and peak memory against
sequence length (log-log figures, fitted exponents, crossovers) and their per-cell tables."""

from __future__ import annotations

from itertools import combinations

import pandas as pd

from reports.document import Figure, Paragraph, Section, Table
from reports.fit import PowerFit, crossovers
from reports.length_series import scaling_task, series
from reports.numbers import fmt, spread
from reports.render.plots import loglog
from reports.rows import group_table, order_by_model, preset_hint

FAILED_MARK = ("failed:oom", "failed:timeout", "failed:killed")


def _no_data(section: Section, what: str, preset: str) -> Section:
    return section.add(Paragraph(f"No {what} in these rows: {preset_hint(preset)}."))


def speed_section(df: pd.DataFrame) -> Section:
    """Training tokens/s and decode latency against length, exponents, crossovers."""
    sec = Section("Speed")
    task = scaling_task(df)
    tok = series(df, "train_tgt_tokens_per_s", task)
    if not tok:
        return _no_data(sec, "training-speed measurements against sequence length", "scaling")
    fits = {m: s.fit() for m, s in tok.items()}
    sec.add(
        Paragraph(
            f"Task `{task}`, ok speed-mode rows on one device; medians over seeds per length. "
            "Exponents are least-squares slopes on log-log axes; for time per sequence the "
            "paper predicts ~2 (self-attention, n ≫ d) and ~1 (recurrence, convolution)."
        ),
        Figure(
            "speed_train",
            loglog(tok, fits, "training target tokens/s", f"{task}: training speed"),
            "Training target tokens/s against sequence length (log-log), fitted power laws dashed.",
        ),
        Table(
            exponents_table(
                df,
                {
                    "tokens/s": "train_tgt_tokens_per_s",
                    "time/seq": "time_per_seq_s",
                    "decode latency": "infer_batch_latency_ms",
                },
            ),
            "Fitted exponents (R², number of lengths); n ≥ 2d restricts to lengths well above "
            "the model width d.",
            name="speed_exponents",
        ),
    )
    lat = series(df, "infer_batch_latency_ms", task)
    if lat:
        lat_fig = loglog(lat, {m: s.fit() for m, s in lat.items()}, "ms per batch", "Decoding")
        sec.add(Figure("speed_infer", lat_fig, "Greedy-decoding batch latency against length."))
    cross = crossover_table(df)
    sec.add(
        Table(cross, "Crossovers in training tokens/s, interpolated on log-log axes.", "crossovers")
        if len(cross)
        else Paragraph("Crossovers need two models measured at two or more shared lengths."),
        Table(speed_table(df), "Per cell; `noisy`: IQR/median of block speeds > 0.10.", "speed"),
    )
    return sec


def memory_section(df: pd.DataFrame) -> Section:
    """Peak memory against length, exponents, OOM/timeout cells marked."""
    sec = Section("Memory")
    task = scaling_task(df)
    mem = series(df, "peak_mem_mb", task)
    if not mem:
        return _no_data(sec, "peak-memory measurements against sequence length", "scaling")
    failed = failed_lengths(df, task)
    fig = loglog(
        mem, {m: s.fit() for m, s in mem.items()}, "peak memory (MB)", f"{task}: memory", failed
    )
    kinds = ", ".join(sorted(df["peak_mem_kind"].dropna().astype(str).unique())) or "not recorded"
    sec.add(
        Paragraph(
            f"Peak memory of each cell ({kinds}); x marks cells that ran out of memory or time."
        ),
        Figure("memory", fig, "Peak memory against sequence length (log-log), fits dashed."),
        Table(
            exponents_table(df, {"peak memory": "peak_mem_mb"}),
            "Fitted memory exponents.",
            "memory_exponents",
        ),
        Table(memory_table(df), "Per cell; failures are listed, not averaged.", "memory"),
    )
    return sec


def _length_rows(df: pd.DataFrame) -> pd.DataFrame:
    return df[df["length"].notna() & df["task"].notna()]


def speed_table(df: pd.DataFrame) -> pd.DataFrame:
    """Training tokens/s (median [q1–q3] over ok seeds), step time, decode latency per length."""
    rows = _length_rows(df)
    if rows.empty:
        return pd.DataFrame()
    out = group_table(
        rows,
        ["task", "model", "length"],
        tok=("train_tgt_tokens_per_s", "median"),
        q1=("train_tgt_tokens_per_s_q1", "median"),
        q3=("train_tgt_tokens_per_s_q3", "median"),
        step=("train_step_s", "median"),
        lat=("infer_batch_latency_ms", "median"),
        noisy=("train_speed_noisy", lambda s: bool(s.fillna(False).astype(bool).any())),
    )
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
    out = group_table(
        rows,
        ["task", "model", "length"],
        mem=("peak_mem_mb", "median"),
        kind=("peak_mem_kind", "first"),
    )
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


def crossover_table(df: pd.DataFrame, metric: str = "train_tgt_tokens_per_s") -> pd.DataFrame:
    """Lengths where one model overtakes another on ``metric`` (higher is better)."""
    ser = series(df, metric)
    task = next(iter(ser.values())).task if ser else None
    in_task = df[df["task"].eq(task) & df["length"].notna()]
    totals = in_task.groupby("model").size()
    rows = []
    for a, b in combinations(ser, 2):
        pa, pb = ser[a].points, ser[b].points
        shared = pa.merge(pb, on="length", suffixes=("_a", "_b")).sort_values("length")
        if len(shared) < 2:
            continue
        found = crossovers(
            shared["length"].tolist(), shared["value_a"].tolist(), shared["value_b"].tolist()
        )
        names = {"a": a, "b": b}
        n_ok = int(shared["n_ok_a"].sum() + shared["n_ok_b"].sum())
        n_total = int(totals.get(a, 0) + totals.get(b, 0))
        for x, below, above in found:
            rows.append(
                {
                    "models": f"{a} vs {b}",
                    "ok/total": f"{n_ok}/{n_total}",
                    "crossover length ≈": round(x, 1),
                    "faster below": names[below],
                    "faster above": names[above],
                }
            )
        if not found:
            lead = a if shared["value_a"].iloc[0] > shared["value_b"].iloc[0] else b
            span = f"{int(shared['length'].min())}–{int(shared['length'].max())}"
            rows.append(
                {
                    "models": f"{a} vs {b}",
                    "ok/total": f"{n_ok}/{n_total}",
                    "crossover length ≈": None,
                    "faster below": f"{lead} at every measured length ({span})",
                    "faster above": "-",
                }
            )
    cols = ["models", "ok/total", "crossover length ≈", "faster below", "faster above"]
    return pd.DataFrame(rows, columns=cols)
