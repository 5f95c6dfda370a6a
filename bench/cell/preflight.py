"""Checks before anything trains or is written: each cell's data is there and readable (a
missing corpus, a malformed ``tsv:`` file), and its memory estimate fits the device.

``check_cells`` raises ``PreflightError`` naming every problem, so a bad matrix is refused
whole instead of failing cell by cell; with ``force``, cells over the memory budget pass and
the caller gets a note (an OOM then becomes a ``failed:oom`` row).
"""

from __future__ import annotations

from collections.abc import Sequence

from bench.cell.budget import over_budget
from bench.cell.config import ConfigError
from bench.cell.spec import CellSpec
from tasks import data_problem


class PreflightError(ConfigError):
    """A cell cannot run here: its data is missing or unreadable, or it is too large."""


def data_problems(specs: Sequence[CellSpec]) -> str | None:
    """One message naming every task whose data is missing or malformed (None: all fine)."""
    problems = [(s.task, data_problem(s.task, s.task_cfg)) for s in specs]
    missing = dict.fromkeys(p for _, p in problems if p is not None)
    if not missing:
        return None
    fine = sorted({t for t, _ in problems} - {t for t, p in problems if p is not None})
    hint = f" (or run only the other tasks: --only task={','.join(fine)})" if fine else ""
    return "missing or unreadable data: " + "; ".join(missing) + hint


def memory_problems(specs: Sequence[CellSpec], force: bool) -> tuple[str | None, str | None]:
    """(error, note): cells whose memory estimate exceeds the device's. ``force`` turns the
    error into a note."""
    problems = over_budget(list(specs))
    if not problems:
        return None, None
    more = f" (and {len(problems) - 3} more cells)" if len(problems) > 3 else ""
    if force:
        return None, (
            f"--force: running {len(problems)} cells that may not fit; an OOM is recorded as a "
            f"failed:oom row. {problems[0]}{more}"
        )
    return (
        "too large for this device: "
        + "; ".join(problems[:3])
        + more
        + ". Use smaller sizes, or --force to run anyway and record the OOM as data."
    ), None


def check_cells(specs: Sequence[CellSpec], force: bool = False) -> str | None:
    """Refuse (PreflightError) cells that cannot run here; return a note for forced ones."""
    problem = data_problems(specs)
    if problem:
        raise PreflightError(problem)
    error, note = memory_problems(specs, force)
    if error:
        raise PreflightError(error)
    return note
