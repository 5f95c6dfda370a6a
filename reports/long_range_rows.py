"""Which rows are the Long-range claim's evidence, and which are its controls: the match
shortcut probe (the pair at the source's ends) and copy-memory (position addressing); the
``--long-range`` choice of ``attnbench claims``; the blocks of the report's Long range
section. Used by reports/claims (longrange, quality, scale) and reports/sections/long_range."""

from __future__ import annotations

import pandas as pd

from catalog import LONG_RANGE_TASKS


def _task_config(c: object) -> dict:
    """The ``task`` part of a row's config ({} without one)."""
    return ((c or {}).get("task") or {}) if isinstance(c, dict) else {}


def config_delay(c: object) -> float:
    """Copy-memory delay of a row's config (0 without one)."""
    return float(_task_config(c).get("delay") or 0)


def config_placement(c: object) -> str:
    """Where a match row's pair sits (``inside`` unless the config says ``ends``)."""
    return str(_task_config(c).get("placement") or "inside")


def shortcut_probe(df: pd.DataFrame) -> pd.DataFrame:
    """Rows of the end-state shortcut probe: match with the pair at the source's ends."""
    probe = df["task"].eq("match") & df["config"].map(config_placement).eq("ends")
    return df[df["distance"].notna() & probe]


def copy_memory(df: pd.DataFrame) -> pd.DataFrame:
    """Copy with a delay: a position-addressing task (cross-attention gives every model a
    one-hop path to any source position, so the delay lengthens no path)."""
    delayed = df["task"].eq("copy") & (df["config"].map(config_delay) > 0)
    return df[df["distance"].notna() & delayed]


def long_range(df: pd.DataFrame) -> pd.DataFrame:
    """Rows of the Long-range evidence: a long-range task (match with the pair inside its
    context, dependency, recall). Not the shortcut probe (``shortcut_probe``), not
    copy-memory (``copy_memory``); plain copy rows record a distance (= length) but belong to
    the speed sweeps. A frame from ``count_as_long_range`` names its own rows instead."""
    if CHOSEN_LONG_RANGE in df:
        return df[df["distance"].notna() & df[CHOSEN_LONG_RANGE].eq(True)]
    chosen = df["task"].isin(LONG_RANGE_TASKS) & df["config"].map(config_placement).ne("ends")
    return df[df["distance"].notna() & chosen]


CHOSEN_LONG_RANGE = "counted_as_long_range"  # column: rows a user chose as Long-range evidence
LONG_RANGE_CHOICES = {"default": long_range, "copy-memory": copy_memory}


def count_as_long_range(df: pd.DataFrame, choice: str) -> pd.DataFrame:
    """``df`` whose Long-range evidence is ``choice``'s rows (``attnbench claims
    --long-range copy-memory``): the Long-range machinery (censored steps to target against
    distance, slopes, rungs) on rows the claims do not count by default, to ask what they
    would say. An unknown choice raises ValueError naming the choices."""
    if choice not in LONG_RANGE_CHOICES:
        raise ValueError(
            f"unknown long-range rows {choice!r}; choose one of: {', '.join(LONG_RANGE_CHOICES)}"
        )
    if choice == "default":
        return df
    chosen = LONG_RANGE_CHOICES[choice](df)
    return df.assign(**{CHOSEN_LONG_RANGE: df.index.isin(chosen.index)})


DISTANCE_BLOCKS = (  # (name, title, rows, what they show) of the report's Long range section
    ("long_range", "Long range", long_range, "the Long-range claim's evidence"),
    (
        "shortcut_probe",
        "Shortcut probe: the pair at the source's ends",
        shortcut_probe,
        "a control: the encoder's end states sit next to both members of the pair, so a "
        "bidirectional LSTM should stay accurate at every distance",
    ),
    (
        "position_addressing",
        "Position addressing: copy-memory",
        copy_memory,
        "not Long-range evidence: cross-attention reaches any source position in one hop, "
        "so the delay lengthens no path",
    ),
)
