"""FLOPs per target token: analytical formulas per architecture, and PyTorch's counter.

A multiply-add is 2 FLOPs. Training FLOPs = 3 x forward (backward ~ 2 x forward). Formulas
count the matmuls that dominate (projections, attention scores and sums, recurrences,
convolutions, output softmax layer) on a batch's padded shapes, per real target token.
``torch.utils.flop_counter`` cannot see inside ``aten::lstm``, so the LSTM has no counted
value; SDPA is counted through its math decomposition.
"""

from __future__ import annotations

from typing import Any

import torch
from torch.nn.attention import SDPBackend, sdpa_kernel
from torch.utils.flop_counter import FlopCounterMode

# dense bf16 tensor-core peak FLOP/s, for model FLOPs utilisation on GPU
GPU_PEAK_BF16 = {
    "H200": 989e12,
    "H100": 989e12,
    "A100": 312e12,
    "L40S": 362e12,
    "A10": 125e12,
    "L4": 121e12,
    "4090": 165e12,
}


def forward_flops(model: str, cfg: Any, B: int, S: int, T: int, V: int) -> float:
    """Forward FLOPs of one (B, S) -> (B, T) batch."""
    src, tgt = B * S, B * T
    if model == "transformer":
        d, f = cfg.d_model, cfg.d_ff
        enc = src * (2 * 4 * d * d + 2 * 2 * d * f + 2 * 2 * S * d)
        causal_keys = (T + 1) / 2  # average keys a causal query attends to
        dec = (
            tgt * (2 * 4 * d * d + 2 * 2 * causal_keys * d)  # self-attention
            + tgt * (2 * 2 * d * d + 2 * 2 * S * d)
            + src * 2 * 2 * d * d  # cross
            + tgt * 2 * 2 * d * f
        )  # feed-forward
        return cfg.n_enc_layers * enc + cfg.n_dec_layers * dec + tgt * 2 * d * V
    if model == "lstm":
        d, L = cfg.d_model, cfg.n_layers
        dirs = 2 if cfg.bidirectional else 1
        h = d // dirs
        enc = sum(src * dirs * 2 * 4 * h * ((d if i == 0 else h * dirs) + h) for i in range(L))
        dec_in = 2 * d if cfg.input_feeding else d
        dec = sum(tgt * 2 * 4 * d * ((dec_in if i == 0 else d) + d) for i in range(L))
        attn = src * 2 * d * d + tgt * (2 * 2 * S * d + 2 * 2 * d * d)
        return enc + dec + attn + tgt * 2 * d * V
    if model == "convs2s":
        e, h, k = cfg.d_embed, cfg.d_hidden, cfg.kernel_size
        conv = 2 * k * h * 2 * h
        enc = src * (2 * e * h * 2 + cfg.n_enc_layers * conv)
        attn = 2 * h * e * 2 + 2 * 2 * S * e
        dec = tgt * (2 * e * h * 2 + cfg.n_dec_layers * (conv + attn))
        return enc + dec + tgt * 2 * e * V
    raise ValueError(f"no FLOPs formula for model {model!r}")


def flops_per_token(
    model_name: str,
    cfg: Any,
    model: torch.nn.Module,
    batch: Any,
    vocab_size: int,
    count: bool = True,
) -> dict[str, float | None]:
    """Training FLOPs per real target token, analytical and (where possible) counted."""
    B, S = batch.src.shape
    T = batch.tgt_in.size(1)
    tokens = max(batch.n_tgt_tokens, 1)
    analytic = 3 * forward_flops(model_name, cfg, B, S, T, vocab_size) / tokens
    counted = None
    if count and model_name != "lstm":
        counted = count_training_flops(model, batch) / tokens
    return {"flops_per_token_analytic": analytic, "flops_per_token_counted": counted}


def count_training_flops(model: torch.nn.Module, batch: Any) -> float:
    """FLOPs of one forward+backward counted by PyTorch (SDPA through its math kernel)."""
    was_training = model.training
    model.train()
    try:
        with sdpa_kernel(SDPBackend.MATH), FlopCounterMode(display=False) as counter:
            model(batch.src, batch.tgt_in).float().logsumexp(-1).sum().backward()
    finally:
        model.zero_grad(set_to_none=True)
        model.train(was_training)
    return float(counter.get_total_flops())


def gpu_peak_flops(device_name: str) -> float | None:
    """Dense bf16 peak of a known GPU (by name), else None."""
    for key, peak in GPU_PEAK_BF16.items():
        if key in device_name:
            return peak
    return None
