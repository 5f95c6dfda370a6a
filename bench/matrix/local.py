"""Run a matrix: one subprocess per cell with a timeout, resume, retry, failure isolation.

Every cell attempt ends with exactly one row in ``OUT/results.jsonl``, written here by the
parent (the worker hands its row over in a file). A cell whose worker dies or times out
gets a ``failed:killed`` / ``failed:timeout`` row built from its spec. Ctrl-C or SIGTERM
ends the running worker's process group, writes no partial row, and the matrix can be
resumed by running the same command again.
"""

from __future__ import annotations

import concurrent.futures as futures_lib
import json
import os
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from bench.cell.spec import CellSpec, base_row, utc_now
from bench.matrix.forkserver import ForkedWorker, forkable
from bench.rundir.atomic import atomic_write_text
from bench.rundir.diskfull import DiskFullError, disk_guard, free_bytes, row_hit_full_disk
from bench.rundir.layout import JOB_FILE, RESULTS_FILE
from bench.rundir.layout import cell_dir as cell_dir_of
from bench.rundir.rows import append_row, read_rows
from bench.tracking import shared_service

KILL_GRACE_S = 5.0


@dataclass
class RunOptions:
    out_dir: Path
    wandb: str = "offline"
    timeout_s: float = 1800.0
    retry_failed: bool = False
    matrix_name: str | None = None
    jobs: int = 1
    """Cells run at once (``--jobs``): for a GPU that one small model leaves idle. Their
    timings share the device, so rows of ``parallel_cells`` > 1 are not speed evidence."""
    fork_server: bool = True
    """Fork each cell's worker from a parent that has imported torch, Lightning and the
    project (bench/matrix/forkserver.py); off: a fresh ``python -m bench.cell.worker``.
    Rows say which started the cell (``worker``: "forked" or "fresh")."""


@dataclass
class CellState:
    """What the results file says about one cell key."""

    attempts: int = 0
    latest: dict[str, Any] | None = None

    @property
    def status(self) -> str:
        return "pending" if self.latest is None else self.latest["status"]


def cell_states(out_dir: Path) -> dict[str, CellState]:
    """Key -> attempts and latest row, from ``out_dir/results.jsonl``."""
    states: dict[str, CellState] = {}
    for row in read_rows(Path(out_dir) / RESULTS_FILE):
        st = states.setdefault(row["key"], CellState())
        st.attempts = max(st.attempts, int(row.get("attempt", 1)))
        if st.latest is None or int(row.get("attempt", 1)) >= int(st.latest.get("attempt", 1)):
            st.latest = row
    return states


def pending_cells(cells: list[CellSpec], out_dir: Path, retry_failed: bool) -> list[CellSpec]:
    """Cells with no terminal row yet (and failed ones too, with ``retry_failed``)."""
    states = cell_states(out_dir)
    todo = []
    for cell in cells:
        status = states.get(cell.key, CellState()).status
        if status == "pending" or (retry_failed and status != "ok"):
            todo.append(cell)
    return todo


def filter_cells(cells: list[CellSpec], only: list[str], strict: bool = True) -> list[CellSpec]:
    """Keep cells matching every ``field=v1,v2`` filter (fields: model, task, seed).

    ``strict``: a value that matches no cell is an error naming the values present (off for
    one stage of a matrix, which the caller checks as a whole).
    """
    allowed = {"model", "task", "seed"}
    for item in only:
        name, sep, values = item.partition("=")
        if not sep or name not in allowed:
            raise ValueError(
                f"bad --only {item!r}: expected FIELD=VALUE with FIELD one of: "
                + ", ".join(sorted(allowed))
            )
        wanted = set(values.split(","))
        present = {str(getattr(c, name)) for c in cells}
        if strict and wanted - present:
            after = " (after the filters before it)" if only[0] != item else ""
            raise ValueError(
                f"--only {item} matches no cell: {name} {', '.join(sorted(wanted - present))} "
                f"is not in this matrix{after}; {name} values here: "
                + (", ".join(sorted(present, key=_natural)) or "none")
            )
        cells = [c for c in cells if str(getattr(c, name)) in wanted]
    return cells


def _natural(value: str) -> tuple[int, int | str]:
    """Sort key: numbers (seeds) numerically, before names."""
    return (0, int(value)) if value.isdigit() else (1, value)


@dataclass
class Outcome:
    rows: list[dict[str, Any]] = field(default_factory=list)

    @property
    def failed(self) -> int:
        return sum(r["status"] != "ok" for r in self.rows)


def run_cells(
    cells: list[CellSpec],
    opts: RunOptions,
    on_event: Callable[[str, CellSpec, dict[str, Any]], None] | None = None,
) -> Outcome:
    """Run ``cells`` in subprocesses, ``opts.jobs`` at a time; append one row per attempt.

    ``on_event(kind, cell, info)`` reports "start", "progress" ({step, total, loss}) and
    "done" (the row) for a progress display.
    """
    notify = on_event or (lambda kind, cell, info: None)
    states = cell_states(opts.out_dir)
    outcome = Outcome()
    lock = threading.Lock()  # one writer of results.jsonl and the display at a time
    stop = threading.Event()  # Ctrl-C / SIGTERM: every running worker ends, no partial rows

    def run_one(cell: CellSpec) -> None:
        attempt = states.get(cell.key, CellState()).attempts + 1
        with lock:
            notify("start", cell, {"attempt": attempt})
        launched = time.monotonic()
        with disk_guard(opts.out_dir / RESULTS_FILE):
            row = run_in_subprocess(
                cell, attempt, opts, lambda p, c=cell: notify("progress", c, p), stop
            )
            if row_hit_full_disk(row):  # not the cell's fault: no row, it stays pending
                where = cell_dir_of(opts.out_dir, cell.key)
                raise DiskFullError(where, free_bytes(where))
            row["parallel_cells"] = opts.jobs
            with lock:
                set_overhead(row, launched)
                append_row(opts.out_dir / RESULTS_FILE, row)
                outcome.rows.append(row)
                notify("done", cell, row)

    previous = signal.signal(signal.SIGTERM, raise_interrupt)
    try:
        with shared_service(opts.wandb):
            if opts.jobs <= 1:
                for cell in cells:
                    run_one(cell)
            else:
                _run_parallel(cells, run_one, opts.jobs, stop)
    finally:
        signal.signal(signal.SIGTERM, previous)
    return outcome


def _run_parallel(
    cells: list[CellSpec], run_one: Callable[[CellSpec], None], jobs: int, stop: threading.Event
) -> None:
    """``run_one`` over ``cells`` in ``jobs`` threads (each waits on its worker process).
    The first error (or Ctrl-C) stops the others' workers and is raised here."""
    with futures_lib.ThreadPoolExecutor(max_workers=jobs) as pool:
        futures = {pool.submit(run_one, cell) for cell in cells}
        try:
            while futures:
                done, futures = futures_lib.wait(
                    futures, timeout=0.5, return_when=futures_lib.FIRST_COMPLETED
                )
                for fut in done:
                    fut.result()  # a disk-full or runner error stops the matrix
        except BaseException:
            stop.set()
            for fut in futures:
                fut.cancel()
            raise


def set_overhead(row: dict[str, Any], launched: float) -> None:
    """``overhead_s``: seconds from launching the cell (``time.monotonic()``) to its row,
    outside the cell's own ``wall_s`` (process start, imports, W&B, writing the row)."""
    row["overhead_s"] = round(max(time.monotonic() - launched - (row.get("wall_s") or 0.0), 0.0), 3)


def raise_interrupt(signum: int, frame: object) -> None:
    raise KeyboardInterrupt(f"signal {signum}")


def run_in_subprocess(
    cell: CellSpec,
    attempt: int,
    opts: RunOptions,
    on_progress: Callable[[dict[str, Any]], None] | None = None,
    stop: threading.Event | None = None,
) -> dict[str, Any]:
    """Run one cell in a worker process (own process group) and return its row; ``stop``
    set (another thread's Ctrl-C) ends the worker and raises KeyboardInterrupt. The row's
    ``worker`` says how the process started: "forked" by the fork server or "fresh"."""
    cell_dir = cell_dir_of(opts.out_dir, cell.key)
    cell_dir.mkdir(parents=True, exist_ok=True)
    job = cell_dir / JOB_FILE
    row_file = cell_dir / f"row-{attempt}.json"
    progress_file = cell_dir / "progress"
    row_file.unlink(missing_ok=True)
    progress_file.unlink(missing_ok=True)
    atomic_write_text(
        job,
        json.dumps(
            {
                "spec": cell.to_dict(),
                "key": cell.key,
                "attempt": attempt,
                "out_dir": str(opts.out_dir),
                "wandb": opts.wandb,
                "matrix": opts.matrix_name,
                "parent_pid": os.getpid(),
            },
            default=str,
        ),
    )
    log_path = cell_dir / f"attempt-{attempt}.log"
    started = utc_now()
    t0 = time.monotonic()
    env = {**os.environ, **worker_threads(opts.jobs), "PYTHONUNBUFFERED": "1"}
    worker = "forked" if opts.fork_server and forkable(cell) else "fresh"
    with open(log_path, "w", encoding="utf-8") as log:
        proc: subprocess.Popen | ForkedWorker
        if worker == "forked":
            proc = ForkedWorker(job, log_path, env, opts.wandb)
        else:
            proc = subprocess.Popen(
                [sys.executable, "-m", "bench.cell.worker", str(job)],
                stdout=log,
                stderr=subprocess.STDOUT,
                start_new_session=True,
                env=env,
            )
        status = None
        try:
            while proc.poll() is None:
                if stop is not None and stop.is_set():
                    raise KeyboardInterrupt("another cell stopped the matrix")
                if time.monotonic() - t0 > opts.timeout_s:
                    _kill_group(proc)
                    status = "failed:timeout"
                    break
                if on_progress is not None and progress_file.exists():
                    try:
                        on_progress(json.loads(progress_file.read_text()))
                    except (OSError, ValueError):
                        pass
                try:  # back as soon as the worker ends, not at the next quarter second
                    proc.wait(timeout=0.25)
                except subprocess.TimeoutExpired:
                    pass
        except BaseException:  # Ctrl-C / SIGTERM: end the worker, write nothing
            _kill_group(proc)
            raise
    if status is None and row_file.exists():
        return {**json.loads(row_file.read_text(encoding="utf-8")), "worker": worker}
    row = base_row(cell, attempt, opts.matrix_name)
    row["started_utc"] = started
    if status is None:
        status = "failed:killed"
        reason = f"worker exited with code {proc.returncode} without a row"
        if proc.returncode is not None and proc.returncode < 0:
            reason += f" (killed by signal {-proc.returncode}"
            reason += ", e.g. the kernel's out-of-memory killer)" if proc.returncode == -9 else ")"
    else:
        reason = f"cell exceeded its timeout of {opts.timeout_s:g} s"
    tail = log_path.read_text(encoding="utf-8", errors="replace")[-1500:]
    row.update(
        {
            "status": status,
            "error_class": "Timeout" if status == "failed:timeout" else "WorkerDied",
            "error": f"{reason}\n{tail}",
            "wall_s": round(time.monotonic() - t0, 3),
            "ended_utc": utc_now(),
            "worker": worker,
        }
    )
    return row


THREAD_VARS = ("OMP_NUM_THREADS", "MKL_NUM_THREADS")


def worker_threads(jobs: int) -> dict[str, str]:
    """Thread settings for a worker when ``jobs`` cells share this machine's cores.

    Each worker's torch would otherwise use every core: ``jobs`` × cores threads contending
    for the cores, whose per-op barriers stall (measured: an LSTM cell at 2 threads × 2 jobs
    on 2 cores made 80 steps in 14 min, against 200 steps in 35 s alone). The cores are
    split evenly, at least one each; a user's own OMP_NUM_THREADS is left alone.
    """
    if jobs <= 1 or "OMP_NUM_THREADS" in os.environ:
        return {}
    cores = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count()
    return dict.fromkeys(THREAD_VARS, str(max(1, (cores or 1) // jobs)))


def _kill_group(proc: subprocess.Popen | ForkedWorker) -> None:
    """SIGTERM the worker's process group, then SIGKILL what is left after a grace period."""
    for sig, wait in ((signal.SIGTERM, KILL_GRACE_S), (signal.SIGKILL, KILL_GRACE_S)):
        try:
            os.killpg(proc.pid, sig)
        except ProcessLookupError:  # a forked worker not yet in its own group: the process
            try:
                os.kill(proc.pid, sig)
            except (ProcessLookupError, PermissionError):
                return
        except PermissionError:
            return
        try:
            proc.wait(timeout=wait)
            return
        except subprocess.TimeoutExpired:
            continue
