"""Results rows: append-only JSON lines (flush + fsync), read back, and the environment stamped
on each row. Imports neither torch nor Lightning: reports read rows through it."""

from __future__ import annotations

import hashlib
import json
import os
import platform
import subprocess
import warnings
from functools import cache
from importlib import metadata
from pathlib import Path
from typing import Any

RESULTS_FILE = "results.jsonl"  # DIR/results.jsonl: one row per cell attempt
EVAL_FILE = "eval.jsonl"  # DIR/cells/<key>/eval.jsonl: per-example outcomes of the test split
ROOT = Path(__file__).resolve().parent.parent
CODE_DIRS = ("bench", "models", "tasks")  # the code that produces results
STATUSES = ("ok", "failed:exception", "failed:oom", "failed:nan", "failed:timeout", "failed:killed")
"""Every status a row can end with; each is terminal (the cell is not run again on resume)."""


def append_row(path: Path, row: dict[str, Any]) -> None:
    """Append one row as a whole line, flushed and fsynced, so a crash loses no earlier row."""
    path.parent.mkdir(parents=True, exist_ok=True)
    line = json.dumps(row, sort_keys=True, default=str) + "\n"
    with open(path, "a+b") as f:
        f.seek(0, os.SEEK_END)
        size = f.tell()
        try:
            if size > 0:  # a crash mid-write leaves a line without its newline: end it
                f.seek(-1, os.SEEK_END)
                if f.read(1) != b"\n":
                    write_bytes(f, b"\n")
            write_bytes(f, line.encode("utf-8"))
            f.flush()
            os.fsync(f.fileno())
        except OSError as err:  # e.g. a full disk: leave no partial row behind
            f.truncate(size)
            err.filename = err.filename or str(path)
            raise


def write_bytes(f: Any, data: bytes) -> None:
    """The one write of ``append_row`` (a hook: tests make it fail like a full disk)."""
    f.write(data)


def read_rows(path: Path) -> list[dict[str, Any]]:
    """All complete rows (none when ``path`` is absent); a truncated or corrupt line, or one
    that is not a JSON object, is skipped with a warning."""
    rows: list[dict[str, Any]] = []
    if not path.exists():
        return rows
    with open(path, encoding="utf-8") as f:
        for n, line in enumerate(f, 1):
            if not line.strip():
                continue
            try:
                row = json.loads(line)
            except json.JSONDecodeError:
                row = None
            if isinstance(row, dict):
                rows.append(row)
            else:
                warnings.warn(f"{path}:{n}: skipping a truncated or corrupt row", stacklevel=2)
    return rows


def cell_key(spec: dict[str, Any]) -> str:
    """Stable key of a cell: hash of its canonical config and the benchmark version."""
    canon = json.dumps(spec, sort_keys=True, default=str)
    return hashlib.sha256(f"{canon}|{bench_version()}".encode()).hexdigest()[:16]


@cache
def bench_version() -> str:
    """Hash of the code that produces results (bench/, models/, tasks/ sources)."""
    h = hashlib.sha256()
    for d in CODE_DIRS:
        for p in sorted((ROOT / d).rglob("*.py")):
            h.update(str(p.relative_to(ROOT)).encode())
            h.update(p.read_bytes())
    return h.hexdigest()[:12]


@cache
def git_state() -> dict[str, Any]:
    """Commit sha and whether tracked files differ from it (None outside a git checkout)."""

    def git(*args: str) -> str | None:
        try:
            out = subprocess.run(
                ["git", *args], cwd=ROOT, capture_output=True, text=True, timeout=10
            )
        except (OSError, subprocess.TimeoutExpired):
            return None
        return out.stdout.strip() if out.returncode == 0 else None

    sha = git("rev-parse", "HEAD")
    dirty = git("status", "--porcelain", "--untracked-files=no")
    return {"git_sha": sha, "git_dirty": None if dirty is None else bool(dirty)}


@cache
def versions() -> dict[str, str]:
    out = {"python": platform.python_version()}
    for pkg in ("torch", "lightning", "wandb", "sacrebleu", "pandas", "attnbench"):
        try:
            out[pkg] = metadata.version(pkg)
        except metadata.PackageNotFoundError:
            out[pkg] = "absent"
    return out
