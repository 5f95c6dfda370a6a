"""Rich progress display for a matrix: cells done/failed/left with ETA, and the running cell."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from rich.console import Console, Group
from rich.markup import escape
from rich.progress import (
    BarColumn,
    MofNCompleteColumn,
    Progress,
    TextColumn,
    TimeElapsedColumn,
    TimeRemainingColumn,
)
from rich.table import Table

from bench.cell.spec import CellSpec, setting_label


def cell_label(cell: CellSpec) -> str:
    extra = setting_label(cell.task_cfg)
    stage = ""
    if cell.sweep is not None:
        stage = " (sweep " + _values(cell.sweep["point"]) + ")"
    elif cell.tuned is not None:
        stage = " (tuned " + _values(cell.tuned["chosen"]) + ")"
    return f"{cell.model} {cell.task}{extra} seed {cell.seed}{stage}"


def _values(values: dict[str, Any]) -> str:
    return " ".join(f"{k}={v:g}" if isinstance(v, float) else f"{k}={v}" for k, v in values.items())


class MatrixDisplay:
    """Context manager; pass ``self.event`` as ``on_event`` to ``bench.matrix.local.run_cells``."""

    def __init__(self, total: int, console: Console | None = None) -> None:
        self.console = console or Console()
        self.total = total
        self.done = self.failed = 0
        self.progress = Progress(
            TextColumn("{task.description}"),
            BarColumn(),
            MofNCompleteColumn(),
            TimeElapsedColumn(),
            TimeRemainingColumn(),
            console=self.console,
        )
        self.matrix_bar = self.progress.add_task(self._title(), total=total)
        self.cell_bars: dict[str, Any] = {}  # cell key -> its bar (several with --jobs)

    def _title(self) -> str:
        left = self.total - self.done
        return f"matrix: {self.done} done, {self.failed} failed, {left} left"

    def __enter__(self) -> MatrixDisplay:
        self.progress.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.progress.stop()

    def event(self, kind: str, cell: CellSpec, info: dict[str, Any]) -> None:
        if kind == "start":
            self.cell_bars[cell.key] = self.progress.add_task(
                f"  {cell_label(cell)}", total=cell.train.steps
            )
        elif kind == "progress" and cell.key in self.cell_bars:
            self.progress.update(
                self.cell_bars[cell.key],
                completed=info.get("step", 0),
                description=f"  {cell_label(cell)} loss {info.get('loss', float('nan')):.3f}",
            )
        elif kind == "done":
            self.done += 1
            self.failed += info["status"] != "ok"
            self.progress.update(self.matrix_bar, advance=1, description=self._title())
            bar = self.cell_bars.pop(cell.key, None)
            if bar is not None:
                self.progress.remove_task(bar)
            self.progress.console.print(_done_line(cell, info))


def _done_line(cell: CellSpec, row: dict[str, Any]) -> str:
    if row["status"] != "ok":
        return f"[red]✗[/] {cell_label(cell)}: {row['status']} ({row.get('error_class', '')})"
    parts = [f"[green]✓[/] {cell_label(cell)}"]
    for key, fmt in (
        ("token_acc", "acc {:.3f}"),
        ("bleu", "BLEU {:.1f}"),
        ("train_tgt_tokens_per_s", "{:,.0f} tok/s"),
        ("wall_s", "{:.0f} s"),
    ):
        if row.get(key) is not None:
            parts.append(fmt.format(row[key]))
    return "  ".join(parts)


SUMMARY_FIELDS = (
    ("parameters", "n_params", "{:,}"),
    ("token accuracy", "token_acc", "{:.4f}"),
    ("exact-sequence accuracy", "seq_acc", "{:.4f}"),
    ("final train loss", "final_loss", "{:.4f}"),
    ("dev loss", "dev_loss", "{:.4f}"),
    ("dev token accuracy", "dev_token_acc", "{:.4f}"),
    ("BLEU (test)", "bleu", "{:.2f}"),
    ("dev BLEU", "dev_bleu", "{:.2f}"),
    ("train target tokens/s (median)", "train_tgt_tokens_per_s", "{:,.0f}"),
    ("train step (s, median)", "train_step_s", "{:.4f}"),
    ("greedy decode tokens/s", "infer_tgt_tokens_per_s", "{:,.0f}"),
    ("peak memory (MB)", "peak_mem_mb", "{:,.1f}"),
    ("wall time (s)", "wall_s", "{:.1f}"),
)


def cell_summary(row: dict[str, Any], results: Path) -> Group:
    """What `attnbench run` prints: the row's main numbers, warnings, where it went."""
    table = Table(title=f"{row['model']} on {row['task']} (seed {row['seed']}): {row['status']}")
    table.add_column("metric")
    table.add_column("value", justify="right")
    for label, key, fmt in SUMMARY_FIELDS:
        if row.get(key) is not None:
            table.add_row(label, fmt.format(row[key]))
    parts: list[Any] = [table]
    if row.get("train_speed_noisy"):
        parts.append("[yellow]speed is noisy:[/] IQR/median of block speeds > 0.10")
    if row["status"] != "ok":
        error = escape(str(row.get("error", ""))[-800:])
        parts.append(f"[red]{row.get('error_class')}[/]: {error}")
    parts.append(f"row appended to {results} (key {row['key']})")
    return Group(*parts)
