"""Reverse task (tasks/reverse.py): layout."""

from __future__ import annotations

import torch

from tasks import EOS, PAD
from tasks.reverse import ReverseConfig, ReverseTask, reverse_rows


def sample(task, n: int = 32, seed: int = 0):  # noqa: ANN001, ANN201
    return task.sample(n, torch.Generator().manual_seed(seed))


def test_reverse_layout():
    task = ReverseTask(ReverseConfig(length=7, min_length=1, n_symbols=4), seed=0)
    assert task.distance == 7
    b = sample(task, n=64)
    lengths = b.src.ne(PAD).sum(1)
    for i in range(64):
        n = int(lengths[i])
        assert (b.src[i, n:] == PAD).all()
        assert torch.equal(b.tgt_out[i, :n], b.src[i, :n].flip(0)) and b.tgt_out[i, n] == EOS
    seqs = torch.tensor([[3, 4, 5, 0], [6, 7, 8, 9]])
    assert reverse_rows(seqs, torch.tensor([3, 4])).tolist() == [[5, 4, 3, 0], [9, 8, 7, 6]]
