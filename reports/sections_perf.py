"""Report sections on cost: Speed, Memory and Sizes."""

from __future__ import annotations

import pandas as pd

from reports.document import Bullets, Figure, Paragraph, Section, Table
from reports.plots import loglog
from reports.rows import preset_hint
from reports.scaling import crossover_table, scaling_task, series
from reports.tables_perf import (
    equal_params_lines,
    exponents_table,
    failed_lengths,
    memory_table,
    sizes_table,
    speed_table,
)


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


def sizes_section(df: pd.DataFrame) -> Section:
    """Parameters and FLOPs per token per model, and whether comparisons are at equal size."""
    sec = Section("Sizes")
    table = sizes_table(df)
    if table.empty:
        return _no_data(sec, "rows", "quick")
    lines = equal_params_lines(df) or ["a single model per task: nothing to compare"]
    sec.add(
        Table(table, "Medians over ok rows; FLOPs are training FLOPs per target token.", "sizes"),
        Paragraph("Compared at equal parameters?"),
        Bullets(lines),
    )
    return sec
