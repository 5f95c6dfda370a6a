"""One runner per run directory (fcntl lock) and a disk that fills up mid-matrix."""

from __future__ import annotations

import errno
import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
from typer.testing import CliRunner

import bench.matrix.local
import bench.rundir.rows
from bench.cell.spec import base_row
from bench.rundir.lock import LOCK_FILE, LockedError, run_lock
from cli import app

ROOT = Path(__file__).resolve().parent.parent
runner = CliRunner()
MATRIX = """name: t
models: [transformer]
seeds: [0, 1, 2]
train: {steps: 2, eval_batch_size: 8, log_every: 1, timing_warmup: 0, timing_blocks: 1}
model: {transformer: {d_model: 8, n_heads: 2, d_ff: 16, n_enc_layers: 1, n_dec_layers: 1}}
tasks:
  - name: copy
    task: {length: 4, min_length: 1, eval_size: 8}
"""


def _matrix(tmp_path: Path) -> Path:
    path = tmp_path / "m.yaml"
    path.write_text(MATRIX)
    return path


def _keys(out: Path) -> list[str]:
    return [r["key"] for r in bench.rundir.rows.read_rows(out / "results.jsonl")]


def _fake_cell(cell, attempt, opts, on_progress=None, stop=None):  # noqa: ANN001, ANN202
    """run_in_subprocess without a subprocess: an ok row at once."""
    return {**base_row(cell, attempt, opts.matrix_name), "status": "ok", "wall_s": 0.0}


def test_lock_second_runner_exits_naming_the_holder(tmp_path, monkeypatch):
    monkeypatch.setattr(bench.matrix.local, "run_in_subprocess", _fake_cell)
    out = tmp_path / "out"
    with run_lock(out):
        result = runner.invoke(
            app, ["matrix", "run", str(_matrix(tmp_path)), "--out", str(out), "--device", "cpu"]
        )
    assert result.exit_code == 1, result.output
    assert f"pid {os.getpid()}" in result.output and "--wait" in result.output
    assert not (out / "results.jsonl").exists()


def test_lock_is_exclusive_and_released():
    import tempfile

    with tempfile.TemporaryDirectory() as d:
        with run_lock(Path(d)):
            with pytest.raises(LockedError, match=str(os.getpid())):
                with run_lock(Path(d)):
                    pass
        with run_lock(Path(d)):  # released on exit
            pass


@pytest.mark.slow
def test_lock_stale_after_sigkill_never_blocks(tmp_path):
    code = (
        "import sys, time; from pathlib import Path; from bench.rundir.lock import run_lock\n"
        "with run_lock(Path(sys.argv[1])):\n    print('held', flush=True); time.sleep(60)\n"
    )
    proc = subprocess.Popen(
        [sys.executable, "-c", code, str(tmp_path)], cwd=ROOT, stdout=subprocess.PIPE, text=True
    )
    assert proc.stdout.readline().strip() == "held"
    with pytest.raises(LockedError, match=str(proc.pid)):
        with run_lock(tmp_path):
            pass
    proc.send_signal(signal.SIGKILL)
    proc.wait()
    assert (tmp_path / LOCK_FILE).exists()  # the file stays, the lock does not
    with run_lock(tmp_path):
        pass


def _start(path: Path, out: Path, *extra: str) -> subprocess.Popen:
    return subprocess.Popen(
        [
            sys.executable,
            "-m",
            "cli",
            "matrix",
            "run",
            str(path),
            "--out",
            str(out),
            "--device",
            "cpu",
            "--wandb",
            "disabled",
            *extra,
        ],
        cwd=ROOT,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        env={**os.environ, "WANDB_MODE": "disabled", "COLUMNS": "200"},
    )


def test_lock_two_concurrent_runners_give_every_key_once(tmp_path):
    """A second runner with --wait starts when the first ends and finds nothing left to do;
    a third without --wait exits at once naming the first's pid."""
    path, out = _matrix(tmp_path), tmp_path / "out"
    first = _start(path, out)
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline:  # the first runner holds the lock once its pid is in
        lock = out / LOCK_FILE
        if lock.exists() and lock.read_text().strip() == str(first.pid):
            break
        time.sleep(0.1)
    waiter = _start(path, out, "--wait")
    refused = _start(path, out)
    refused_out, _ = refused.communicate(timeout=120)
    assert refused.returncode == 1, refused_out
    assert f"pid {first.pid}" in refused_out
    first_out, _ = first.communicate(timeout=600)
    waiter_out, _ = waiter.communicate(timeout=600)
    assert first.returncode == 0, first_out
    assert waiter.returncode == 0, waiter_out
    keys = _keys(out)
    assert len(keys) == 3 and len(set(keys)) == 3, (first_out, waiter_out)
    assert "3 already done, 0 to run" in waiter_out


def _failing_writer(after: int, partial: bool = True):  # noqa: ANN202
    """A write_bytes that works ``after`` times, then writes half its bytes and fails ENOSPC."""
    calls = {"n": 0}

    def write(f, data: bytes) -> None:  # noqa: ANN001
        calls["n"] += 1
        if calls["n"] > after:
            if partial:
                f.write(data[: len(data) // 2])
            raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC))
        f.write(data)

    return write


def test_disk_full_stops_with_one_line_and_resumes(tmp_path, monkeypatch):
    monkeypatch.setattr(bench.matrix.local, "run_in_subprocess", _fake_cell)
    monkeypatch.setattr(bench.rundir.rows, "write_bytes", _failing_writer(after=1))
    path, out = _matrix(tmp_path), tmp_path / "out"
    args = ["matrix", "run", str(path), "--out", str(out), "--device", "cpu", "--wandb", "disabled"]
    result = runner.invoke(app, args)
    assert result.exit_code == 1, result.output
    assert "Traceback" not in result.output
    assert result.exception is None or isinstance(result.exception, SystemExit)
    (line,) = [x for x in result.output.splitlines() if x.startswith("disk full")]
    assert str(out / "results.jsonl") in line and " free)" in line
    assert f"resume with: attnbench matrix run {path} --out {out}" in line
    text = (out / "results.jsonl").read_text()
    assert text.endswith("\n") and len(text.splitlines()) == 1  # the complete row, no partial
    json.loads(text)
    monkeypatch.setattr(bench.rundir.rows, "write_bytes", lambda f, data: f.write(data))
    again = runner.invoke(app, args)
    assert again.exit_code == 0, again.output
    keys = _keys(out)
    assert len(keys) == 3 and len(set(keys)) == 3


def test_disk_full_inside_a_cell_writes_no_row(tmp_path, monkeypatch):
    """A cell that failed because the disk is full is not data: no row, it stays pending."""

    def full_cell(cell, attempt, opts, on_progress=None, stop=None):  # noqa: ANN001, ANN202
        row = _fake_cell(cell, attempt, opts)
        row.update(status="failed:exception", error="OSError: [Errno 28] No space left on device")
        return row

    monkeypatch.setattr(bench.matrix.local, "run_in_subprocess", full_cell)
    path, out = _matrix(tmp_path), tmp_path / "out"
    result = runner.invoke(app, ["matrix", "run", str(path), "--out", str(out), "--device", "cpu"])
    assert result.exit_code == 1, result.output
    assert "disk full: could not write" in result.output
    assert _keys(out) == []


def test_disk_full_append_row_truncates_its_partial_line(tmp_path, monkeypatch):
    path = tmp_path / "results.jsonl"
    bench.rundir.rows.append_row(path, {"key": "a"})
    monkeypatch.setattr(bench.rundir.rows, "write_bytes", _failing_writer(after=0))
    with pytest.raises(OSError) as err:
        bench.rundir.rows.append_row(path, {"key": "b" * 1000})
    assert err.value.errno == errno.ENOSPC and err.value.filename == str(path)
    assert path.read_text() == '{"key": "a"}\n'


def test_disk_full_single_run_stops_with_one_line(tmp_path, monkeypatch):
    import bench.cell.execute

    def full(spec, out, *args):  # noqa: ANN001, ANN202
        raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC), str(out / "results.jsonl"))

    monkeypatch.setattr(bench.cell.execute, "run_cell", full)
    result = runner.invoke(
        app, ["run", "transformer", "copy", "--out", str(tmp_path), "--device", "cpu"]
    )
    assert result.exit_code == 1, result.output
    assert result.exception is None or isinstance(result.exception, SystemExit)
    (line,) = [x for x in result.output.splitlines() if x.startswith("disk full")]
    assert str(tmp_path / "results.jsonl") in line and "free" in line
