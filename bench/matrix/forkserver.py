"""Cell workers forked from a pre-imported parent: one process per cell, without the imports.

A fresh ``python -m bench.cell.worker`` spends seconds importing torch, Lightning, W&B and
the project before its cell starts. Python's multiprocessing 'forkserver' imports them once
per matrix (``PRELOAD``), in a process started from scratch (no threads, nothing of the
runner's), and forks each cell's worker from it. The worker is still a process of its own:
its own session and process group (the runner's timeout and Ctrl-C end it with
``killpg``), its own log, the runner's environment and working directory of the moment,
and it dies with the fork server, which dies with the runner. Its exit status reaches the
runner as a fresh worker's would (a negative signal number when killed).

Nothing initialises CUDA before the fork (importing torch and Lightning does not; a test
checks it). Cells that start more processes themselves (DDP: more than one device or node)
run as a fresh ``python -m bench.cell.worker``, the command Lightning re-runs per rank.
"""

from __future__ import annotations

import ctypes
import mmap
import multiprocessing
import os
import subprocess
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from multiprocessing.context import ForkServerContext
from pathlib import Path

from bench.cell.spec import CellSpec

PRELOAD = ["torch", "lightning.pytorch", "bench.cell.execute", "bench.cell.worker"]
"""What the fork server imports before forking a cell (an ImportError is skipped)."""
PRELOAD_WANDB = ["wandb", "wandb.sdk.launch"]
"""Imported too unless the matrix runs with W&B disabled (``wandb.init`` imports
``wandb.sdk.launch`` on first use: measured 2 s of a cell's start on 2 busy cores)."""

_context: ForkServerContext | None = None


def forkable(cell: CellSpec) -> bool:
    """Whether ``cell`` can run in a forked worker: one process (no DDP ranks to launch)."""
    return cell.trainer.devices == 1 and cell.trainer.num_nodes == 1


def context(wandb: str) -> ForkServerContext:
    """The fork server's context (its preload set by the first call: one server per runner)."""
    global _context
    if _context is None:
        ctx = multiprocessing.get_context("forkserver")
        ctx.set_forkserver_preload(PRELOAD + (PRELOAD_WANDB if wandb != "disabled" else []))
        _context = ctx
    return _context


class ForkedWorker:
    """A cell's worker forked by the fork server, with the parts of ``subprocess.Popen``
    the runner uses: ``pid``, ``poll``, ``wait`` and ``returncode``."""

    def __init__(self, job: Path, log: Path, env: dict[str, str], wandb: str) -> None:
        self.process = context(wandb).Process(
            target=_worker_main, args=(str(job), str(log), env, os.getcwd()), name="cell-worker"
        )
        with _main_not_rerun():
            self.process.start()

    @property
    def pid(self) -> int:
        return self.process.pid  # type: ignore[return-value]

    @property
    def returncode(self) -> int | None:
        return self.process.exitcode

    def poll(self) -> int | None:
        return self.process.exitcode

    def wait(self, timeout: float | None = None) -> int:
        self.process.join(timeout)
        if self.process.exitcode is None:
            raise subprocess.TimeoutExpired("forked cell worker", timeout or 0.0)
        return self.process.exitcode


@contextmanager
def _main_not_rerun() -> Iterator[None]:
    """Start a worker without re-running the parent's main script in it.

    multiprocessing's forkserver prepares each child like ``spawn``: a main module run by
    path (``python my_script.py``) is imported again in the child, and a script that calls
    ``MatrixRun(...).run()`` without an ``if __name__ == "__main__":`` guard would start a
    matrix inside every cell's worker (each then dies without a row or a log line). The
    worker's target lives in this module and needs nothing from ``__main__``, so the path is
    hidden while the process starts; a main run with ``-m`` is imported by name, as before.
    """
    main = sys.modules.get("__main__")
    path = getattr(main, "__file__", None)
    if main is None or path is None or getattr(main.__spec__, "name", None) is not None:
        yield
        return
    del main.__file__
    try:
        yield
    finally:
        main.__file__ = path


def _worker_main(job: str, log: str, env: dict[str, str], cwd: str) -> None:
    """In the forked process: become what ``python -m bench.cell.worker JOB`` would be
    (own session, output to the log, the runner's environment and directory), then run."""
    os.setsid()
    fd = os.open(log, os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o644)
    os.dup2(fd, 1)
    os.dup2(fd, 2)
    os.close(fd)
    for stream in (sys.stdout, sys.stderr):
        stream.reconfigure(write_through=True)  # type: ignore[union-attr]
    refault_parent_pages(os.getppid())
    os.chdir(cwd)
    os.environ.clear()
    os.environ.update(env)
    import torch

    if env.get("OMP_NUM_THREADS"):  # read by the fork server's torch at import, not here
        torch.set_num_threads(int(env["OMP_NUM_THREADS"]))
    from bench.cell import worker

    sys.argv = [worker.__file__, job]
    sys.exit(worker.main(job, parent_pid=os.getppid()))


def refault_parent_pages(parent: int) -> int:
    """Map into this process's page tables the pages of files (the libraries' code and data)
    that ``parent`` has mapped; return how many.

    Linux's fork copies the page-table entries of anonymous memory but not of file mappings,
    which fill in on first touch. A forked worker's RSS would start below a fresh worker's
    after the same imports, and training would count the libraries' pages the imports had
    already touched as the cell's memory (measured: +33 MB on a tiny LSTM's CPU peak). Read
    from ``/proc/PID/pagemap`` (bit 63: present), one byte per page the parent has, so
    ``peak_mem_mb`` starts from the baseline a fresh worker has. Best effort: a /proc that
    cannot be read leaves the pages as they are.
    """
    import numpy as np

    page = mmap.PAGESIZE
    touched = 0
    try:
        maps = Path(f"/proc/{parent}/maps").read_text().splitlines()
        pagemap = open(f"/proc/{parent}/pagemap", "rb")  # noqa: SIM115
    except OSError:
        return 0
    with pagemap:
        for line in maps:
            fields = line.split(maxsplit=5)
            if len(fields) < 6 or fields[4] == "0" or "r" not in fields[1]:
                continue  # anonymous (copied by fork) or unreadable
            path = fields[5]
            if not path.startswith("/") or path.startswith("/dev/") or path.endswith("(deleted)"):
                continue  # devices (a GPU's, shared memory) are not to be touched
            start, end = (int(x, 16) for x in fields[0].split("-"))
            try:
                pagemap.seek(start // page * 8)
                entries = np.frombuffer(pagemap.read((end - start) // page * 8), dtype=np.uint64)
            except (OSError, ValueError):
                continue
            present = np.flatnonzero(entries >> np.uint64(63))
            if present.size:
                memory = np.ctypeslib.as_array((ctypes.c_uint8 * (end - start)).from_address(start))
                int(memory[present * page].sum())  # one read per page: the kernel maps it
                touched += int(present.size)
    return touched
