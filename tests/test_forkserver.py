"""bench/matrix/forkserver.py: forked cell workers give the rows fresh ones and `attnbench
run` give (timings aside), the fork server has imported the libraries but not CUDA, and
`matrix run --no-fork-server` starts every cell fresh."""

from __future__ import annotations

import json
import re
import sys
from pathlib import Path

import pytest
import yaml
from typer.testing import CliRunner

from bench.cell.spec import CellSpec, make_spec
from bench.matrix.forkserver import context, forkable
from bench.matrix.local import RunOptions, run_cells, run_in_subprocess
from bench.rundir.layout import results_path
from bench.rundir.rows import read_rows
from cli import app

SETS = [
    "model.d_model=16", "model.n_layers=1", "train.steps=8", "train.batch_size=8",
    "train.timing_warmup=2", "train.timing_blocks=3", "train.log_every=2", "task.length=4",
    "task.min_length=2", "task.eval_size=16",
]  # fmt: skip
TIMED = re.compile(r"(tokens_per_s|_s$|_utc$|latency|noisy|mem_mb|^parallel_cells$|^worker$)")
"""Fields that are timings or measurements of this machine's moment, and the runner's own."""


def _comparable(row: dict) -> dict:
    row = json.loads(json.dumps(row, default=str))  # as results.jsonl holds it
    curve = row.get("curve") or {}
    return {
        **{k: v for k, v in row.items() if not TIMED.search(k)},
        "curve": {k: v for k, v in curve.items() if k != "time_s"},
    }


def _probe() -> None:
    """In a forked child: exit 0 when the libraries are imported and CUDA is not."""
    import torch

    preloaded = {"torch", "lightning.pytorch", "bench.cell.execute"} <= set(sys.modules)
    sys.exit(0 if preloaded and not torch.cuda.is_initialized() else 3)


def test_the_fork_server_imported_the_libraries_and_not_cuda():
    child = context("disabled").Process(target=_probe)
    child.start()
    child.join(300)
    assert child.exitcode == 0


def test_multi_process_cells_start_fresh():
    spec = make_spec("lstm", "copy", SETS, 0, "cpu", "speed")
    assert forkable(spec)
    ddp = make_spec("lstm", "copy", [*SETS, "trainer.devices=2", "trainer.strategy=ddp"], 0, "cpu")
    assert not forkable(ddp)


@pytest.fixture(scope="module")
def spec() -> CellSpec:
    return make_spec("lstm", "copy", SETS, 0, "cpu", "speed")


def test_forked_fresh_and_attnbench_run_rows_are_identical_but_for_timings(spec, tmp_path):
    runs = {}
    for name, fork in (("forked", True), ("fresh", False)):
        opts = RunOptions(out_dir=tmp_path / name, wandb="offline", fork_server=fork)
        run_cells([spec], opts)
        runs[name] = read_rows(results_path(opts.out_dir))
    single = tmp_path / "single"
    args = ["run", "lstm", "copy", "--out", str(single), "--wandb", "offline", "--device", "cpu"]
    result = CliRunner().invoke(app, [*args, "--no-progress", *(f"--set={s}" for s in SETS)])
    assert result.exit_code == 0, result.output
    runs["attnbench run"] = read_rows(results_path(single))
    assert [len(rows) for rows in runs.values()] == [1, 1, 1]
    rows = {name: rows[0] for name, rows in runs.items()}
    assert rows["forked"]["status"] == "ok" and rows["forked"]["wandb_error"] is None
    assert (rows["forked"]["worker"], rows["fresh"]["worker"]) == ("forked", "fresh")
    for name in ("fresh", "attnbench run"):
        assert _comparable(rows[name]) == _comparable(rows["forked"]), name
    # memory starts from the same baseline: a forked worker's untouched library pages are not
    # counted as the cell's (refault_parent_pages; without it, +33 MB here)
    forked, fresh = rows["forked"]["peak_mem_mb"], rows["fresh"]["peak_mem_mb"]
    assert abs(forked - fresh) <= max(10.0, 0.25 * fresh), (forked, fresh)
    assert rows["forked"]["overhead_s"] >= 0
    offline = list(Path(tmp_path / "forked" / "wandb").glob("offline-run-*/run-*.wandb"))
    assert len(offline) == 1 and offline[0].stat().st_size > 0


def test_a_forked_worker_that_is_killed_or_times_out_gives_a_failed_row(tmp_path):
    # long enough that a preloaded, forked worker cannot finish inside the timeout
    sets = [s for s in SETS if not s.startswith("train.steps=")] + ["train.steps=100000"]
    long = make_spec("lstm", "copy", sets, 0, "cpu", "speed")
    opts = RunOptions(out_dir=tmp_path, wandb="disabled", timeout_s=0.5)
    row = run_in_subprocess(long, 1, opts)
    assert row["status"] == "failed:timeout" and "timeout of 0.5 s" in row["error"]
    assert row["worker"] == "forked"


TINY_MATRIX = {
    "name": "tiny", "models": ["lstm"], "seeds": [0, 1],
    "train": {"steps": 4, "batch_size": 4, "log_every": 2, "timing_blocks": 1,
              "timing_warmup": 0, "eval_batch_size": 8},
    "model": {"lstm": {"d_model": 8, "n_layers": 1}},
    "tasks": [{"name": "copy", "task": {"length": 4, "min_length": 2, "eval_size": 8}}],
}  # fmt: skip


@pytest.mark.parametrize(("flag", "worker"), [([], "forked"), (["--no-fork-server"], "fresh")])
def test_matrix_run_forks_its_cells_unless_told_not_to(flag, worker, tmp_path):
    matrix = tmp_path / "m.yaml"
    matrix.write_text(yaml.safe_dump(TINY_MATRIX))
    out = tmp_path / "out"
    args = ["matrix", "run", str(matrix), "--out", str(out), "--wandb", "disabled"]
    result = CliRunner().invoke(app, [*args, "--device", "cpu", *flag])
    assert result.exit_code == 0, result.output
    rows = read_rows(results_path(out))
    assert [(r["status"], r["worker"]) for r in rows] == [("ok", worker)] * 2


def test_a_script_without_a_main_guard_runs_its_matrix_once(tmp_path):
    """multiprocessing's forkserver re-imports a main script in each child; a user script
    calling MatrixRun without ``if __name__ == "__main__":`` must not run again per cell."""
    import subprocess
    import textwrap

    (tmp_path / "m.yaml").write_text(yaml.safe_dump(TINY_MATRIX))
    script = tmp_path / "run_it.py"
    script.write_text(textwrap.dedent(f"""
        from bench.matrix.run import MatrixRun, RunSettings
        run = MatrixRun({str(tmp_path / "m.yaml")!r}, {str(tmp_path / "out")!r}, device="cpu")
        result = run.run(RunSettings(wandb="disabled"))
        print("STATUSES", sorted(r["status"] for r in result.rows))
    """))  # fmt: skip
    root = Path(__file__).resolve().parents[1]
    done = subprocess.run([sys.executable, str(script)], capture_output=True, text=True,
                          timeout=300, cwd=root, env={**__import__("os").environ,
                                                      "PYTHONPATH": str(root)})  # fmt: skip
    assert done.returncode == 0, done.stderr[-2000:]
    assert done.stdout.count("STATUSES") == 1 and "['ok', 'ok']" in done.stdout, done.stdout
