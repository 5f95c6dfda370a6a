"""The control that proves match's path (issue 27): at a fixed small budget, the
unidirectional LSTM learns the lookup at a short distance and not at a long one, while the
same distance with the pair at the source's ends (the shortcut probe) stays easy. So it is
the distance between query and item, not the sequence length or the position, that hurts
a recurrent encoder. Trained cells (about a minute each on 2 CPU cores): slow.

The 3-seed numbers at the default size are `matrices/experiments/match-distance.yaml`."""

from __future__ import annotations

import pytest

from bench.cell.execute import run_cell
from bench.cell.spec import make_spec

TINY = [  # a 1-layer, 64-wide uni-LSTM learns distance 4 in 1500 steps at lr 1e-2
    "model.d_model=64",
    "model.n_layers=1",
    "train.steps=1500",
    "train.lr=0.01",
    "train.warmup=50",
    "train.timing_warmup=0",
    "train.timing_blocks=2",
    "task.context=4",
    "task.n_keys=4",
    "task.n_values=4",
    "task.eval_size=256",
]


def answer_acc(tmp_path, distance: int, placement: str) -> float:  # noqa: ANN001
    sets = [*TINY, f"task.distance={distance}", f"task.placement={placement}"]
    spec = make_spec("lstm_uni", "match", sets, seed=0, mode="repro")
    row = run_cell(spec, tmp_path / f"{placement}{distance}", wandb_mode="disabled", progress=False)
    assert row["status"] == "ok", row.get("error")
    return row["answer_acc"]


@pytest.mark.slow
def test_uni_lstm_falls_with_distance_inside_and_stays_flat_at_the_ends(tmp_path):
    near = answer_acc(tmp_path, 4, "inside")
    far = answer_acc(tmp_path, 16, "inside")
    far_ends = answer_acc(tmp_path, 16, "ends")
    assert near >= 0.95  # learned where the path is short
    assert far <= near - 0.2  # the same budget does not reach across 16 items (chance 0.25)
    assert far_ends >= 0.95  # the same distance at the ends: the answer is the last token
