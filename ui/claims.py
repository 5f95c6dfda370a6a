"""Claims verdicts on the terminal: verdict and reason first, readable in 80 columns."""

from __future__ import annotations

from typing import Any

import pandas as pd
from rich.console import Console
from rich.markup import escape

VERDICT_STYLE = {"PASS": "bold green", "FAIL": "bold red", "INCONCLUSIVE": "yellow"}
TITLE = "claims of 'Attention Is All You Need', judged on these rows"


def _interval(interval: Any, threshold: Any) -> str:
    """``  [lo, hi] vs t`` for a judged interval, empty when there is none."""
    if not isinstance(interval, (list, tuple)) or len(interval) != 2:
        if interval in (None, "", "-"):  # no judged interval (text from claims_table)
            return ""
        return f"  {interval}" + ("" if threshold in (None, "-") else f" vs {threshold}")
    shown = f"  [{interval[0]:.3g}, {interval[1]:.3g}]"
    return shown + (f" vs {threshold:g}" if isinstance(threshold, (int, float)) else "")


def print_claims(console: Console, records: list[dict[str, Any]], numbers: bool = True) -> None:
    """One block per claim: name, verdict and interval on one line, the reason below it (and
    the numbers, unless ``numbers`` is off); lines wrap at words, never into columns."""
    console.rule(TITLE)
    for r in records:
        style = VERDICT_STYLE.get(r["verdict"], "default")
        console.print(
            f"[bold]{escape(r['claim'])}[/]  [{style}]{r['verdict']}[/]"
            f"{_interval(r.get('interval'), r.get('threshold'))}"
        )
        console.print(f"  [italic]why:[/] {escape(str(r['reason']))}")
        if numbers:
            console.print(f"  [dim]numbers:[/] {escape(str(r['numbers']))}")
        console.print()


def print_claims_frame(console: Console, frame: pd.DataFrame) -> None:
    """``reports.claims.claims_table`` rows (as the report renders them) printed as blocks."""
    records = [
        {"claim": r.claim, "verdict": r.verdict, "interval": r.interval,
         "threshold": r.threshold, "reason": r.reason}
        for r in frame.itertuples(index=False)
    ]  # fmt: skip
    print_claims(console, records, numbers=False)
