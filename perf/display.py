"""Print a perf section as a rich table: its rows, whether each goal was met, its notes."""

from __future__ import annotations

from typing import Any

from rich.console import Console
from rich.table import Table

from perf.options import Section


def fmt(value: Any) -> str:
    """Numbers for people: token rates as integers, ratios and shares to 2-3 digits."""
    if value is None:
        return "-"
    if isinstance(value, bool):
        return "yes" if value else "no"
    if isinstance(value, float):
        if value != value:  # NaN
            return "nan"
        if abs(value) >= 1000:
            return f"{value:,.0f}"
        if abs(value) >= 10:
            return f"{value:.1f}"
        return f"{value:.3g}"
    return str(value)


def print_section(console: Console, sec: Section) -> None:
    """The section's table (a "goal met" column where rows carry one) and its notes."""
    has_met = any("met" in row for row in sec.rows)
    table = Table(title=sec.title, title_justify="left")
    for col in sec.columns:
        table.add_column(col, justify="left" if col in ("model", "task", "mode") else "right")
    if has_met:
        table.add_column("goal met")
    for row in sec.rows:
        if "skipped" in row or "error" in row:
            first = fmt(row.get(sec.columns[0]))
            reason = row.get("skipped") or row.get("error")
            cells = [first, f"[yellow]skipped: {reason}[/]"] + [""] * (len(sec.columns) - 2)
            table.add_row(*cells[: len(sec.columns)], *([""] if has_met else []))
            continue
        cells = [fmt(row.get(col)) for col in sec.columns]
        if has_met:
            met = row.get("met")
            cells.append("" if met is None else ("[green]yes[/]" if met else "[red]no[/]"))
        table.add_row(*cells)
    console.print(table)
    if sec.goal:
        console.print(f"goal: {sec.goal}")
    for note in sec.notes:
        console.print(f"[dim]{note}[/]", soft_wrap=True)
    console.print()


def section_markdown(sec: dict[str, Any]) -> list[str]:
    """A section (as in the JSON) as Markdown lines: title, goal, table, notes."""
    cols = sec["columns"]
    has_met = any("met" in row for row in sec["rows"])
    lines = [f"**{sec['title']}** (goal: {sec['goal']})", ""]
    lines.append("| " + " | ".join(cols + (["goal met"] if has_met else [])) + " |")
    lines.append("|" + "---|" * (len(cols) + has_met))
    for row in sec["rows"]:
        if "skipped" in row or "error" in row:
            reason = row.get("skipped") or row.get("error")
            cells = [fmt(row.get(cols[0])), f"skipped: {reason}"] + [""] * (len(cols) - 2)
            lines.append("| " + " | ".join(cells[: len(cols)] + ([""] if has_met else [])) + " |")
            continue
        cells = [fmt(row.get(c)) for c in cols]
        if has_met:
            cells.append(fmt(row.get("met")))
        lines.append("| " + " | ".join(cells) + " |")
    lines += [""] + [f"- {note}" for note in sec["notes"]]
    return lines
