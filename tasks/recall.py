"""Associative recall: key-value pairs, then a query key; output the value stored with it.

Source: ``k1 v1 k2 v2 ... kn vn ? kq`` with n = ``distance`` distinct keys; target: the value
paired with ``kq``. The queried pair is uniform among the n, so no fixed position holds the
answer: the model must match the query against the keys (content-based look-up).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import torch
from torch import Tensor

from checks import check_values
from tasks.base import N_SPECIAL, AnswerTask, Batch, ratio


@dataclass(frozen=True)
class RecallConfig:
    """Associative recall knobs."""

    distance: int = 8
    """Key-value pairs before the query (the distance); the queried one is 1 to this many back."""
    n_keys: int = 128
    """Key vocabulary; keys within one example are distinct, so distance <= n_keys."""
    n_values: int = 16
    """Value vocabulary (guessing gives 1 / n_values)."""
    eval_size: int = 512
    """Held-out examples scored by greedy decoding after training."""

    def __post_init__(self) -> None:
        check_values(self, "task", distance=">= 1")
        if self.n_keys < self.distance:
            raise ValueError(
                f"task.n_keys must be >= distance={self.distance} (keys are distinct), "
                f"got {self.n_keys}"
            )
        check_values(self, "task", n_values=">= 2", eval_size=">= 1")

    def max_lengths(self) -> tuple[int, int]:
        """(source, target incl. EOS) lengths of the longest example: memory sizing."""
        return 2 * self.distance + 2, 2


class RecallTask(AnswerTask):
    """Seeded, vectorised recall data; answer and sequence metrics.

    Vocabulary after PAD, BOS, EOS: the query marker, keys, values. ``distance`` = the number
    of pairs: the queried pair is uniformly 1..distance pairs back from the query, i.e. its
    key is 3 to 2 * distance + 1 tokens before the query key. ``answer_acc_far_half`` is the
    answer accuracy on queries of the older half of the pairs.
    """

    name = "recall"

    def __init__(self, cfg: RecallConfig, seed: int) -> None:
        self.cfg = cfg
        self.seed = seed
        self.distance = cfg.distance
        self.query_marker = N_SPECIAL
        self.key0 = N_SPECIAL + 1
        self.value0 = self.key0 + cfg.n_keys
        self.vocab_size = self.value0 + cfg.n_values

    def sample(self, n: int, generator: torch.Generator) -> Batch:
        c, g = self.cfg, generator
        p = c.distance
        # distinct keys per row: the first p of a random permutation of the key vocabulary
        keys = self.key0 + torch.rand(n, c.n_keys, generator=g).argsort(1)[:, :p]  # (n,p)
        values = torch.randint(self.value0, self.vocab_size, (n, p), generator=g)
        q = torch.randint(0, p, (n, 1), generator=g)  # queried pair
        pairs = torch.stack([keys, values], dim=2).view(n, 2 * p)  # k1 v1 k2 v2 ...
        marker = torch.full((n, 1), self.query_marker)
        src = torch.cat([pairs, marker, keys.gather(1, q)], dim=1)  # (n, 2p+2)
        answer = values.gather(1, q)  # (n,1)
        return self.answer_batch(src, answer)

    def score(self, hyp: Tensor, batch: Batch) -> dict[str, float]:
        """Sequence and answer counts, and answer counts for the older half of the pairs."""
        keys = batch.src[:, 0:-2:2]  # (B,p)
        q = keys.eq(batch.src[:, -1:]).int().argmax(1)  # which pair was queried
        far = q < (self.cfg.distance + 1) // 2
        right = hyp[:, 0].eq(batch.tgt_out[:, 0])
        return {
            **self.answer_counts(hyp, batch),
            "far_correct": float((right & far).sum()),
            "far_total": float(far.sum()),
        }

    def examples(self, hyp: Tensor, batch: Batch) -> list[dict[str, Any]]:
        """Answer outcome per example; floors: a random value (chance), the value of a random
        pair in the context, and the context's most frequent value (ties split evenly)."""
        values = batch.src[:, 1:-2:2]  # (B, p)
        answer = batch.tgt_out[:, :1]  # (B, 1)
        counts = values.unsqueeze(2).eq(values.unsqueeze(1)).sum(2)  # (B, p): copies of each
        is_mode = counts.eq(counts.max(1, keepdim=True).values)  # (B, p)
        # each distinct modal value once: a modal value appears `count` times among the pairs
        n_modes = (is_mode.float() / counts).sum(1)  # (B,)
        answer_is_mode = (is_mode & values.eq(answer)).any(1)
        floors = {
            "chance": torch.ones(hyp.size(0)) / self.cfg.n_values,
            "any_value_in_context": values.eq(answer).float().mean(1),
            "most_frequent_value": answer_is_mode.float() / n_modes,
        }
        return self.answer_outcomes(hyp, batch, floors)

    def summarise(self, parts: list[dict[str, float]]) -> dict[str, Any]:
        return {
            **self.answer_summary(parts),
            "answer_acc_far_half": ratio(parts, "far_correct", "far_total"),
        }
