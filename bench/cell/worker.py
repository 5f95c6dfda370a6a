"""Cell worker: ``python -m bench.cell.worker CELL_DIR/job.json`` runs one cell in its process.

The parent (bench/runner) owns results.jsonl: the worker writes its row to
``CELL_DIR/row-<attempt>.json`` (atomically) and progress to ``CELL_DIR/progress``. It dies
with its parent (PR_SET_PDEATHSIG), so a killed matrix leaves no orphan training.
"""

from __future__ import annotations

import ctypes
import json
import os
import signal
import sys
from pathlib import Path

from bench.cell.plugins import load_plugins
from bench.rundir.atomic import atomic_write_text
from bench.rundir.diskfull import WORKER_DISK_FULL_EXIT, is_full


def _die_with_parent(parent_pid: int) -> None:
    if sys.platform.startswith("linux"):
        try:
            ctypes.CDLL("libc.so.6", use_errno=True).prctl(1, signal.SIGKILL)  # PR_SET_PDEATHSIG
        except OSError:
            pass
    if os.getppid() != parent_pid:  # the parent died before prctl took effect
        os._exit(1)


def main(job_path: str, parent_pid: int | None = None) -> int:
    """Run the job's cell; ``parent_pid``: the process to die with (default the job's
    runner; a worker forked by bench/matrix/forkserver.py names the fork server)."""
    job = json.loads(Path(job_path).read_text(encoding="utf-8"))
    from bench.cell.rank import is_rank_zero

    if is_rank_zero():  # DDP ranks > 0 are children of rank 0, not of the runner
        _die_with_parent(job["parent_pid"] if parent_pid is None else parent_pid)
    load_plugins()
    from bench.cell.execute import execute_cell
    from bench.cell.spec import spec_from_dict

    cell_dir = Path(job_path).parent
    spec = spec_from_dict(job["spec"])
    if spec.key != job["key"]:
        raise SystemExit(
            f"cell key mismatch: job {job['key']} rebuilt as {spec.key}: the code the key hashes "
            "(bench/, models/, tasks/) changed after this matrix started. Keep it unchanged while "
            "a matrix runs (or run from a separate checkout); run the matrix again to rerun its "
            "cells on the new code."
        )
    progress_file = cell_dir / "progress"

    def on_progress(step: int, total: int, loss: float) -> None:
        if is_rank_zero():
            atomic_write_text(
                progress_file, json.dumps({"step": step, "total": total, "loss": loss})
            )

    row = execute_cell(
        spec,
        Path(job["out_dir"]),
        job["wandb"],
        progress=False,
        attempt=job["attempt"],
        matrix=job["matrix"],
        on_progress=on_progress,
    )
    if is_rank_zero():
        try:
            atomic_write_text(cell_dir / f"row-{job['attempt']}.json", json.dumps(row, default=str))
        except OSError as err:
            if not is_full(err):
                raise
            return WORKER_DISK_FULL_EXIT  # the runner stops; the cell stays pending
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1]))
