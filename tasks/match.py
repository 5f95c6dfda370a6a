"""Match at a distance: find where the marked symbol recurs, answer the symbol after it.

Source (``placement: inside``)::

    left context · M q · gap (distance−1 symbols) · q v · right context   ->   v

``M`` marks the query symbol ``q``; ``q`` recurs exactly once, ``distance`` positions later,
and the answer is the symbol ``v`` right after the recurrence. Every other symbol is drawn
uniformly from the symbols other than ``q``, so ``q`` is found only by comparing symbols.

Which path the distance lengthens (and why no shortcut reaches the answer):

- The answer is fixed by a *relation* between two unmarked positions (the recurrence of
  ``q``), not by marked positions a decoder could read in one attention hop each: a decoder
  that attends to the marker learns ``q``, but to find ``v`` some layer must have compared
  ``q`` with the symbol ``distance`` positions away.
- Self-attention compares the two in one hop at any distance (a second decoder or encoder
  layer then reads ``v``): path O(1).
- A recurrent encoder must carry ``q`` from the marker to the recurrence across
  ``distance`` steps of noise (forward), or carry every (symbol, next symbol) pair of the gap
  until it meets the marker (backward): path O(distance). The route through the encoder's
  end states (``init_state``) is longer still: the pair sits inside ``context`` random
  symbols on both sides, at a random offset, so neither end state is near it.
- Stacked convolutions with kernel k relate the two after O(distance / k) layers.
- The recurrence offset is jittered (``distance`` ± ``jitter``·distance), so "the symbol a
  fixed number of positions after the marker" is not the answer: the ``offset`` floor
  measures that shortcut per example. "The most frequent symbol" is ``q``, never ``v``.

``placement: ends`` is the shortcut probe: ``M q`` opens the source and ``q v`` closes it
(no context). A bidirectional LSTM's two end states then hold ``q`` and the last pair, so
it stays easy at every distance; that it does, while ``inside`` gets harder with distance
for a recurrent model, shows that distance, not position, is what hurts.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import torch
from torch import Tensor

from tasks.base import N_SPECIAL, PAD, AnswerTask, Batch, check_minimums

PLACEMENTS = ("inside", "ends")


@dataclass(frozen=True)
class MatchConfig:
    """Match-at-a-distance knobs."""

    distance: int = 32
    """Positions from the query symbol to its recurrence (the dependency distance)."""
    jitter: float = 0.25
    """Each example's distance is uniform in distance·(1 ± jitter) (0: always ``distance``)."""
    context: int = 64
    """Random symbols around the pair (split at random between left and right; inside only)."""
    placement: str = "inside"
    """inside: the pair at a random offset within the context; ends: the pair at the two
    ends of the source, no context (the end-state shortcut probe)."""
    n_symbols: int = 16
    """Alphabet of the query, the answer and every filler."""
    eval_size: int = 512
    """Held-out examples scored by greedy decoding after training."""

    def __post_init__(self) -> None:
        check_minimums(self, distance=2, context=0, n_symbols=3, eval_size=1)
        if not 0.0 <= self.jitter < 1.0:
            raise ValueError(f"task.jitter must be in [0, 1), got {self.jitter}")
        if self.placement not in PLACEMENTS:
            raise ValueError(
                f"unknown task.placement {self.placement!r}; choose one of: {', '.join(PLACEMENTS)}"
            )
        if self.shortest() < 2:
            raise ValueError(
                f"task.distance={self.distance} with jitter={self.jitter} allows a distance "
                "below 2: the recurrence would sit next to the query"
            )

    def shortest(self) -> int:
        return round(self.distance * (1 - self.jitter))

    def longest(self) -> int:
        return round(self.distance * (1 + self.jitter))

    def max_lengths(self) -> tuple[int, int]:
        """(source, target incl. EOS) lengths of the longest example: memory sizing."""
        context = self.context if self.placement == "inside" else 0
        return context + self.longest() + 3, 2


class MatchTask(AnswerTask):
    """Seeded, vectorised match-at-a-distance data; answer accuracy with chance and offset
    floors. Vocabulary after PAD, BOS, EOS: the marker, then ``n_symbols`` symbols."""

    name = "match"

    def __init__(self, cfg: MatchConfig, seed: int) -> None:
        self.cfg = cfg
        self.seed = seed
        self.distance = cfg.distance
        self.marker = N_SPECIAL
        self.symbol0 = N_SPECIAL + 1
        self.vocab_size = self.symbol0 + cfg.n_symbols

    def sample(self, n: int, generator: torch.Generator) -> Batch:
        c, g = self.cfg, generator
        dist = torch.randint(c.shortest(), c.longest() + 1, (n,), generator=g)  # (n,)
        context = c.context if c.placement == "inside" else 0
        S = context + c.longest() + 3  # M q ... q v, padded to the longest distance
        left = (
            torch.randint(context // 4, context - context // 4 + 1, (n,), generator=g)
            if context
            else torch.zeros(n, dtype=torch.long)
        )
        length = left + dist + 3 + (context - left)  # (n,) real source length
        q = torch.randint(0, c.n_symbols, (n,), generator=g)
        # fillers and the answer: any symbol but q (shift past it)
        other = torch.randint(0, c.n_symbols - 1, (n, S), generator=g)
        other = other + (other >= q.unsqueeze(1)).long()
        src = self.symbol0 + other  # (n, S)
        rows = torch.arange(n)
        src[rows, left] = self.marker
        src[rows, left + 1] = self.symbol0 + q
        src[rows, left + 1 + dist] = self.symbol0 + q
        answer = src[rows, left + 2 + dist]  # the symbol after the recurrence (never q)
        pad = torch.arange(S).unsqueeze(0) >= length.unsqueeze(1)
        return self.answer_batch(src.masked_fill(pad, PAD), answer.unsqueeze(1))

    def score(self, hyp: Tensor, batch: Batch) -> dict[str, float]:
        return self.answer_counts(hyp, batch)

    def examples(self, hyp: Tensor, batch: Batch) -> list[dict[str, Any]]:
        """Answer outcome per example; floors: a random symbol other than the query
        (chance) and the symbol a fixed ``distance`` after the query (offset)."""
        c = self.cfg
        n = hyp.size(0)
        query_pos = batch.src.eq(self.marker).long().argmax(1) + 1  # (n,)
        at = (query_pos + c.distance + 1).clamp(max=batch.src.size(1) - 1)
        offset = batch.src[torch.arange(n), at].eq(batch.tgt_out[:, 0]).float()
        floors = {"chance": torch.full((n,), 1.0 / (c.n_symbols - 1)), "offset": offset}
        return self.answer_outcomes(hyp, batch, floors)

    def summarise(self, parts: list[dict[str, float]]) -> dict[str, Any]:
        return self.answer_summary(parts)
