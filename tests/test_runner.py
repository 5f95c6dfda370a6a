"""Matrix runner: failure isolation, exact status map, resume after SIGKILL, retry, W&B."""

from __future__ import annotations

import json
import os
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
import yaml

from bench.matrix.local import THREAD_VARS, worker_threads

ROOT = Path(__file__).resolve().parent.parent
TINY_TRAIN = {"steps": 8, "batch_size": 8, "timing_warmup": 2, "timing_blocks": 3, "log_every": 2}
TINY_TASK = {"length": 4, "min_length": 2, "n_symbols": 4, "eval_size": 16}


def env(**extra: str) -> dict[str, str]:
    return {
        **os.environ,
        "ATTNBENCH_PLUGINS": "tests.fault_models",
        "PYTHONPATH": str(ROOT),
        "WANDB_MODE": "offline",
        "WANDB_SILENT": "true",
        **extra,
    }


def write_matrix(path: Path, models: list[str], seeds: list[int], timeout: float) -> Path:
    path.write_text(
        yaml.safe_dump(
            {
                "name": "faults",
                "models": models,
                "seeds": seeds,
                "timeout_s": timeout,
                "train": TINY_TRAIN,
                "model": {"lstm": {"d_model": 16, "n_layers": 1}},
                "tasks": [{"name": "copy", "task": TINY_TASK}],
            }
        )
    )
    return path


def cli(*args: str, **kw) -> subprocess.Popen:
    return subprocess.Popen(
        [sys.executable, "-m", "cli", *args],
        cwd=ROOT,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        **kw,
    )


def workers_of(out: Path) -> list[int]:
    """Processes writing their output into a log under ``out``: the cell workers, whether
    started fresh or forked by the fork server (whose command line names no job)."""
    found = []
    for fd in Path("/proc").glob("[0-9]*/fd/1"):
        try:
            if fd.resolve().is_relative_to(out.resolve()):
                found.append(int(fd.parts[2]))
        except OSError:  # the process ended, or is not ours to read
            continue
    return found


def rows(out: Path) -> list[dict]:
    return [json.loads(x) for x in (out / "results.jsonl").read_text().splitlines()]


FAULT_MODELS = ["lstm", "fault_raise", "fault_nan", "fault_oom", "fault_hang", "fault_exit"]


@pytest.fixture(scope="module")
def fault_run(tmp_path_factory) -> tuple[Path, Path, int, str]:
    """One matrix of a healthy model and five that fail on purpose, run once for the module,
    offline W&B with its server pointed at a closed local port (it must not matter)."""
    tmp = tmp_path_factory.mktemp("faults")
    # the hang cell costs this timeout; every other cell of the matrix takes < 10 s
    matrix = write_matrix(tmp / "m.yaml", FAULT_MODELS, [0], timeout=30)
    out = tmp / "out"
    proc = cli(
        "matrix", "run", str(matrix), "--out", str(out), "--wandb", "offline",
        env=env(WANDB_BASE_URL="http://127.0.0.1:9"),
    )  # fmt: skip
    output, _ = proc.communicate(timeout=400)
    return matrix, out, proc.returncode, output


def _copy_of(out: Path, tmp_path: Path) -> Path:
    """A copy of a run directory, so a test that adds rows leaves the module's run as it was."""
    return Path(shutil.copytree(out, tmp_path / "out"))


@pytest.mark.slow
def test_fault_matrix_runs_to_the_end_with_the_exact_status_map(fault_run):
    _, out, returncode, output = fault_run
    assert returncode == 0, output
    assert {r["model"]: r["status"] for r in rows(out)} == {
        "lstm": "ok",
        "fault_raise": "failed:exception",
        "fault_nan": "failed:nan",
        "fault_oom": "failed:oom",
        "fault_hang": "failed:timeout",
        "fault_exit": "failed:killed",
    }


@pytest.mark.slow
def test_failed_rows_carry_their_error_and_the_ok_row_is_complete(fault_run):
    by_model = {r["model"]: r for r in rows(fault_run[1])}
    assert "deliberate exception" in by_model["fault_raise"]["error"]
    assert "exited with code 7" in by_model["fault_exit"]["error"]
    assert by_model["lstm"]["matrix"] == "faults" and by_model["lstm"]["token_acc"] is not None


@pytest.mark.slow
def test_offline_wandb_with_an_unreachable_server_never_blocks(fault_run):
    _, out, returncode, _ = fault_run
    assert returncode == 0 and list((out / "wandb").glob("offline-run-*"))


@pytest.mark.slow
def test_status_command_shows_the_same_map(fault_run):
    status = cli("matrix", "status", str(fault_run[1]), env=env())
    text, _ = status.communicate(timeout=60)
    assert status.returncode == 0 and "failed:timeout" in text and "ok: 1" in text


@pytest.mark.slow
def test_rerunning_a_finished_matrix_runs_nothing(fault_run, tmp_path):
    matrix, out = fault_run[0], _copy_of(fault_run[1], tmp_path)
    again = cli(
        "matrix", "run", str(matrix), "--out", str(out), "--wandb", "disabled",
        "--only", "model=lstm,fault_raise", env=env(),
    )  # fmt: skip
    text, _ = again.communicate(timeout=120)
    assert "0 to run" in text and len(rows(out)) == 6


@pytest.mark.slow
def test_retry_failed_adds_a_second_attempt_of_failed_cells_only(fault_run, tmp_path):
    matrix, out = fault_run[0], _copy_of(fault_run[1], tmp_path)
    retry = cli(
        "matrix", "run", str(matrix), "--out", str(out), "--wandb", "disabled",
        "--only", "model=lstm,fault_raise", "--retry-failed", env=env(),
    )  # fmt: skip
    text, _ = retry.communicate(timeout=120)
    assert retry.returncode == 0, text
    attempts = [(r["model"], r["attempt"]) for r in rows(out)]
    assert attempts.count(("fault_raise", 2)) == 1 and ("lstm", 2) not in attempts


@pytest.mark.slow
def test_sigkill_mid_matrix_then_resume_gives_each_row_once(tmp_path):
    matrix = write_matrix(tmp_path / "m.yaml", ["lstm"], [0, 1, 2, 3], timeout=120)
    out = tmp_path / "out"
    proc = cli("matrix", "run", str(matrix), "--out", str(out), "--wandb", "disabled", env=env())
    deadline = time.monotonic() + 180
    while time.monotonic() < deadline:
        if (out / "results.jsonl").exists() and len(rows(out)) >= 1:
            break
        time.sleep(0.2)
    proc.send_signal(signal.SIGKILL)
    proc.wait()
    first = {r["key"] for r in rows(out)}
    assert 1 <= len(first) < 4
    # the orphaned worker dies with its parent (PR_SET_PDEATHSIG, or its start-up check)
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline and workers_of(out):
        time.sleep(0.2)
    assert workers_of(out) == [], "a worker outlived its killed parent"
    resume = cli("matrix", "run", str(matrix), "--out", str(out), "--wandb", "disabled", env=env())
    text, _ = resume.communicate(timeout=300)
    assert resume.returncode == 0, text
    assert f"{len(first)} already done, {4 - len(first)} to run" in text
    keys = [r["key"] for r in rows(out)]
    assert len(keys) == len(set(keys)) == 4 and first <= set(keys)
    assert all(r["status"] == "ok" for r in rows(out))


def test_sigterm_stops_cell_writes_no_row_and_prints_resume(tmp_path):
    matrix = write_matrix(tmp_path / "m.yaml", ["fault_hang"], [0], timeout=300)
    out = tmp_path / "out"
    proc = cli("matrix", "run", str(matrix), "--out", str(out), "--wandb", "disabled", env=env())
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline and not list(out.glob("cells/*/progress")):
        time.sleep(0.2)
    proc.send_signal(signal.SIGTERM)
    text, _ = proc.communicate(timeout=60)
    assert proc.returncode == 130, text
    assert "Resume with:" in text and f"attnbench matrix run {matrix} --out {out}" in text
    assert not (out / "results.jsonl").exists() or rows(out) == []


@pytest.mark.parametrize(
    "content", ['{"key": "a", "status": "ok", "attempt": 1}\n{"key": "b", "st']
)
def test_truncated_last_line_is_skipped_and_next_append_is_clean(tmp_path, content):
    from bench.rundir.rows import append_row, read_rows

    path = tmp_path / "results.jsonl"
    path.write_text(content)
    with pytest.warns(UserWarning, match="truncated"):
        assert [r["key"] for r in read_rows(path)] == ["a"]
    append_row(path, {"key": "c", "status": "ok", "attempt": 1})
    with pytest.warns(UserWarning):
        assert [r["key"] for r in read_rows(path)] == ["a", "c"]


@pytest.mark.slow
def test_ray_launcher_gives_the_same_rows_as_local(tmp_path):
    pytest.importorskip("ray")
    matrix = write_matrix(
        tmp_path / "m.yaml", ["lstm", "fault_raise", "fault_exit"], [0], timeout=120
    )
    results = {}
    for launcher in ("local", "ray"):
        out = tmp_path / launcher
        proc = cli(
            "matrix",
            "run",
            str(matrix),
            "--out",
            str(out),
            "--wandb",
            "disabled",
            "--launcher",
            launcher,
            "--cpus-per-cell",
            "1",
            env=env(RAY_ADDRESS=""),
        )
        text, _ = proc.communicate(timeout=400)
        assert proc.returncode == 0, text
        results[launcher] = {(r["key"], r["status"]) for r in rows(out)}
        assert len(rows(out)) == 3
    assert results["ray"] == results["local"]
    assert {s for _, s in results["ray"]} == {"ok", "failed:exception", "failed:killed"}


def test_jobs_run_cells_at_once_with_the_same_rows_and_failures_isolated(tmp_path):
    """--jobs 3: every cell gets exactly one row, a failing cell does not stop the others,
    the keys are those of a one-at-a-time run, and rows say they shared the device."""
    matrix = write_matrix(tmp_path / "m.yaml", ["lstm", "fault_raise", "fault_exit"], [0, 1], 120)
    out = tmp_path / "out"
    no_threads = {k: v for k, v in env().items() if k not in THREAD_VARS}
    proc = cli(
        "matrix", "run", str(matrix), "--out", str(out), "--wandb", "disabled", "--jobs", "3",
        env=no_threads,
    )  # fmt: skip
    text, _ = proc.communicate(timeout=300)
    assert proc.returncode == 0, text
    got = rows(out)
    assert len(got) == 6 and len({r["key"] for r in got}) == 6
    status = {(r["model"], r["seed"]): r["status"] for r in got}
    assert status[("lstm", 0)] == status[("lstm", 1)] == "ok"
    assert status[("fault_raise", 0)] == "failed:exception"
    assert status[("fault_exit", 1)] == "failed:killed"
    assert {r["parallel_cells"] for r in got} == {3}
    cores = len(os.sched_getaffinity(0))
    trained = [r for r in got if r["status"] == "ok"]  # a killed cell's row is the runner's
    assert {r["threads"] for r in trained} == {max(1, cores // 3)}  # the cores split, not shared
    again = cli("matrix", "run", str(matrix), "--out", str(out), "--wandb", "disabled", env=env())
    text, _ = again.communicate(timeout=120)
    assert again.returncode == 0 and "6 already done, 0 to run" in text, text


def test_sigterm_with_jobs_stops_every_running_cell_and_writes_no_row(tmp_path):
    matrix = write_matrix(tmp_path / "m.yaml", ["fault_hang"], [0, 1], timeout=300)
    out = tmp_path / "out"
    proc = cli(
        "matrix", "run", str(matrix), "--out", str(out), "--wandb", "disabled", "--jobs", "2",
        env=env(),
    )  # fmt: skip
    deadline = time.monotonic() + 90
    while time.monotonic() < deadline and len(list(out.glob("cells/*/progress"))) < 2:
        time.sleep(0.2)
    assert len(list(out.glob("cells/*/progress"))) == 2  # both cells were running at once
    assert len(workers_of(out)) == 2  # (the check below can see them)
    proc.send_signal(signal.SIGTERM)
    text, _ = proc.communicate(timeout=60)
    assert proc.returncode == 130, text
    assert "--jobs 2" in text  # the printed resume command keeps it
    assert not (out / "results.jsonl").exists() or rows(out) == []
    assert workers_of(out) == [], "a worker outlived the interrupted matrix"


def test_jobs_refused_with_ray(tmp_path):
    matrix = write_matrix(tmp_path / "m.yaml", ["lstm"], [0], timeout=60)
    proc = cli(
        "matrix", "run", str(matrix), "--out", str(tmp_path / "o"), "--jobs", "2",
        "--launcher", "ray", env=env(),
    )  # fmt: skip
    text, _ = proc.communicate(timeout=120)
    assert proc.returncode != 0 and "--jobs 2" in text


def test_code_changed_under_a_running_matrix_names_the_cause(tmp_path):
    """A job whose key no longer matches the code (bench/ edited mid-run) fails with a message
    that says why and what to do, not just two hashes."""
    from bench.cell.spec import spec_from_values

    spec = spec_from_values("lstm", "copy", {"train": TINY_TRAIN, "task": TINY_TASK}, 0, "cpu")
    job = tmp_path / "cells" / "k" / "job.json"
    job.parent.mkdir(parents=True)
    job.write_text(json.dumps({"spec": spec.to_dict(), "key": "0" * 16, "attempt": 1,
                               "out_dir": str(tmp_path), "wandb": "disabled", "matrix": "m",
                               "parent_pid": os.getpid()}, default=str))  # fmt: skip
    proc = subprocess.run(
        [sys.executable, "-m", "bench.cell.worker", str(job)], cwd=ROOT, env=env(),
        capture_output=True, text=True, timeout=120,
    )  # fmt: skip
    assert proc.returncode != 0
    assert "changed after this matrix started" in proc.stderr, proc.stderr


def test_worker_threads_split_the_cores_and_keep_a_users_setting(monkeypatch):
    monkeypatch.delenv("OMP_NUM_THREADS", raising=False)
    monkeypatch.setattr(os, "sched_getaffinity", lambda pid: set(range(16)), raising=False)
    assert worker_threads(1) == {}  # one cell alone uses every core
    assert worker_threads(4) == {"OMP_NUM_THREADS": "4", "MKL_NUM_THREADS": "4"}
    assert worker_threads(32)["OMP_NUM_THREADS"] == "1"  # never 0
    monkeypatch.setenv("OMP_NUM_THREADS", "3")
    assert worker_threads(4) == {}
