"""The interface every attnbench model implements, and the decoders built on it.

A model is a plain ``nn.Module`` with:
  * ``forward(src, tgt_in) -> logits (B, T, V)``   teacher forcing, pads derived from ``pad_id``
  * ``encode(src) -> enc``                         a dict of tensors, batch first
  * ``decode_all(enc, tgt_in) -> logits (B, T, V)`` teacher-forced decoder on an encoded source
  * ``init_state(enc) -> state``                   decoder state before the first token
  * ``decode_step(enc, state, tokens, step) -> (logits (B, V), state)``  one incremental step

``enc`` and ``state`` are (nested) dicts/lists of tensors whose dim 0 is the batch, so beam
search can reorder them generically with :func:`select`. The decoders live in
:mod:`models.decoding`.
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
