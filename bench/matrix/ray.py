"""Fan a matrix out over a Ray cluster: one Ray task per cell, rows written by the driver.

Each Ray task runs its cell exactly as the local launcher does (a worker subprocess with a
timeout) in a scratch directory of its node, and returns the row with every file the cell
wrote (``cells/<key>/``, its W&B offline run), size-capped; the driver writes them into its
run directory, each atomically, before the row, so no shared filesystem is needed and a row
whose files did not arrive is not ``ok``. Only the driver appends to ``results.jsonl``, so resume,
retry and ``matrix status`` work unchanged. Each task asks for the resources its cell
needs (all of a node's CPUs for a CPU cell by default, ``trainer.devices`` GPUs for a
CUDA cell), so timed cells never share a device. A Ray worker that dies yields a
``failed:killed`` row and the matrix goes on. Ray is optional: ``pip install -e '.[ray]'``.
"""

from __future__ import annotations

import os
import shutil
import signal
import tempfile
import time
from collections.abc import Callable
from dataclasses import asdict
from pathlib import Path
from typing import Any

from bench.cell.spec import CellSpec, base_row, utc_now
from bench.matrix.local import (
    CellState,
    Outcome,
    RunOptions,
    cell_states,
    raise_interrupt,
    run_in_subprocess,
    set_overhead,
)
from bench.rundir.atomic import atomic_write_bytes
from bench.rundir.layout import EVAL_FILE, RESULTS_FILE, cell_dir, cell_file, wandb_dir
from bench.rundir.rows import append_row

EVIDENCE_CAP_BYTES = 512 * 2**20
"""The most a cell's files may weigh on their way from a node to the driver."""


def _run_remote(
    spec: dict[str, Any], key: str, attempt: int, opts: dict[str, Any]
) -> tuple[dict, dict[str, bytes] | None]:
    """Body of the Ray task: rebuild the cell, run it in a worker subprocess in a scratch
    directory of this node, and return its row and its files (``evidence``)."""
    launched = time.monotonic()
    from bench.cell.plugins import load_plugins
    from bench.cell.spec import spec_from_dict

    load_plugins()
    cell = spec_from_dict(spec)
    if cell.key != key:
        raise RuntimeError(f"cell key mismatch on the Ray worker: {key} rebuilt as {cell.key}")
    scratch = Path(tempfile.mkdtemp(prefix=f"attnbench-{key}-"))  # never the driver's path
    try:
        # a fresh worker process per cell here: a fork server's children would re-import the
        # Ray worker's own main module (multiprocessing prepares each child from it)
        run_opts = RunOptions(**{**opts, "out_dir": scratch, "fork_server": False})
        row = run_in_subprocess(cell, attempt, run_opts)
        files = evidence(scratch, key, attempt)
    finally:
        shutil.rmtree(scratch, ignore_errors=True)
    set_overhead(row, launched)  # measured on the worker node: the driver's queue is not counted
    return row, files


def evidence(out_dir: Path, key: str, attempt: int) -> dict[str, bytes] | None:
    """Every file a cell attempt wrote under ``cells/<key>/`` and its W&B offline run, by
    path relative to ``out_dir``; None when they weigh more than ``EVIDENCE_CAP_BYTES``."""
    roots = [cell_dir(out_dir, key), *wandb_dir(out_dir).glob(f"offline-run-*-{key}-{attempt}")]
    files: dict[str, bytes] = {}
    size = 0
    for root in roots:
        for path in sorted(root.rglob("*")):
            if path.is_file() and path.name != "progress":
                size += path.stat().st_size
                if size > EVIDENCE_CAP_BYTES:
                    return None
                files[str(path.relative_to(out_dir))] = path.read_bytes()
    return files


def bring_home(out_dir: Path, row: dict[str, Any], files: dict[str, bytes] | None) -> dict:
    """Write a cell's files into the driver's run directory (each atomically) and return its
    row, made ``failed:exception`` when its files did not all arrive."""
    lost = None
    if files is None:
        lost = f"the cell's files weigh more than the {EVIDENCE_CAP_BYTES // 2**20} MiB cap"
    else:
        root = out_dir.resolve()
        for rel, data in files.items():
            target = (root / rel).resolve()
            if not target.is_relative_to(root):
                lost = f"the cell sent a file outside the run directory: {rel}"
                break
            atomic_write_bytes(target, data)
        eval_file = str(cell_file(Path(), row["key"], EVAL_FILE))
        if lost is None and row.get("status") == "ok" and eval_file not in files:
            lost = f"the cell's {EVAL_FILE} did not arrive from its node"
    if lost is None:
        return row
    return {
        **row,
        "status": "failed:exception",
        "error_class": "EvidenceLost",
        "error": f"{lost}; its row cannot be evidence",
    }


def resources(cell: CellSpec, cpus_per_cell: float | None) -> dict[str, float]:
    """Ray resources a cell needs."""
    if cell.device == "cuda":
        return {"num_gpus": cell.trainer.devices, "num_cpus": cpus_per_cell or 1}
    return {"num_gpus": 0, "num_cpus": cpus_per_cell or float(os.cpu_count() or 1)}


def run_cells_ray(
    cells: list[CellSpec],
    opts: RunOptions,
    on_event: Callable[[str, CellSpec, dict[str, Any]], None] | None = None,
    address: str | None = None,
    cpus_per_cell: float | None = None,
) -> Outcome:
    """Run ``cells`` as Ray tasks; append each row as its task finishes."""
    try:
        import ray
    except ImportError as err:
        raise RuntimeError("--launcher ray needs Ray: pip install -e '.[ray]'") from err
    notify = on_event or (lambda kind, cell, info: None)
    if not ray.is_initialized():
        env = {k: v for k, v in os.environ.items() if k.startswith(("ATTNBENCH_", "WANDB_"))}
        ray.init(
            address=address,
            include_dashboard=False,
            log_to_driver=False,
            runtime_env={"env_vars": env} if env else None,
        )
    remote = ray.remote(max_retries=0)(_run_remote)
    states = cell_states(opts.out_dir)
    opts_dict = {**asdict(opts), "out_dir": str(opts.out_dir)}
    pending: dict[Any, tuple[CellSpec, int]] = {}
    for cell in cells:
        attempt = states.get(cell.key, CellState()).attempts + 1
        ref = remote.options(**resources(cell, cpus_per_cell)).remote(
            cell.to_dict(), cell.key, attempt, opts_dict
        )
        pending[ref] = (cell, attempt)
    outcome = Outcome()
    previous = signal.signal(signal.SIGTERM, raise_interrupt)
    try:
        while pending:
            done, _ = ray.wait(list(pending), num_returns=1, timeout=1.0)
            for ref in done:
                cell, attempt = pending.pop(ref)
                try:
                    row, files = ray.get(ref)
                    row = bring_home(opts.out_dir, row, files)
                except Exception as err:  # the Ray worker or its node died
                    row = _killed_row(cell, attempt, opts, err)
                append_row(opts.out_dir / RESULTS_FILE, row)
                outcome.rows.append(row)
                notify("done", cell, row)
    except BaseException:
        for ref in pending:  # Ctrl-C / SIGTERM: stop every queued and running cell
            ray.cancel(ref, force=True)
        raise
    finally:
        signal.signal(signal.SIGTERM, previous)
    return outcome


def _killed_row(cell: CellSpec, attempt: int, opts: RunOptions, err: Exception) -> dict:
    row = base_row(cell, attempt, opts.matrix_name)
    row.update(
        {
            "status": "failed:killed",
            "error_class": type(err).__name__,
            "error": f"Ray task failed: {err}"[-2000:],
            "ended_utc": utc_now(),
        }
    )
    return row
