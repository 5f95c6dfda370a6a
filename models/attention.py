"""Single-head dot-product attention over a padded source, through a fused SDPA kernel.

Used by the LSTM (Luong "general") and ConvS2S (multi-step) attentions. Written out, these
attentions materialise (B, T, S) scores and weights, O(n^2) memory per layer; a 4-D call to
``F.scaled_dot_product_attention`` takes PyTorch's flash kernel (O(n) memory, and faster
on CPU and GPU). A 3-D call would silently fall back to the math kernel, hence the
``unsqueeze(1)``: one head.
"""

from __future__ import annotations

from collections.abc import Callable

import torch.nn.functional as F
from torch import Tensor

Override = Callable[[Tensor, Tensor | None], Tensor]
"""An intervention on attention weights: ``(weights (B,[h,]T,S), keep or None) -> weights``.

Attention modules carry an ``override`` attribute (None by default, like ``recorded``);
when set, the weights are computed explicitly, passed through it and applied to the values
(see bench.attention.intervention). ``keep`` broadcasts against the weights (True = may attend).
"""


def source_keep(pad: Tensor) -> Tensor:
    """(B,S) pad flags -> (B,1,1,S) keep mask: broadcast over queries, never (T,S)."""
    return ~pad[:, None, None, :]


def dot_attention(
    query: Tensor,
    keys: Tensor,
    values: Tensor,
    keep: Tensor,
    recorded: list[Tensor] | None = None,
    override: Override | None = None,
) -> Tensor:
    """query (B,T,e), keys/values (B,S,e), keep (B,1,1,S) -> context (B,T,e); unscaled scores.

    ``recorded`` (see models.seq2seq.record_attention) receives the (B,T,S) weights, computed
    apart for inspection since the fused kernel does not return them. ``override`` (None:
    the fused kernel) edits the explicitly computed weights before they are applied.
    """
    if override is not None:
        scores = (query @ keys.transpose(1, 2)).masked_fill(~keep[:, 0], float("-inf"))
        weights = scores.softmax(-1)  # (B,T,S)
        if recorded is not None:
            recorded.append(weights.detach())
        return override(weights, keep[:, 0]).to(values.dtype) @ values
    q, k, v = query.unsqueeze(1), keys.unsqueeze(1), values.unsqueeze(1)  # (B,1,*,e)
    context = F.scaled_dot_product_attention(q, k, v, attn_mask=keep, scale=1.0)
    if recorded is not None:
        scores = (query @ keys.transpose(1, 2)).masked_fill(~keep[:, 0], float("-inf"))
        recorded.append(scores.softmax(-1).detach())
    return context.squeeze(1)
