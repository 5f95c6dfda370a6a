"""The report's sections, one module per topic, each with its own tables; this module puts
them in order: Summary first (claim verdicts, environment), Counts last.

A section module builds its ``reports.document.Section`` from the rows (figures drawn by
``reports.render.plots`` and ``reports.render.heatmaps``); sections never import each other.
"""

from __future__ import annotations

from pathlib import Path

import pandas as pd

from reports.claims import claims_table
from reports.claims.measured_scale import length_sweep
from reports.document import Section
from reports.sections.attention_section import attention_section
from reports.sections.counts import COUNT_RULE, counts_section
from reports.sections.long_range import long_range_section
from reports.sections.sizes import sizes_section
from reports.sections.speed_memory import memory_section, speed_section
from reports.sections.summary import summary_section
from reports.sections.training import training_section
from reports.sections.translation import translation_section
from reports.sections.tuning import tuning_section


def build_sections(directory: Path, df: pd.DataFrame) -> tuple[list[Section], pd.DataFrame]:
    """Every section, in report order, and the claim verdicts (as ``claims_table``)."""
    claims = claims_table(df)
    quality = df.drop(index=length_sweep(df).index, errors="ignore")  # not the speed cells
    return [
        summary_section(df, claims),
        speed_section(df),
        memory_section(df),
        long_range_section(df),
        training_section(quality),
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
