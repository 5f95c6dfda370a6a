"""Associative recall (tasks/recall.py): layout and metrics with its floors."""

from __future__ import annotations

import torch

from tasks import EOS, PAD
from tasks.base import Batch, teacher_forcing_pair
from tasks.recall import RecallConfig, RecallTask


def sample(task, n: int = 32, seed: int = 0):  # noqa: ANN001, ANN201
    return task.sample(n, torch.Generator().manual_seed(seed))


def test_recall_layout():
    task = RecallTask(RecallConfig(distance=6, n_keys=8, n_values=5), seed=0)
    assert task.distance == 6 and task.vocab_size == 3 + 1 + 8 + 5
    b = sample(task, n=128)
    assert b.src.shape == (128, 14) and b.src.ne(PAD).all()
    keys, values = b.src[:, 0:12:2], b.src[:, 1:12:2]
    assert ((keys >= task.key0) & (keys < task.value0)).all()
    assert ((values >= task.value0) & (values < task.vocab_size)).all()
    assert all(len(set(row)) == 6 for row in keys.tolist())  # distinct keys per example
    assert (b.src[:, 12] == task.query_marker).all()
    hit = keys.eq(b.src[:, 13:14])
    assert (hit.sum(1) == 1).all()
    assert torch.equal(b.tgt_out[:, 0], values[hit])
    queried = hit.int().argmax(1)
    assert len(set(queried.tolist())) == 6  # the queried pair is not at a fixed place


def test_recall_metrics_on_hand_made_examples():
    task = RecallTask(RecallConfig(distance=2, n_keys=4, n_values=3), seed=0)
    q, k0, v0 = task.query_marker, task.key0, task.value0
    src = torch.tensor(
        [[k0, v0, k0 + 1, v0 + 1, q, k0], [k0 + 2, v0 + 2, k0 + 3, v0, q, k0 + 3]]
    )  # first queries the older pair, second the last one
    answer = torch.tensor([[v0], [v0]])
    batch = Batch.from_tensors(src, *teacher_forcing_pair(answer, torch.ones(2, dtype=torch.long)))
    s = task.summarise([task.score(torch.tensor([[v0 + 1, EOS], [v0, EOS]]), batch)])
    assert s["answer_acc"] == 0.5 and s["answer_acc_far_half"] == 0.0 and s["seq_acc"] == 0.5
