"""A full disk is a stop, not a crash: turn ENOSPC/EDQUOT into one line a user can act on."""

from __future__ import annotations

import errno
import shutil
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

FULL = (errno.ENOSPC, errno.EDQUOT)
WORKER_DISK_FULL_EXIT = 28  # a cell worker that could not write its row exits with this
_FULL_TEXT = (
    "[Errno 28]",
    "No space left on device",
    "Disk quota exceeded",
    f"worker exited with code {WORKER_DISK_FULL_EXIT} ",
)


class DiskFullError(OSError):
    """A write failed because the disk (or quota) is full; says what and how much is left."""

    def __init__(self, path: Path, free_bytes: int | None) -> None:
        self.path, self.free_bytes = Path(path), free_bytes
        free = "unknown" if free_bytes is None else human_bytes(free_bytes)
        super().__init__(errno.ENOSPC, f"disk full: could not write {path} ({free} free)")


def human_bytes(n: float) -> str:
    for unit in ("B", "KB", "MB", "GB", "TB"):
        if abs(n) < 1024 or unit == "TB":
            return f"{n:.0f} {unit}" if unit == "B" else f"{n:.1f} {unit}"
        n /= 1024
    return f"{n} B"  # unreachable


def free_bytes(path: Path) -> int | None:
    """Free bytes on the file system holding ``path`` (its nearest existing ancestor)."""
    p = Path(path).absolute()
    while not p.exists() and p != p.parent:
        p = p.parent
    try:
        return shutil.disk_usage(p).free
    except OSError:
        return None


def is_full(err: BaseException) -> bool:
    return isinstance(err, OSError) and err.errno in FULL


@contextmanager
def disk_guard(default_path: Path) -> Iterator[None]:
    """Re-raise a disk-full OSError in the block as DiskFullError naming the file."""
    try:
        yield
    except DiskFullError:
        raise
    except OSError as err:
        if not is_full(err):
            raise
        path = Path(err.filename) if err.filename else Path(default_path)
        raise DiskFullError(path, free_bytes(path)) from err


def row_hit_full_disk(row: dict[str, Any]) -> bool:
    """True when a failed row's error is a full disk: the cell was not at fault, so the
    runner writes no row for it and it stays pending for the resume."""
    error = str(row.get("error") or "")
    return row.get("status") != "ok" and any(text in error for text in _FULL_TEXT)
