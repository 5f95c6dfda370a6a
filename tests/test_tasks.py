"""The task registry, the shared plumbing of tasks/base.py, and the copy task."""

from __future__ import annotations

import pytest
import torch

from tasks import BOS, EOS, PAD, TASKS, build_task, task_entry
from tasks.base import eval_sizes, sequence_scores, summarise_scores
from tasks.copy import CopyConfig, CopyTask
from tasks.dependency import DependencyConfig, DependencyTask
from tasks.match import MatchConfig, MatchTask
from tasks.recall import RecallConfig, RecallTask
from tasks.reverse import ReverseConfig, ReverseTask

GENERATED = {
    "copy-delay": (CopyTask, CopyConfig(length=9, min_length=3, delay=5, eval_size=50)),
    "reverse": (ReverseTask, ReverseConfig(length=9, min_length=3, eval_size=50)),
    "dependency": (DependencyTask, DependencyConfig(distance=6, attractor_prob=0.3, eval_size=50)),
    "recall": (RecallTask, RecallConfig(distance=5, n_keys=12, eval_size=50)),
    "match": (MatchTask, MatchConfig(distance=8, context=10, eval_size=50)),
    "match-ends": (MatchTask, MatchConfig(distance=8, placement="ends", eval_size=50)),
}


def sample(task, n: int = 32, seed: int = 0):  # noqa: ANN001, ANN201
    return task.sample(n, torch.Generator().manual_seed(seed))


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


@pytest.mark.parametrize("name", ["copy", "reverse", "dependency", "recall", "match"])
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


def test_value_checks_name_the_knob_and_the_bound():
    from checks import check_values, within

    cfg = type("Knobs", (), {"n_values": 1, "eval_size": 5, "p": 1.0, "x": float("nan")})()
    check_values(cfg, "task", eval_size=">= 1", p="[0, 1]")
    with pytest.raises(ValueError, match=r"task.n_values must be >= 2, got 1"):
        check_values(cfg, "task", eval_size=">= 1", n_values=">= 2")
    with pytest.raises(ValueError, match=r"train.p must be in \[0, 1\), got 1.0"):
        check_values(cfg, "train", p="[0, 1)")
    for bound in (">= 0", "<= 1", "(-inf, inf)"):
        assert not within(float("nan"), bound)  # NaN is inside no bound
    assert within(0, "[0, 1)") and not within(0, "(0, 1]") and within(1, "(0, 1]")
    assert within(1000, "<= 1000") and not within(1001, "<= 1000") and within(3, "> 2")
    with pytest.raises(ValueError, match="not a bound"):
        within(1, "between 0 and 1")


def test_registry_lists_six_tasks_with_descriptions():
    assert set(TASKS) == {"copy", "reverse", "dependency", "match", "recall", "translate"}
    assert all(entry.description for entry in TASKS.values())


@pytest.mark.parametrize("name", sorted(GENERATED))
def test_deterministic_for_a_seed_and_eval_disjoint(name):
    cls, cfg = GENERATED[name]
    task = cls(cfg, seed=3)
    a, b, c = sample(task), sample(task), sample(task, seed=1)
    assert all(torch.equal(x, y) for x, y in zip(a[:3], b[:3], strict=True))
    assert not torch.equal(a.src, c.src)
    e1, e2 = task.eval_batches(16), cls(cfg, seed=3).eval_batches(16)
    assert [x.src.size(0) for x in e1] == eval_sizes(50, 16) == [16, 16, 16, 2]
    assert all(torch.equal(x.src, y.src) for x, y in zip(e1, e2, strict=True))
    train = task.sample(16, torch.Generator().manual_seed(3))
    assert not torch.equal(train.src, e1[0].src)
    assert cls(cfg, seed=4).eval_batches(16)[0].src.ne(e1[0].src).any()


@pytest.mark.parametrize("name", sorted(GENERATED))
def test_teacher_forcing_pair_and_token_ranges(name):
    cls, cfg = GENERATED[name]
    task = cls(cfg, seed=0)
    b = sample(task, n=64)
    assert b.tgt_in.shape == b.tgt_out.shape
    assert (b.tgt_in[:, 0] == BOS).all()
    n_tgt = b.tgt_out.ne(PAD).sum(1)
    assert (b.tgt_out[torch.arange(64), n_tgt - 1] == EOS).all()  # EOS ends each target
    assert torch.equal(
        b.tgt_in[:, 1:][b.tgt_out[:, 1:].ne(PAD)], b.tgt_out[:, :-1][b.tgt_out[:, 1:].ne(PAD)]
    )
    assert b.src.max() < task.vocab_size and b.tgt_out.max() < task.vocab_size
    assert int(n_tgt.max()) <= task.max_target_len
    assert b.n_tgt_tokens == int(n_tgt.sum()) and b.n_src_tokens == int(b.src.ne(PAD).sum())


@pytest.mark.parametrize(
    "cls,bad,message",
    [
        (DependencyConfig, {"distance": -1}, "task.distance must be >= 0, got -1"),
        (DependencyConfig, {"attractor_prob": 1.5}, "task.attractor_prob must be in"),
        (DependencyConfig, {"n_classes": 1}, "task.n_classes must be >= 2"),
        (DependencyConfig, {"n_fillers": 0}, "task.n_fillers must be >= 1"),
        (RecallConfig, {"distance": 0}, "task.distance must be >= 1, got 0"),
        (RecallConfig, {"distance": 200}, "task.n_keys must be >= distance=200"),
        (RecallConfig, {"n_values": 1}, "task.n_values must be >= 2"),
        (CopyConfig, {"delay": -1}, "task.delay must be >= 0, got -1"),
        (MatchConfig, {"placement": "middle"}, "unknown task.placement 'middle'; choose one of"),
        (MatchConfig, {"distance": 1}, "task.distance must be >= 2, got 1"),
        (MatchConfig, {"distance": 2, "jitter": 0.5}, "allows a distance below 2"),
        (MatchConfig, {"jitter": 1.0}, r"task.jitter must be in \[0, 1\)"),
        (MatchConfig, {"n_values": 1}, "task.n_values must be >= 2"),
        (MatchConfig, {"relation": "order"}, "unknown task.relation 'order'; choose one of"),
        (MatchConfig, {"relation": "offset"}, "task.relation=offset needs task.jitter=0"),
        (ReverseConfig, {"length": 0}, "task.length must be >= 1, got 0"),
        (ReverseConfig, {"min_length": 9, "length": 4}, "task.min_length must be in"),
    ],
)
def test_config_validation(cls, bad, message):
    with pytest.raises(ValueError, match=message):
        cls(**bad)
