"""Attention maps of one held-out example, saved for the report's heatmaps.

``DIR/cells/<key>/attention.json`` = {model, task, src_tokens, tgt_tokens, maps: {name:
[tgt_len][src_len or tgt_len]}}. Transformer maps are head means per layer
(``enc_self_l0``, ``dec_self_l1``, ``dec_cross_l1``, ...); the LSTM's is its ``alignment``;
ConvS2S has one per decoder layer (``dec_attn_l0``, ...). Teacher-forced on the reference.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import torch

from bench.atomic import atomic_write_text
from models.seq2seq import record_attention
from tasks import PAD, Task


def _map_name(module: str) -> str:
    if module == "model":
        return "alignment"  # LSTM
    parts = module.split(".")
    if parts[0] == "attns":  # ConvS2S multi-step attention
        return f"dec_attn_l{parts[1]}"
    side = "enc" if parts[0] == "encoder" else "dec"
    kind = parts[2].replace("_attn", "")
    return f"{side}_{kind}_l{parts[1]}"


@torch.inference_mode()
def attention_maps(
    model: torch.nn.Module, task: Task, batch_size: int, device: torch.device
) -> dict[str, Any]:
    """Maps for the first held-out example (pads trimmed)."""
    batch = task.eval_batches(batch_size)[0]
    src = batch.src[:1]
    src = src[:, : int(src.ne(PAD).sum())].to(device)
    tgt_in = batch.tgt_in[:1]
    tgt_in = tgt_in[:, : int(batch.tgt_out[:1].ne(PAD).sum())].to(device)
    model.eval()
    with record_attention(model) as recorded:
        model(src, tgt_in)
    maps = {}
    for name, calls in recorded.items():
        if not calls:
            continue
        w = torch.cat(calls, dim=-2)[0]  # (h, T, S) or (T, S)
        w = w.float().mean(0) if w.dim() == 3 else w
        maps[_map_name(name)] = [[round(x, 4) for x in row] for row in w.cpu().tolist()]
    words = getattr(task, "token_strings", None) or (lambda ids: [str(i) for i in ids])
    return {
        "src_tokens": words(src[0].tolist()),
        "tgt_tokens": words(batch.tgt_out[0, : tgt_in.size(1)].tolist()),
        "maps": maps,
    }


def save_attention(path: Path, model_name: str, task_name: str, data: dict[str, Any]) -> None:
    atomic_write_text(path, json.dumps({"model": model_name, "task": task_name, **data}))
