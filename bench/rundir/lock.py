"""One runner per run directory: an exclusive ``fcntl`` lock on ``DIR/runner.lock``.

The kernel drops the lock when its holder exits, however it exits (SIGKILL included), so a
stale lock file never blocks a resume. The holder writes its pid into the file so a second
runner can say who holds it.
"""

from __future__ import annotations

import fcntl
import os
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path

from bench.rundir.layout import LOCK_FILE


class LockedError(RuntimeError):
    """Another live runner holds the run directory's lock."""

    def __init__(self, path: Path, holder: str) -> None:
        self.path, self.holder = path, holder
        super().__init__(
            f"{path.parent} is in use by another runner (pid {holder}, lock {path}); "
            "wait for it, stop it, or pass --wait to start when it ends"
        )


def holder_pid(path: Path) -> str:
    """The pid written by the lock's holder ('unknown' if it has not written it yet)."""
    try:
        text = Path(path).read_text(encoding="utf-8").split()
    except OSError:
        return "unknown"
    return text[0] if text and text[0].isdigit() else "unknown"


@contextmanager
def run_lock(
    out_dir: Path, wait: bool = False, on_wait: Callable[[str], None] | None = None
) -> Iterator[Path]:
    """Hold the exclusive lock of ``out_dir`` for the block; LockedError if another holds it.

    With ``wait``, block until the holder ends instead (``on_wait(pid)`` is called first).
    """
    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    path = out_dir / LOCK_FILE
    fd = os.open(path, os.O_RDWR | os.O_CREAT, 0o644)
    try:
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            if not wait:
                raise LockedError(path, holder_pid(path)) from None
            if on_wait is not None:
                on_wait(holder_pid(path))
            fcntl.flock(fd, fcntl.LOCK_EX)
        os.ftruncate(fd, 0)
        os.pwrite(fd, f"{os.getpid()}\n".encode(), 0)
        yield path
    finally:
        os.close(fd)  # releases the lock
