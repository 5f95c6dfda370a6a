"""What the matrix commands print: validate's cell table with its duration estimate, the
status table, and the per-stage header and progress display of a run."""

from __future__ import annotations

from collections.abc import Callable
from contextlib import AbstractContextManager, contextmanager
from pathlib import Path
from typing import Any

from rich.console import Console
from rich.table import Table

from bench.cell.spec import CellSpec
from bench.matrix.duration import cell_seconds, extension_seconds, human_seconds, shared_seconds
from bench.matrix.load import Matrix, Plan
from bench.matrix.run import CellStatus, Stage
from ui.display import MatrixDisplay, cell_label

STATUS_STYLE = {"ok": "green", "pending": "dim", "waiting": "dim"}


def validate_table(matrix: Matrix, plan: Plan) -> tuple[Table, str]:
    """Every cell with its stage, key, size and estimated time; and the summary lines."""
    cells = plan.sweep + plan.seeds
    table = Table(title=f"matrix {matrix.name}: {len(cells) + len(plan.waiting)} cells")
    for col in ("#", "stage", "cell", "key", "params target", "steps", "est."):
        table.add_column(col)
    est = [cell_seconds(cell) for cell in cells]
    for i, (cell, secs) in enumerate(zip(cells, est, strict=True)):
        stage = "sweep" if cell.sweep is not None else "seed"
        table.add_row(
            str(i), stage, cell_label(cell), cell.key, str(cell.equal_params or "-"),
            str(cell.train.steps), _shown(secs),
        )  # fmt: skip
    for i, wait in enumerate(plan.waiting, len(cells)):
        secs = cell_seconds(wait.stand_in) if wait.stand_in is not None else None
        est.append(secs)
        table.add_row(str(i), "seed", wait.label(), "after the sweep", "", "", _shown(secs))
    lines = []
    if plan.sweep:
        lines.append(
            f"{len(plan.sweep)} sweep cells choose each model's values on dev; "
            f"{len(plan.waiting)} seed cells then run at the chosen values."
        )
    known = [s for s in est if s is not None]
    where = "cuda" if any(c.device == "cuda" for c in cells) else "cpu"
    unknown = len(est) - len(known)
    n_sweep = len(plan.sweep)
    sweep_s = sum(s for s in est[:n_sweep] if s is not None)
    total = shared_seconds(sweep_s, matrix.sweep_jobs, where) + sum(known) - sweep_s
    at_once = (
        f", sweep cells {matrix.sweep_jobs} at a time" if n_sweep and matrix.sweep_jobs > 1 else ""
    )
    lines.append(
        f"estimated duration: {human_seconds(total)} on {where}{at_once} (a rough estimate "
        "from the reference machine's 2 CPU cores, see bench/matrix/duration.py)"
        + (f"; {unknown} cells without an estimate" if unknown else "")
    )
    extra = shared_seconds(extension_seconds(plan.sweep, est[:n_sweep]), matrix.sweep_jobs, where)
    if extra:
        lines.append(
            f"a choice at a grid's edge extends it once for every model: up to "
            f"{human_seconds(extra)} more, {human_seconds(total + extra)} in all "
            "(both ends of every numeric grid of 3+ values)"
        )
    if matrix.description:
        lines.append(matrix.description)
    return table, "\n".join(lines)


def _shown(secs: float | None) -> str:
    return "?" if secs is None else human_seconds(secs)


def status_table(title: str, cells: list[CellStatus]) -> tuple[Table, str]:
    """One line per cell (status, attempts, key) and the counts per status."""
    table = Table(title=title)
    for col in ("cell", "status", "attempts", "key"):
        table.add_column(col)
    counts: dict[str, int] = {}
    for c in cells:
        counts[c.status] = counts.get(c.status, 0) + 1
        style = STATUS_STYLE.get(c.status, "red")
        if isinstance(c.cell, CellSpec):
            label, key = cell_label(c.cell), c.cell.key
        else:  # a seed cell waiting for its sweep
            label, key = c.cell.label(), "after the sweep"
        table.add_row(label, f"[{style}]{c.status}[/]", str(c.attempts), key)
    line = ", ".join(f"{k}: {v}" for k, v in sorted(counts.items()))
    return table, "\n".join(filter(None, [line, time_line(cells)]))


def time_line(cells: list[CellStatus]) -> str:
    """Seconds in the cells (``wall_s``) and around them (``overhead_s``: process start,
    imports, W&B, the row) over the cells with a row; empty when none has one."""
    timed = [c for c in cells if c.overhead_s is not None]
    if not timed:
        return ""
    wall = sum(c.wall_s or 0.0 for c in timed)
    over = sum(c.overhead_s or 0.0 for c in timed)
    return (
        f"time: {wall:.0f} s in {len(timed)} cells, {over:.0f} s overhead "
        f"({over / len(timed):.1f} s per cell)"
    )


def stage_view(
    console: Console, name: str, out: Path
) -> Callable[[Stage], AbstractContextManager[Callable[[str, CellSpec, dict[str, Any]], None]]]:
    """For ``MatrixRun.run``: print each stage's header, then show its progress."""

    @contextmanager
    def view(stage: Stage):  # noqa: ANN202
        done = len(stage.cells) - len(stage.todo)
        console.print(
            f"matrix {name}{stage.label}: {len(stage.cells)} cells, {done} already done, "
            f"{len(stage.todo)} to run -> {out}",
            soft_wrap=True,
        )
        with MatrixDisplay(len(stage.todo), console) as display:
            yield display.event

    return view
