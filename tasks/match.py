"""Match at a distance: find the one item whose key the query names, answer its value.

Every source token but one is an *item*, a (key, value) pair in one token; the one other
token is the *query* ``?q``, naming a key. Source (``placement: inside``)::

    left context · ?q · gap (distance−1 items) · (q, v) · right context   ->   v

The key ``q`` sits on exactly one item, ``distance`` positions after the query, and the
answer is that item's value ``v``. Every other item has a key other than ``q`` and a
uniform value, so the item is found only by comparing keys with the query.

Which path the distance lengthens (and why no shortcut reaches the answer):

- The answer is fixed by a *relation* between two positions (the item whose key the query
  names), not by one marked position a decoder could read in one attention hop.
- Self-attention compares the query with every item in one hop, at any distance: path O(1).
- A recurrent encoder must carry ``q`` from the query across ``distance`` items of noise
  (forward), or carry every (key, value) of the gap until it meets the query (backward):
  path O(distance). The route through the encoder's end states (``init_state``) is longer
  still: the pair sits at a random offset inside ``context`` random items on both sides.
- Stacked convolutions relate the two after O(distance / k) layers; ConvS2S's decoder,
  which attends once per layer, can also read the query and then the item: a route of
  constant length that the report's numbers, not this docstring, must settle.
- The distance is jittered (``distance`` ± ``jitter``·distance), so "the item a fixed
  number of positions after the query" is not the answer (the ``offset`` floor measures it
  per example), and "the most frequent value" is right only by chance (``frequent``).

``placement: ends`` is the shortcut probe: the query opens the source and the item closes
it (no context), so the answer is the value of the last token, one step from an encoder's
end state. An LSTM should stay accurate there at every distance; that it does, while
``inside`` gets harder with distance for a recurrent encoder, shows that distance, not
position, is what hurts.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import torch
from torch import Tensor

from checks import check_values
from tasks.base import N_SPECIAL, PAD, AnswerTask, Batch

PLACEMENTS = ("inside", "ends")
RELATIONS = ("key", "offset")


@dataclass(frozen=True)
class MatchConfig:
    """Match-at-a-distance knobs."""

    distance: int = 32
    """Positions from the query to the item it names (the dependency distance)."""
    jitter: float = 0.25
    """Each example's distance is uniform in distance·(1 ± jitter) (0: always ``distance``)."""
    context: int = 32
    """Random items around the pair (split at random between left and right; inside only)."""
    placement: str = "inside"
    """inside: the pair at a random offset within the context; ends: the query first and the
    item last, no context (the end-state shortcut probe)."""
    relation: str = "key"
    """key: the query names a key and the answer is the value of the item holding it;
    offset: the query names nothing, the answer is the value of the item exactly
    ``distance`` positions after it (needs jitter 0: the offset is the rule)."""
    n_keys: int = 8
    """Keys an item or a query can name."""
    n_values: int = 8
    """Values an item can hold (the answers; chance is 1 / n_values)."""
    eval_size: int = 512
    """Held-out examples scored by greedy decoding after training."""

    def __post_init__(self) -> None:
        check_values(
            self,
            "task",
            distance=">= 2",
            context=">= 0",
            n_keys=">= 2",
            n_values=">= 2",
            eval_size=">= 1",
        )
        check_values(self, "task", jitter="[0, 1)")
        if self.placement not in PLACEMENTS:
            raise ValueError(
                f"unknown task.placement {self.placement!r}; choose one of: {', '.join(PLACEMENTS)}"
            )
        if self.relation not in RELATIONS:
            raise ValueError(
                f"unknown task.relation {self.relation!r}; choose one of: {', '.join(RELATIONS)}"
            )
        if self.relation == "offset" and self.jitter:
            raise ValueError(
                f"task.relation=offset needs task.jitter=0 (got {self.jitter}): the fixed "
                "offset is what identifies the item"
            )
        if self.shortest() < 2:
            raise ValueError(
                f"task.distance={self.distance} with jitter={self.jitter} allows a distance "
                "below 2: the item would sit next to the query"
            )

    def shortest(self) -> int:
        return round(self.distance * (1 - self.jitter))

    def longest(self) -> int:
        return round(self.distance * (1 + self.jitter))

    def max_lengths(self) -> tuple[int, int]:
        """(source, target incl. EOS) lengths of the longest example: memory sizing."""
        context = self.context if self.placement == "inside" else 0
        return context + self.longest() + 1, 2


class MatchTask(AnswerTask):
    """Seeded, vectorised match-at-a-distance data; answer accuracy with chance, offset and
    most-frequent-value floors. Vocabulary after PAD, BOS, EOS: ``n_keys`` queries, then
    ``n_keys × n_values`` items (key-major), then ``n_values`` answers."""

    name = "match"

    def __init__(self, cfg: MatchConfig, seed: int) -> None:
        self.cfg = cfg
        self.seed = seed
        self.distance = cfg.distance
        self.query0 = N_SPECIAL
        self.item0 = self.query0 + cfg.n_keys
        self.answer0 = self.item0 + cfg.n_keys * cfg.n_values
        self.vocab_size = self.answer0 + cfg.n_values

    def sample(self, n: int, generator: torch.Generator) -> Batch:
        c, g = self.cfg, generator
        dist = torch.randint(c.shortest(), c.longest() + 1, (n,), generator=g)  # (n,)
        context = c.context if c.placement == "inside" else 0
        S = context + c.longest() + 1  # ?q ... (q, v), padded to the longest distance
        left = (
            torch.randint(context // 4, context - context // 4 + 1, (n,), generator=g)
            if context
            else torch.zeros(n, dtype=torch.long)
        )
        length = left + dist + 1 + (context - left)  # (n,) real source length
        q = torch.randint(0, c.n_keys, (n,), generator=g)
        if c.relation == "key":
            keys = torch.randint(0, c.n_keys - 1, (n, S), generator=g)  # any key but q
            keys = keys + (keys >= q.unsqueeze(1)).long()
        else:  # offset: keys carry nothing, the query names no key
            keys = torch.randint(0, c.n_keys, (n, S), generator=g)
            q = torch.zeros_like(q)
        values = torch.randint(0, c.n_values, (n, S), generator=g)  # (n, S)
        rows, at = torch.arange(n), left + dist
        keys[rows, at] = q
        src = self.item0 + keys * c.n_values + values
        src[rows, left] = self.query0 + q
        answer = self.answer0 + values[rows, at]
        pad = torch.arange(S).unsqueeze(0) >= length.unsqueeze(1)
        return self.answer_batch(src.masked_fill(pad, PAD), answer.unsqueeze(1))

    def score(self, hyp: Tensor, batch: Batch) -> dict[str, float]:
        return self.answer_counts(hyp, batch)

    def examples(self, hyp: Tensor, batch: Batch) -> list[dict[str, Any]]:
        """Answer outcome per example; floors: a random value (chance), the value of the item
        a fixed ``distance`` after the query (offset), and the most frequent value among the
        source's items, ties split (frequent)."""
        c, src = self.cfg, batch.src
        n = src.size(0)
        truth = batch.tgt_out[:, 0] - self.answer0  # (n,) value index
        is_item = (src >= self.item0) & (src < self.answer0)
        value = (src - self.item0) % c.n_values  # (n, S), meaningful on items
        query_pos = ((src >= self.query0) & (src < self.item0)).long().argmax(1)
        at = (query_pos + c.distance).clamp(max=src.size(1) - 1)
        offset = (is_item[torch.arange(n), at] & value[torch.arange(n), at].eq(truth)).float()
        counts = torch.zeros(n, c.n_values).scatter_add_(1, value * is_item, is_item.float())
        modes = counts.eq(counts.max(1, keepdim=True).values)
        frequent = modes[torch.arange(n), truth].float() / modes.sum(1)
        floors = {"chance": torch.full((n,), 1.0 / c.n_values), "frequent": frequent}
        if c.relation == "key":  # under offset, the offset is the rule, not a shortcut
            floors["offset"] = offset
        return self.answer_outcomes(hyp, batch, floors)

    def summarise(self, parts: list[dict[str, float]]) -> dict[str, Any]:
        return self.answer_summary(parts)
