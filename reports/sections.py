"""All report sections in order: Summary first (claim verdicts, environment), Counts last."""

from __future__ import annotations

from pathlib import Path

import pandas as pd

from reports.claims import claims_table
from reports.document import Paragraph, Section, Table
from reports.environment import environment_table
from reports.sections_perf import memory_section, sizes_section, speed_section
from reports.sections_quality import (
    attention_section,
    long_range_section,
    training_section,
    translation_section,
)
from reports.sections_tuning import tuning_section
from reports.summary import summary_table

COUNT_RULE = (
    "Every table shows ok/total for its cell; failures are listed, never averaged away. A "
    "cell whose seeds failed more than once is marked INVALID."
)


def summary_section(df: pd.DataFrame, claims: pd.DataFrame) -> Section:
    """Claim verdicts (``claims_table``), how each claim is judged, and the environment."""
    return Section("Summary").add(
        Paragraph(
            "Claim verdicts, computed from this run directory only (`attnbench claims`). "
            "PASS or FAIL only when the judged effect's 95% interval clears its threshold on "
            "cells every model learned (above chance and shortcut floors) and that are not "
            "saturated; INCONCLUSIVE says why."
        ),
        Table(claims[["claim", "verdict", "interval", "threshold", "reason"]], name="claims"),
        Paragraph("The measurements behind each verdict:"),
        Table(claims[["claim", "numbers"]], name="claim_numbers"),
        Paragraph("How each claim is judged:"),
        Table(
            claims[["claim", "source", "predicate", "min evidence", "caveat"]], name="claim_rules"
        ),
        Paragraph("Environment:"),
        Table(environment_table(df), name="environment"),
    )


def counts_section(df: pd.DataFrame) -> Section:
    """ok/total, failures and validity per task x model, with medians over ok rows."""
    return Section("Counts").add(
        Paragraph(COUNT_RULE),
        Table(
            summary_table(df),
            "`task metric`: BLEU, answer accuracy or token accuracy.",
            name="counts",
        ),
        Paragraph(time_totals(df)),
    )


def time_totals(df: pd.DataFrame) -> str:
    """Total seconds in the cells (``wall_s``) and spent by the runner around them
    (``overhead_s``: process start, imports, W&B, the row), latest attempts."""
    timed = df[pd.to_numeric(df["overhead_s"], errors="coerce").notna()]
    if timed.empty:
        return "Runner overhead: not recorded (rows older than `overhead_s`)."
    wall, over = (pd.to_numeric(timed[c]).sum() for c in ("wall_s", "overhead_s"))
    return (
        f"Time: {wall:.0f} s in {len(timed)} cells and {over:.0f} s of runner overhead "
        f"around them ({over / len(timed):.1f} s per cell: process start, imports, W&B)."
    )


def build_sections(directory: Path, df: pd.DataFrame) -> tuple[list[Section], pd.DataFrame]:
    """Every section, in report order, and the claim verdicts (as ``claims_table``)."""
    claims = claims_table(df)
    return [
        summary_section(df, claims),
        speed_section(df),
        memory_section(df),
        long_range_section(df),
        training_section(df),
        translation_section(df),
        tuning_section(directory, df),
        attention_section(directory, df),
        sizes_section(df),
        counts_section(df),
    ], claims


def intro(directory: Path, df: pd.DataFrame) -> str:
    """One line under the title: what the report covers."""
    n_ok = int(df["ok"].sum())
    return (
        f"Run directory `{directory}`: {len(df)} cells (latest attempt each), {n_ok} ok, "
        f"{len(df) - n_ok} failed. {COUNT_RULE}"
    )
