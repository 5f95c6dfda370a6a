"""Long-range tasks: the distance knob through --set, and every task's distance recorded in
its row by a tiny cell. Each task's own data and metrics: tests/test_<task>.py."""

from __future__ import annotations

import json

import pytest
import torch

from bench.cell.execute import run_cell
from bench.cell.spec import make_spec
from tasks import build_task


def sample(task, n: int = 32, seed: int = 0):
    return task.sample(n, torch.Generator().manual_seed(seed))


def test_distance_knob_through_set():
    spec = make_spec("lstm", "dependency", ["task.distance=64"])
    assert build_task("dependency", spec.task_cfg, 0).distance == 64
    spec = make_spec("transformer", "recall", ["task.distance=64"])
    assert build_task("recall", spec.task_cfg, 0).distance == 64
    assert (
        build_task("copy", make_spec("lstm", "copy", ["task.delay=10"]).task_cfg, 0).distance == 26
    )


@pytest.mark.parametrize(
    "task,sets",
    [
        ("dependency", ["task.distance=12", "task.eval_size=32"]),
        ("recall", ["task.distance=6", "task.n_keys=16", "task.eval_size=32"]),
        ("reverse", ["task.length=6", "task.min_length=3", "task.eval_size=32"]),
    ],
)
def test_tiny_cell_records_distance_and_accuracy(tmp_path, task, sets):
    tiny = ["model.d_model=16", "model.n_layers=1", "train.steps=4", "train.batch_size=8"]
    spec = make_spec("lstm", task, [*tiny, *sets, "train.timing_warmup=0", "train.timing_blocks=2"])
    row = run_cell(spec, tmp_path, wandb_mode="disabled", progress=False)
    assert row["status"] == "ok", row.get("error")
    saved = json.loads((tmp_path / "results.jsonl").read_text().splitlines()[-1])
    assert saved["distance"] == build_task(task, spec.task_cfg, 0).distance
    assert 0.0 <= saved["token_acc"] <= 1.0
    if task != "reverse":
        assert 0.0 <= saved["answer_acc"] <= 1.0
