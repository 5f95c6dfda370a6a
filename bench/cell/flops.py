"""FLOPs per target token: each model config's analytical formula, and PyTorch's counter.

A multiply-add is 2 FLOPs. Training FLOPs = 3 x forward (backward ~ 2 x forward). Formulas
(``forward_flops`` on each config, ``models.protocol``) count the matmuls that dominate
(projections, attention scores and sums, recurrences, convolutions, output softmax layer)
on a batch's padded shapes, per real target token. A config whose ``flops_countable`` is
false (the LSTM: ``torch.utils.flop_counter`` cannot see inside ``aten::lstm``) has no
counted value; SDPA is counted through its math decomposition.
"""

from __future__ import annotations

from typing import Any

import torch
from torch.nn.attention import SDPBackend, sdpa_kernel
from torch.utils.flop_counter import FlopCounterMode

from models.protocol import ModelConfig

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


def forward_flops(cfg: ModelConfig, B: int, S: int, T: int, V: int) -> float:
    """Forward FLOPs of one (B, S) -> (B, T) batch: the model's own formula."""
    return cfg.forward_flops(S, T, V, batch=B)


def flops_per_token(
    cfg: ModelConfig,
    model: torch.nn.Module,
    batch: Any,
    vocab_size: int,
    count: bool = True,
) -> dict[str, float | None]:
    """Training FLOPs per real target token, analytical and (where possible) counted."""
    B, S = batch.src.shape
    T = batch.tgt_in.size(1)
    tokens = max(batch.n_tgt_tokens, 1)
    analytic = 3 * forward_flops(cfg, B, S, T, vocab_size) / tokens
    counted = None
    if count and cfg.flops_countable:
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
