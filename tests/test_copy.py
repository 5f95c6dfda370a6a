"""Copy task (tasks/copy.py): determinism, padding layout, the delay (copy-memory)."""

from __future__ import annotations

import pytest
import torch

from tasks import BOS, EOS, PAD
from tasks.base import floor_summary, sequence_examples
from tasks.copy import CopyConfig, CopyTask
from tasks.reverse import ReverseConfig, ReverseTask, reverse_rows


def sample(task, n: int = 32, seed: int = 0):  # noqa: ANN001, ANN201
    return task.sample(n, torch.Generator().manual_seed(seed))


def test_same_seed_same_data_and_different_seed_differs():
    task = CopyTask(CopyConfig(), seed=0)
    a, b, c = sample(task), sample(task), sample(task, seed=1)
    assert all(torch.equal(x, y) for x, y in zip(a[:3], b[:3], strict=True))
    assert not torch.equal(a.src, c.src)


def test_copy_layout_and_padding():
    task = CopyTask(CopyConfig(length=10, min_length=3, n_symbols=5), seed=0)
    b = sample(task, n=64)
    lengths = b.src.ne(PAD).sum(1)
    assert b.src.size(1) == int(lengths.max())  # padded to the batch maximum only
    assert lengths.min() >= 3 and lengths.max() <= 10
    for i in range(64):
        n = int(lengths[i])
        seq = b.src[i, :n]
        assert (seq >= 3).all() and (seq < task.vocab_size).all()
        assert (b.src[i, n:] == PAD).all()  # pads only at the end
        assert b.tgt_in[i, 0] == BOS and torch.equal(b.tgt_in[i, 1 : n + 1], seq)
        assert torch.equal(b.tgt_out[i, :n], seq) and b.tgt_out[i, n] == EOS
        assert (b.tgt_out[i, n + 1 :] == PAD).all() and (b.tgt_in[i, n + 1 :] == PAD).all()
    assert b.n_tgt_tokens == int(lengths.sum()) + 64
    assert b.n_src_tokens == int(lengths.sum())


def test_eval_set_is_fixed_and_disjoint_from_training_stream():
    task = CopyTask(CopyConfig(eval_size=100), seed=3)
    e1, e2 = task.eval_batches(32), task.eval_batches(32)
    assert [b.src.size(0) for b in e1] == [32, 32, 32, 4]
    assert all(torch.equal(x.src, y.src) for x, y in zip(e1, e2, strict=True))
    train = task.sample(32, torch.Generator().manual_seed(3))
    assert not torch.equal(train.src, e1[0].src)


@pytest.mark.parametrize(
    "bad",
    [
        {"length": 0},
        {"min_length": 20, "length": 10},
        {"n_symbols": 1},
        {"eval_size": 0},
        {"min_length": -1},
    ],
)
def test_config_validation(bad):
    with pytest.raises(ValueError):
        CopyConfig(**bad)


def test_min_length_zero_means_fixed_length():
    task = CopyTask(CopyConfig(length=12, min_length=0), seed=0)
    b = sample(task, n=16)
    assert (b.src.ne(PAD).sum(1) == 12).all()


def test_copy_and_reverse_share_their_sampling():
    """One sampler (tasks.base.SequenceTask): the same draws give the same sequences, the
    reverse task's target being the copy's reversed."""

    knobs = {"length": 9, "min_length": 3, "n_symbols": 5}
    copy = sample(CopyTask(CopyConfig(**knobs), 0), n=16, seed=4)
    rev = ReverseTask(ReverseConfig(**knobs), 0).sample(16, torch.Generator().manual_seed(4))
    assert torch.equal(copy.src, rev.src)
    lengths = copy.src.ne(PAD).sum(1)
    assert torch.equal(rev.tgt_out[:, :-1], reverse_rows(copy.tgt_out[:, :-1], lengths))


def test_copy_delay_layout():
    task = CopyTask(CopyConfig(length=6, min_length=2, n_symbols=5, delay=4), seed=0)
    assert task.vocab_size == 3 + 5 + 1 and task.filler == 8 and task.distance == 6 + 4
    b = sample(task, n=64)
    lengths = b.tgt_out.ne(PAD).sum(1) - 1
    assert b.src.size(1) == int(lengths.max()) + 4
    for i in range(64):
        n = int(lengths[i])
        seq = b.src[i, :n]
        assert ((seq >= 3) & (seq < 8)).all()
        assert (b.src[i, n : n + 4] == 8).all() and (b.src[i, n + 4 :] == PAD).all()
        assert torch.equal(b.tgt_out[i, :n], seq) and b.tgt_out[i, n] == EOS


def test_copy_delay_zero_keeps_the_original_data_and_vocabulary():
    task = CopyTask(CopyConfig(), seed=0)
    assert task.vocab_size == 3 + 16 and task.filler is None and task.distance == 16
    g = torch.Generator().manual_seed(5)  # the draws of the task before the delay knob
    lengths = torch.randint(8, 17, (32,), generator=g)
    symbols = torch.randint(3, 19, (32, int(lengths.max())), generator=g)
    real = torch.arange(symbols.size(1)).unsqueeze(0) < lengths.unsqueeze(1)
    assert torch.equal(sample(task, seed=5).src, symbols.masked_fill(~real, PAD))


def test_length_known_floor_gets_eos_right_and_guesses_symbols():
    """A model that only learned where to stop (EOS) scores 1/9 + (8/9)/16 = 0.167 on length-8
    copies: that is the floor a copy cell must clear, not chance (1/16)."""
    ref = torch.tensor([[5, 6, 7, 8, 9, 10, 11, 12, EOS]])
    eos_only = torch.tensor([[4, 4, 4, 4, 4, 4, 4, 4, EOS]])  # right length, wrong symbols
    (ex,) = sequence_examples(eos_only, ref, n_symbols=16)
    assert ex["correct"] == 1 and ex["total"] == 9
    assert ex["floor_chance"] == pytest.approx(9 / 16)
    assert ex["floor_length_known"] == pytest.approx(8 / 16 + 1)
    assert floor_summary([ex])["length_known"] == pytest.approx((8 / 16 + 1) / 9)
