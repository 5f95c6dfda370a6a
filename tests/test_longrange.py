"""Long-range tasks (copy with delay, reverse, dependency, recall): data layout and metrics."""

from __future__ import annotations

import json

import pytest
import torch

from bench.cell import run_cell
from bench.spec import make_spec
from tasks import BOS, EOS, PAD, TASKS, build_task
from tasks.base import Batch, eval_sizes, teacher_forcing_pair
from tasks.copy import CopyConfig, CopyTask
from tasks.dependency import DependencyConfig, DependencyTask
from tasks.recall import RecallConfig, RecallTask
from tasks.reverse import ReverseConfig, ReverseTask, reverse_rows

GENERATED = {
    "copy-delay": (CopyTask, CopyConfig(length=9, min_length=3, delay=5, eval_size=50)),
    "reverse": (ReverseTask, ReverseConfig(length=9, min_length=3, eval_size=50)),
    "dependency": (DependencyTask, DependencyConfig(distance=6, attractor_prob=0.3, eval_size=50)),
    "recall": (RecallTask, RecallConfig(distance=5, n_keys=12, eval_size=50)),
}


def sample(task, n: int = 32, seed: int = 0):
    return task.sample(n, torch.Generator().manual_seed(seed))


def test_registry_lists_five_tasks_with_descriptions():
    assert set(TASKS) == {"copy", "reverse", "dependency", "recall", "translate"}
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


def test_dependency_layout_attractors_and_answer():
    cfg = DependencyConfig(distance=10, attractor_prob=0.5, n_classes=3, nouns_per_class=4)
    task = DependencyTask(cfg, seed=0)
    assert task.distance == 10 and task.max_target_len == 2
    b = sample(task, n=256)
    assert b.src.shape == (256, 12) and b.src.ne(PAD).all()
    cls = (b.src[:, 0] - task.noun0) // 4
    assert ((b.src[:, 0] >= task.noun0) & (b.src[:, 0] < task.filler0)).all()
    lemma = b.src[:, -1] - task.lemma0
    assert ((lemma >= 0) & (lemma < cfg.n_verbs)).all()
    assert torch.equal(b.tgt_out[:, 0], task.form0 + lemma * 3 + cls)
    assert (b.tgt_out[:, 1] == EOS).all()
    middle = b.src[:, 1:-1]
    nouns = (middle >= task.noun0) & (middle < task.filler0)
    fillers = (middle >= task.filler0) & (middle < task.lemma0)
    assert (nouns | fillers).all()
    assert 0.4 < nouns.float().mean() < 0.6
    middle_cls = (middle - task.noun0) // 4
    assert not (nouns & middle_cls.eq(cls.unsqueeze(1))).any()  # attractors mismatch the subject
    none = DependencyTask(DependencyConfig(distance=5, attractor_prob=0.0), seed=0)
    mid = sample(none).src[:, 1:-1]
    assert ((mid >= none.filler0) & (mid < none.lemma0)).all()
    assert sample(DependencyTask(DependencyConfig(distance=0), 0)).src.size(1) == 2


def test_dependency_metrics_on_hand_made_examples():
    cfg = DependencyConfig(distance=2, n_classes=2, nouns_per_class=2, n_verbs=2, n_fillers=2)
    task = DependencyTask(cfg, seed=0)
    # nouns 3,4 (class 0) 5,6 (class 1); fillers 7,8; lemmas 9,10; forms 11..14 = (lemma, class)
    assert (task.noun0, task.filler0, task.lemma0, task.form0, task.vocab_size) == (3, 7, 9, 11, 15)
    src = torch.tensor([[3, 7, 8, 9], [5, 3, 7, 10], [4, 6, 6, 10], [6, 8, 8, 9]])
    answer = torch.tensor([[11], [14], [13], [12]])
    batch = Batch.from_tensors(src, *teacher_forcing_pair(answer, torch.ones(4, dtype=torch.long)))
    hyp = torch.tensor(
        [
            [11, EOS],  # right
            [13, EOS],  # right lemma, wrong class (the attractor's): agreement fails
            [13, 13],  # right answer, no EOS: answer right, sequence wrong
            [14, EOS],  # wrong lemma, right class: agreement holds
        ]
    )
    s = task.summarise([task.score(hyp, batch)])
    assert s["answer_acc"] == 0.5
    assert s["agreement_acc"] == 0.75
    assert s["seq_acc"] == 0.25 and s["token_acc"] == pytest.approx(5 / 8)
    assert s["attracted_fraction"] == 0.5 and s["answer_acc_attracted"] == 0.5


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
        (ReverseConfig, {"length": 0}, "task.length must be >= 1, got 0"),
        (ReverseConfig, {"min_length": 9, "length": 4}, "task.min_length must be in"),
    ],
)
def test_config_validation(cls, bad, message):
    with pytest.raises(ValueError, match=message):
        cls(**bad)


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
