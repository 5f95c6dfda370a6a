"""Agreement across a gap: "the cat [... distractors ...] chase?" -> "chases".

The source is a subject noun, ``distance`` distractor tokens, then a verb lemma; the target
is the one verb form that agrees with the subject's class (the number of "cat" vs "cats").
Distractors are neutral fillers or, with probability ``attractor_prob``, nouns of another
class: agreement attractors, which a model that agrees with the nearest noun gets wrong.
Knowing the lemma (local) and the subject's class (``distance + 1`` tokens back) are both
needed, so guessing gives 1 / (n_verbs * n_classes).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import torch
from torch import Tensor

from checks import check_values
from tasks.base import N_SPECIAL, AnswerTask, Batch, ratio


@dataclass(frozen=True)
class DependencyConfig:
    """Agreement task knobs."""

    distance: int = 16
    """Distractor tokens between the subject and the verb (the dependency distance)."""
    attractor_prob: float = 0.1
    """Chance that a distractor is a noun of another class (an agreement attractor)."""
    n_classes: int = 2
    """Agreement classes (2: singular and plural)."""
    nouns_per_class: int = 8
    """Noun tokens per class; subjects and attractors are drawn from them."""
    n_verbs: int = 4
    """Verb lemmas; each has one form per class (the answers)."""
    n_fillers: int = 32
    """Neutral distractor tokens."""
    eval_size: int = 512
    """Held-out examples scored by greedy decoding after training."""

    def __post_init__(self) -> None:
        check_values(self, "task", distance=">= 0")
        check_values(self, "task", attractor_prob="[0, 1]")
        check_values(
            self,
            "task",
            n_classes=">= 2",
            nouns_per_class=">= 1",
            n_verbs=">= 1",
            n_fillers=">= 1",
            eval_size=">= 1",
        )

    def max_lengths(self) -> tuple[int, int]:
        """(source, target incl. EOS) lengths of the longest example: memory sizing."""
        return self.distance + 2, 2


class DependencyTask(AnswerTask):
    """Seeded, vectorised agreement data; answer, agreement and sequence metrics.

    Vocabulary after PAD, BOS, EOS: nouns (class-major), fillers, verb lemmas, verb forms
    (lemma-major). ``distance`` = the number of tokens between subject and verb.
    """

    name = "dependency"

    def __init__(self, cfg: DependencyConfig, seed: int) -> None:
        self.cfg = cfg
        self.seed = seed
        self.distance = cfg.distance
        self.noun0 = N_SPECIAL
        self.filler0 = self.noun0 + cfg.n_classes * cfg.nouns_per_class
        self.lemma0 = self.filler0 + cfg.n_fillers
        self.form0 = self.lemma0 + cfg.n_verbs
        self.vocab_size = self.form0 + cfg.n_verbs * cfg.n_classes

    def sample(self, n: int, generator: torch.Generator) -> Batch:
        c, g = self.cfg, generator
        cls = torch.randint(0, c.n_classes, (n,), generator=g)  # subject class
        subject = self._noun(cls, torch.randint(0, c.nouns_per_class, (n,), generator=g))
        d = c.distance
        fillers = torch.randint(self.filler0, self.lemma0, (n, d), generator=g)
        # attractors: another class, any noun of it
        other = (cls.unsqueeze(1) + torch.randint(1, c.n_classes, (n, d), generator=g)) % (
            c.n_classes
        )
        attractors = self._noun(other, torch.randint(0, c.nouns_per_class, (n, d), generator=g))
        is_attractor = torch.rand(n, d, generator=g) < c.attractor_prob
        lemma = torch.randint(0, c.n_verbs, (n,), generator=g)
        src = torch.cat(
            [
                subject.unsqueeze(1),
                torch.where(is_attractor, attractors, fillers),
                (self.lemma0 + lemma).unsqueeze(1),
            ],
            dim=1,
        )  # (n, d+2)
        answer = (self.form0 + lemma * c.n_classes + cls).unsqueeze(1)  # (n, 1)
        return self.answer_batch(src, answer)

    def _noun(self, cls: Tensor, index: Tensor) -> Tensor:
        return self.noun0 + cls * self.cfg.nouns_per_class + index

    def score(self, hyp: Tensor, batch: Batch) -> dict[str, float]:
        """Sequence and answer counts, agreement (right class, any lemma), and attractor cases."""
        c = self.cfg
        subject_cls = (batch.src[:, 0] - self.noun0) // c.nouns_per_class
        pred = hyp[:, 0]
        is_form = (pred >= self.form0) & (pred < self.vocab_size)
        agrees = is_form & ((pred - self.form0) % c.n_classes).eq(subject_cls)
        middle = batch.src[:, 1:-1]
        attracted = ((middle >= self.noun0) & (middle < self.filler0)).any(1)
        right = pred.eq(batch.tgt_out[:, 0])
        return {
            **self.answer_counts(hyp, batch),
            "agree_correct": float(agrees.sum()),
            "attracted_correct": float((right & attracted).sum()),
            "attracted_total": float(attracted.sum()),
        }

    def examples(self, hyp: Tensor, batch: Batch) -> list[dict[str, Any]]:
        """Answer outcome per example; floors: a random verb form (chance) and the right
        lemma (read locally, just before the answer) in a random class."""
        c, ones = self.cfg, torch.ones(hyp.size(0))
        floors = {"chance": ones / (c.n_verbs * c.n_classes), "lemma_only": ones / c.n_classes}
        return self.answer_outcomes(hyp, batch, floors)

    def summarise(self, parts: list[dict[str, float]]) -> dict[str, Any]:
        return {
            **self.answer_summary(parts),
            "agreement_acc": ratio(parts, "agree_correct", "answer_total"),
            "answer_acc_attracted": ratio(parts, "attracted_correct", "attracted_total"),
            "attracted_fraction": ratio(parts, "attracted_total", "answer_total"),
        }
