"""The task registry, the shared plumbing of tasks/base.py, and the copy task."""

from __future__ import annotations

import pytest
import torch

from tasks import BOS, EOS, PAD, TASKS, build_task, task_entry
from tasks.base import sequence_scores, summarise_scores
from tasks.copy import CopyConfig, CopyTask


def sample(task: CopyTask, n: int = 32, seed: int = 0):
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


def test_metrics_on_hand_made_examples():
    ref = torch.tensor([[5, 6, 7, EOS], [5, 6, EOS, PAD]])
    perfect = torch.tensor([[5, 6, 7, EOS, PAD], [5, 6, EOS, PAD, PAD]])
    s = summarise_scores([sequence_scores(perfect, ref)])
    assert s == {"token_acc": 1.0, "seq_acc": 1.0}
    one_wrong = torch.tensor([[5, 9, 7, EOS], [5, 6, EOS, PAD]])
    s = summarise_scores([sequence_scores(one_wrong, ref)])
    assert s["token_acc"] == pytest.approx(6 / 7) and s["seq_acc"] == 0.5
    too_short = torch.tensor([[5, 6, EOS], [5, 6, EOS]])  # stops early; wrong at 7 and EOS
    s = summarise_scores([sequence_scores(too_short, ref)])
    assert s["token_acc"] == pytest.approx(5 / 7) and s["seq_acc"] == 0.5
    no_eos = torch.tensor([[5, 6, 7, 7, 7, 7]])  # never stops
    s = summarise_scores([sequence_scores(no_eos, ref[:1])])
    assert s["token_acc"] == pytest.approx(3 / 4) and s["seq_acc"] == 0.0


def test_registry_and_errors():
    assert "copy" in TASKS
    with pytest.raises(ValueError, match="choose one of: copy"):
        task_entry("sort")
    assert build_task("copy", CopyConfig(), 0).vocab_size == 3 + CopyConfig().n_symbols


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
    from tasks.reverse import ReverseConfig, ReverseTask, reverse_rows

    knobs = {"length": 9, "min_length": 3, "n_symbols": 5}
    copy = sample(CopyTask(CopyConfig(**knobs), 0), n=16, seed=4)
    rev = ReverseTask(ReverseConfig(**knobs), 0).sample(16, torch.Generator().manual_seed(4))
    assert torch.equal(copy.src, rev.src)
    lengths = copy.src.ne(PAD).sum(1)
    assert torch.equal(rev.tgt_out[:, :-1], reverse_rows(copy.tgt_out[:, :-1], lengths))


@pytest.mark.parametrize("name", ["copy", "reverse", "dependency", "recall"])
def test_generated_tasks_share_their_plumbing(name):
    from tasks.base import AnswerTask, GeneratedTask, SequenceTask

    task = build_task(name, TASKS[name].config(eval_size=10), 0)
    assert isinstance(task, GeneratedTask) and task.beam_size == 1
    kind = SequenceTask if name in ("copy", "reverse") else AnswerTask
    assert isinstance(task, kind)
    assert task.floor_metric == ("token_acc" if kind is SequenceTask else "answer_acc")
    sizes = [b.src.size(0) for b in task.eval_batches(4)]
    assert sizes == [4, 4, 2]
    budget = task.max_output_len(task.eval_batches(4)[0].src)
    assert budget.tolist() == [task.max_target_len] * 4


def test_minimum_checks_name_the_knob():
    from tasks.base import check_minimums

    cfg = type("Knobs", (), {"n_values": 1, "eval_size": 5})()
    check_minimums(cfg, eval_size=1)
    with pytest.raises(ValueError, match=r"task.n_values must be >= 2, got 1"):
        check_minimums(cfg, eval_size=1, n_values=2)
