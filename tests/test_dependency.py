"""Agreement task (tasks/dependency.py): layout, attractors, metrics."""

from __future__ import annotations

import pytest
import torch

from tasks import EOS, PAD
from tasks.base import Batch, teacher_forcing_pair
from tasks.dependency import DependencyConfig, DependencyTask


def sample(task, n: int = 32, seed: int = 0):  # noqa: ANN001, ANN201
    return task.sample(n, torch.Generator().manual_seed(seed))


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
