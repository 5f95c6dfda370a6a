"""Run-directory arguments of the CLI: the directory must hold results.jsonl, and what its
loaders warn about (a truncated row) is printed, not hidden."""

from __future__ import annotations

import warnings
from collections.abc import Callable
from pathlib import Path
from typing import Any

import typer
from rich.console import Console

from bench.rundir.layout import results_path


def results_dir(directory: Path, hint: str = "DIRECTORY") -> Path:
    """``directory``, or a BadParameter when it holds no results.jsonl."""
    if not results_path(directory).is_file():
        raise typer.BadParameter(f"no results.jsonl in {directory}", param_hint=hint)
    return directory


def with_warnings(console: Console, fn: Callable[..., Any], *args: Any) -> Any:
    """``fn(*args)``, printing its warnings; a ValueError (e.g. no complete rows) becomes a
    BadParameter naming it."""
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        try:
            out = fn(*args)
        except ValueError as err:
            raise typer.BadParameter(str(err), param_hint="DIRECTORY") from err
    for w in caught:
        console.print(f"[yellow]warning:[/] {w.message}", soft_wrap=True)
    return out
