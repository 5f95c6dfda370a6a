"""perf/gpu_check.sh and its helpers, on CPU: syntax, a clean skip, the pieces it uses."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
import torch

from perf.gpu import bf16_matrix, markdown, summarise, timer_check

ROOT = Path(__file__).resolve().parents[1]
SCRIPT = ROOT / "perf" / "gpu_check.sh"


def test_gpu_check_script_parses():
    subprocess.run(["bash", "-n", str(SCRIPT)], check=True)


@pytest.mark.skipif(torch.cuda.is_available(), reason="this machine has CUDA")
def test_gpu_check_skips_cleanly_without_cuda(tmp_path):
    env = {**os.environ, "PY": sys.executable, "OUT": str(tmp_path / "g")}
    done = subprocess.run(["bash", str(SCRIPT)], env=env, capture_output=True, text=True)
    assert done.returncode == 0, done.stderr
    assert "gpu_check: skipped: no CUDA device" in done.stdout
    assert not (tmp_path / "g").exists()


def test_bf16_matrix_sets_precision_for_every_cell(tmp_path):
    from bench.matrix.load import load_matrix

    path = bf16_matrix("quick", tmp_path / "q.yaml")
    matrix = load_matrix(str(path))  # strict parse: every key still valid
    assert matrix.name == "quick-bf16"
    assert matrix.blocks and all(
        b.values["train"]["precision"] == "bf16-mixed" for b in matrix.blocks
    )


def test_timer_check_compares_two_timers_on_cpu():
    result = timer_check(size=64, device="cpu", blocks=3, block_steps=2)
    assert result["ours_s"] > 0 and result["torch_benchmark_s"] > 0
    assert result["ratio"] == pytest.approx(result["ours_s"] / result["torch_benchmark_s"])
    assert isinstance(result["met"], bool)


def test_summarise_writes_one_file_with_every_number(tmp_path):
    (tmp_path / "quick").mkdir()
    rows = [
        {"key": "a", "model": "lstm", "status": "ok", "train_tgt_tokens_per_s": 100.0, "mfu": 0.1},
        {"key": "b", "model": "lstm", "status": "failed:oom"},
    ]
    (tmp_path / "quick" / "results.jsonl").write_text("".join(json.dumps(r) + "\n" for r in rows))
    (tmp_path / "status.txt").write_text("timer=0\nquick=124\n")
    timer = timer_check(size=32, device="cpu", blocks=2, block_steps=1)
    (tmp_path / "timer.json").write_text(json.dumps(timer))
    data = summarise(tmp_path)
    assert data["quick_bf16"]["models"]["lstm"] == {
        "ok": 1,
        "failed": 1,
        "train_tgt_tokens_per_s_median": 100.0,
        "mfu_median": 0.1,
        "mfu_max": 0.1,
    }
    text = (tmp_path / "gpu_numbers.md").read_text()
    assert "| lstm | 1 | 1 | 100 | 10.0% | 10.0% |" in text
    assert "quick=124" in text and "Timer:" in text
    assert json.loads((tmp_path / "gpu_numbers.json").read_text())["timer"]["size"] == 32
    assert markdown(data) == text
