"""The interface every attnbench model implements, and the decoders built on it.

A model is a plain ``nn.Module`` with:
  * ``forward(src, tgt_in) -> logits (B, T, V)``   teacher forcing, pads derived from ``pad_id``
  * ``encode(src) -> enc``                         a dict of tensors, batch first
  * ``decode_all(enc, tgt_in) -> logits (B, T, V)`` teacher-forced decoder on an encoded source
  * ``init_state(enc) -> state``                   decoder state before the first token
  * ``decode_step(enc, state, tokens, step) -> (logits (B, V), state)``  one incremental step

``enc`` and ``state`` are (nested) dicts/lists of tensors whose dim 0 is the batch, so beam
search can reorder them generically with :func:`select`.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import torch
from torch import Tensor, nn

Tree = Any  # dict / list / tuple of tensors, batch on dim 0


def select(tree: Tree, index: Tensor) -> Tree:
    """Index every tensor in ``tree`` along dim 0 (reorder or expand batch rows)."""
    if isinstance(tree, Tensor):
        return tree.index_select(0, index)
    if isinstance(tree, dict):
        return {k: select(v, index) for k, v in tree.items()}
    if isinstance(tree, (list, tuple)):
        return type(tree)(select(v, index) for v in tree)
    return tree


@contextmanager
def record_attention(model: nn.Module) -> Iterator[dict[str, list[Tensor]]]:
    """Collect attention weights during the forward passes inside the block.

    Yields {module name: [weights per call]}; the model itself is "model". Modules opt in
    with a ``recorded`` attribute (None when not recording).
    """
    maps: dict[str, list[Tensor]] = {}
    modules = [(n or "model", m) for n, m in model.named_modules() if hasattr(m, "recorded")]
    for name, module in modules:
        module.recorded = maps.setdefault(name, [])
    try:
        yield maps
    finally:
        for _, module in modules:
            module.recorded = None


class Seq2Seq(nn.Module):
    """Base class: holds ``pad_id`` and documents the shared interface."""

    def __init__(self, pad_id: int) -> None:
        super().__init__()
        self.pad_id = pad_id

    def forward(self, src: Tensor, tgt_in: Tensor) -> Tensor:  # (B,S),(B,T) -> (B,T,V)
        return self.decode_all(self.encode(src), tgt_in)

    def encode(self, src: Tensor) -> dict:
        raise NotImplementedError

    def decode_all(self, enc: dict, tgt_in: Tensor) -> Tensor:  # (B,T) -> (B,T,V)
        raise NotImplementedError

    def init_state(self, enc: dict) -> dict:
        raise NotImplementedError

    def decode_step(self, enc: dict, state: dict, tokens: Tensor, step: int) -> tuple[Tensor, dict]:
        raise NotImplementedError

    def incremental_logits(self, src: Tensor, tgt_in: Tensor) -> Tensor:
        """Teacher-forced logits computed one step at a time through ``decode_step``."""
        enc = self.encode(src)
        state = self.init_state(enc)
        out = []
        for t in range(tgt_in.size(1)):
            logits, state = self.decode_step(enc, state, tgt_in[:, t], t)
            out.append(logits)
        return torch.stack(out, dim=1)


@torch.no_grad()
def greedy_decode(model: Seq2Seq, src: Tensor, max_len: int, bos: int, eos: int) -> Tensor:
    """Greedy decoding with cached state. Returns (B, L<=max_len) tokens, pad after EOS."""
    pad = model.pad_id
    enc = model.encode(src)
    state = model.init_state(enc)
    tokens = torch.full((src.size(0),), bos, dtype=torch.long, device=src.device)
    finished = torch.zeros_like(tokens, dtype=torch.bool)
    out = []
    for t in range(max_len):
        logits, state = model.decode_step(enc, state, tokens, t)
        tokens = logits.argmax(-1).masked_fill(finished, pad)
        out.append(tokens)
        finished |= tokens == eos
        if bool(finished.all()):
            break
    return torch.stack(out, dim=1)


@torch.no_grad()
def prefix_greedy_decode(model: Seq2Seq, src: Tensor, max_len: int, bos: int, eos: int) -> Tensor:
    """Greedy decoding that re-runs the decoder over the whole prefix at every step.

    No state is cached (the source is encoded once): the baseline that the cached
    :func:`greedy_decode` must equal and beat. Same output convention.
    """
    pad = model.pad_id
    enc = model.encode(src)
    prefix = torch.full((src.size(0), 1), bos, dtype=torch.long, device=src.device)
    finished = torch.zeros(src.size(0), dtype=torch.bool, device=src.device)
    for _ in range(max_len):
        tokens = model.decode_all(enc, prefix)[:, -1].argmax(-1).masked_fill(finished, pad)
        prefix = torch.cat([prefix, tokens.unsqueeze(1)], dim=1)
        finished |= tokens == eos
        if bool(finished.all()):
            break
    return prefix[:, 1:]


@torch.no_grad()
def beam_search(
    model: Seq2Seq,
    src: Tensor,
    beam: int,
    max_len: int,
    bos: int,
    eos: int,
    length_penalty: float = 0.6,
) -> Tensor:
    """Beam search with cached state and GNMT length penalty. Returns (B, L) best hypotheses."""
    pad = model.pad_id
    B, device = src.size(0), src.device
    expand = torch.arange(B, device=device).repeat_interleave(beam)
    enc = select(model.encode(src), expand)
    state = model.init_state(enc)
    scores = torch.zeros(B, beam, device=device)
    scores[:, 1:] = float("-inf")  # all beams start identical: keep one alive
    tokens = torch.full((B * beam,), bos, dtype=torch.long, device=device)
    finished = torch.zeros(B * beam, dtype=torch.bool, device=device)
    history = torch.empty(B * beam, 0, dtype=torch.long, device=device)
    base = (torch.arange(B, device=device) * beam).unsqueeze(1)  # (B, 1)
    for t in range(max_len):
        logits, state = model.decode_step(enc, state, tokens, t)
        logp = torch.log_softmax(logits.float(), dim=-1)  # (B*beam, V)
        V = logp.size(-1)
        # a finished hypothesis can only be extended by pad, at no cost
        logp = logp.masked_fill(finished.unsqueeze(1), float("-inf"))
        logp[:, pad] = torch.where(finished, 0.0, logp[:, pad])
        cand = (scores.view(-1, 1) + logp).view(B, beam * V)
        scores, flat = cand.topk(beam, dim=1)  # (B, beam)
        origin = (base + flat // V).view(-1)
        tokens = (flat % V).view(-1)
        history = torch.cat([history.index_select(0, origin), tokens.unsqueeze(1)], dim=1)
        finished = finished.index_select(0, origin) | (tokens == eos)
        state = select(state, origin)
        if bool(finished.all()):
            break
    lengths = (history != pad).sum(1).float()
    penalty = ((5.0 + lengths) / 6.0) ** length_penalty
    best = (scores.view(-1) / penalty).view(B, beam).argmax(1)
    return history.view(B, beam, -1)[torch.arange(B, device=device), best]
