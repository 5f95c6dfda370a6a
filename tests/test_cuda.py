"""On a CUDA machine: a cell trains, evaluates and counts FLOPs on the GPU end to end.

Skipped without CUDA (CI has none); perf/gpu_check.sh runs it on a GPU. It catches what
CPU runs cannot: Lightning's teardown moves the module back to the CPU after fit, and every
cell on the GPU then failed in FLOP counting with "index is on cuda:0 ... other tensors on cpu".
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
import torch

ROOT = Path(__file__).resolve().parent.parent

pytestmark = pytest.mark.skipif(not torch.cuda.is_available(), reason="needs a CUDA device")


@pytest.mark.parametrize("model", ["transformer", "lstm", "convs2s"])
def test_a_cell_runs_on_cuda_end_to_end(tmp_path, model):
    out = tmp_path / "out"
    proc = subprocess.run(
        [
            sys.executable, "-m", "cli", "run", model, "copy", "--device", "cuda",
            "--out", str(out), "--wandb", "disabled", "--set", "train.steps=20",
            "--set", "task.eval_size=32",
        ],
        cwd=ROOT, capture_output=True, text=True, timeout=600,
        env={**os.environ, "WANDB_MODE": "disabled", "PYTHONPATH": str(ROOT)},
    )  # fmt: skip
    assert proc.returncode == 0, proc.stdout + proc.stderr
    row = json.loads((out / "results.jsonl").read_text().splitlines()[-1])
    assert row["status"] == "ok" and row["device"] == "cuda", row.get("error")
    assert row["flops_per_token_counted"] and row["token_acc"] is not None
