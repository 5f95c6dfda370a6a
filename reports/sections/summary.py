"""The Summary section: claim verdicts with their numbers and rules, then the environment
(device, threads, versions, code, dates) the rows were produced in."""

from __future__ import annotations

import pandas as pd

from reports.claims import VERDICT_COLUMNS
from reports.document import Bullets, Figure, Paragraph, Section, Table
from reports.records import records
from reports.render.verdicts import verdict_figure

LIBRARIES = ("python", "torch", "lightning", "wandb", "sacrebleu", "pandas", "attnbench")


def summary_section(df: pd.DataFrame, claims: pd.DataFrame) -> Section:
    """Claim verdicts (``claims_table``), how each claim is judged, and the environment."""
    return Section("Summary").add(
        Paragraph(
            "Claim verdicts, computed from this run directory only (`attnbench claims`). "
            "PASS or FAIL only when the judged effect's 95% interval clears its threshold on "
            "cells every model learned (above chance and shortcut floors) and that are not "
            "saturated; INCONCLUSIVE says why."
        ),
        Figure(
            "verdicts",
            verdict_figure(claims),
            "Each claim's (and comparison's) 95% interval against its threshold, coloured by "
            "verdict (green PASS, red FAIL, grey INCONCLUSIVE); ratio claims on a log axis.",
        ),
        Table(claims[list(VERDICT_COLUMNS)], name="claims"),
        Paragraph("Each verdict in full, and the measurements behind it:"),
        Bullets(
            [
                f"**{r['claim']}** ({r['verdict']}): {r['reason']}. *Numbers:* {r['numbers']}"
                for r in records(claims)
            ]
        ),
        Paragraph("How each claim is judged:"),
        Bullets(
            [
                f"**{r['claim']}**: {r['predicate']}. *Source:* {r['source']}. *Minimum "
                f"evidence:* {r['min evidence']}. *Caveat:* {r['caveat']}."
                for r in records(claims)
                if " vs " not in r["claim"]
            ]
        ),
        Paragraph("Environment:"),
        Table(environment_table(df), name="environment"),
    )


def _values(s: pd.Series) -> str:
    """Distinct values with their row counts when there are several (mixed runs stand out)."""
    vc = s.dropna().map(_text).value_counts()
    if vc.empty:
        return "not recorded"
    if len(vc) == 1:
        return str(vc.index[0])
    return "MIXED: " + ", ".join(f"{v} ({n} rows)" for v, n in vc.items())


def _text(v: object) -> str:
    return str(int(v)) if isinstance(v, float) and v.is_integer() else str(v)


def environment_table(df: pd.DataFrame) -> pd.DataFrame:
    """One line per property; several distinct values are all listed, marked MIXED."""
    versions = df["versions"].map(lambda v: v if isinstance(v, dict) else {})
    sha = df["git_sha"].fillna("unknown").astype(str).str[:12] + df["git_dirty"].map(
        lambda d: " (dirty)" if d is True else ""
    )
    started = pd.to_datetime(df["started_utc"], errors="coerce", utc=True)
    ended = pd.to_datetime(df["ended_utc"], errors="coerce", utc=True)
    dates = "not recorded"
    if started.notna().any() or ended.notna().any():
        first = started.min() if started.notna().any() else ended.min()
        last = ended.max() if ended.notna().any() else started.max()
        dates = f"{first:%Y-%m-%d %H:%M} – {last:%Y-%m-%d %H:%M} UTC"
    items = [
        ("rows (latest attempt per cell)", str(len(df))),
        ("matrix", _values(df["matrix"])),
        ("device", _values(df["device"])),
        ("device name", _values(df["device_name"])),
        ("threads", _values(df["threads"])),
        ("mode", _values(df["mode"])),
        *[(lib, _values(versions.map(lambda v, k=lib: v.get(k)))) for lib in LIBRARIES],
        ("git sha", _values(sha)),
        ("benchmark version", _values(df["bench_version"])),
        ("dates", dates),
    ]
    return pd.DataFrame(items, columns=["property", "value"])
