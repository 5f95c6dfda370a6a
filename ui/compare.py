"""``attnbench compare`` on the terminal: changed verdicts first, then the settings."""

from __future__ import annotations

from pathlib import Path

from rich.console import Console
from rich.markup import escape
from rich.table import Table

from reports.compare import Comparison


def print_comparison(console: Console, c: Comparison, run: Path, ref: Path) -> None:
    """Changed verdicts, settings only one run has, then every shared setting's difference;
    one closing line says whether anything changed."""
    console.rule(f"{run} against {ref}")
    if len(c.changed):
        console.print("[bold]verdicts that changed[/] (ref → run):")
        for r in c.changed.to_dict("records"):
            console.print(
                f"  {escape(r['claim'])}: {r['ref']} {r['ref interval']} → {r['run']} "
                f"{r['run interval']}",
                soft_wrap=True,
            )
    for name, only in (("run", c.only_run), ("ref", c.only_ref)):
        if only:
            console.print(f"[bold]only in {name}[/] ({len(only)}): " + "; ".join(only))
    if len(c.settings):
        table = Table("setting", "metric", "run", "ref", "run − ref", "95% interval")
        for r in c.settings.to_dict("records"):
            table.add_row(
                escape(r["setting"]), r["metric"], r["run"], r["ref"],
                f"{r['run − ref']:+.3g}", r["95% interval (Welch)"],
            )  # fmt: skip
        console.print(table)
    console.print(
        "no change: the same verdicts and settings"
        if c.unchanged
        else f"{len(c.changed)} verdict(s) changed, {len(c.only_run)} setting(s) only in run, "
        f"{len(c.only_ref)} only in ref"
    )
