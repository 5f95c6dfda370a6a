"""Cross-attention of held-out examples, saved for the alignment measures and the heatmaps.

``DIR/cells/<key>/attention.npz`` (format: bench.attention.alignment): per example, head and target
step, the Transformer's cross-attention per layer (``dec_cross_l0``, ...), the LSTM's
``alignment``, ConvS2S's attention per decoder layer (``dec_attn_l0``, ...), float16;
teacher-forced on the reference, for the first ``N_EXAMPLES`` held-out examples (fewer when
long sequences would exceed ``MAX_VALUES`` stored weights).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
import torch

from bench.attention.alignment import save_npz
from bench.rundir.layout import ATTENTION_FILE
from models.seq2seq import record_attention
from tasks import EOS, PAD, Task

N_EXAMPLES = 64
MAX_VALUES = 2_000_000  # stored weights per cell (4 MB of float16 before compression)
CROSS = ("dec_cross", "alignment", "dec_attn")  # the encoder-decoder attentions


def map_name(module: str) -> str:
    """A module's name in named_modules ("model" for the root) -> its map name."""
    if module in ("model", ""):
        return "alignment"  # LSTM
    parts = module.split(".")
    if parts[0] == "attns":  # ConvS2S multi-step attention
        return f"dec_attn_l{parts[1]}"
    side = "enc" if parts[0] == "encoder" else "dec"
    kind = parts[2].replace("_attn", "")
    return f"{side}_{kind}_l{parts[1]}"


def is_cross(name: str) -> bool:
    return name.startswith(CROSS)


@torch.inference_mode()
def _batch_maps(model: torch.nn.Module, src: torch.Tensor, tgt_in: torch.Tensor) -> dict:
    """{map name: (B, H, T, S) float32} of the cross attentions, teacher-forced."""
    with record_attention(model) as recorded:
        model(src, tgt_in)
    maps = {}
    for module, calls in recorded.items():
        name = map_name(module)
        if calls and is_cross(name):
            w = torch.cat(calls, dim=-2).float()  # (B,h,T,S) or (B,T,S)
            maps[name] = (w if w.dim() == 4 else w.unsqueeze(1)).cpu().numpy()
    return maps


def _pad_to(a: np.ndarray, shape: tuple[int, ...], value: float = 0) -> np.ndarray:
    widths = [(0, s - d) for s, d in zip(shape, a.shape, strict=True)]
    return np.pad(a, widths, constant_values=value)


def attention_arrays(
    model: torch.nn.Module,
    task: Task,
    batch_size: int,
    device: torch.device,
    examples: list[dict[str, Any]] | None = None,
) -> dict[str, Any]:
    """Cross-attention of the first held-out examples (``examples``: their eval outcomes,
    in the same order, give ``correct``), ready for bench.attention.alignment.save_npz."""
    model.eval()
    parts: list[dict[str, Any]] = []
    n, budget = 0, N_EXAMPLES
    for batch in task.eval_batches(batch_size):
        if n >= budget:
            break
        src, tgt_in, tgt_out = batch.src, batch.tgt_in, batch.tgt_out
        take = budget - n
        maps = _batch_maps(model, src[:take].to(device), tgt_in[:take].to(device))
        if not parts:  # long sequences: fewer examples
            per_example = sum(m[0].size for m in maps.values()) or 1
            budget = min(budget, max(1, MAX_VALUES // per_example))
            take = min(take, budget)
        parts.append(
            {
                "maps": {k: v[:take] for k, v in maps.items()},
                "src": src[:take].numpy(),
                "tgt": tgt_out[:take].numpy(),
            }
        )
        n += take
    S = max(p["src"].shape[1] for p in parts)
    T = max(p["tgt"].shape[1] for p in parts)
    src = np.concatenate([_pad_to(p["src"], (len(p["src"]), S), PAD) for p in parts])
    tgt = np.concatenate([_pad_to(p["tgt"], (len(p["tgt"]), T), PAD) for p in parts])
    maps = {
        k: np.concatenate(
            [_pad_to(p["maps"][k], (len(p["src"]), p["maps"][k].shape[1], T, S)) for p in parts]
        )
        for k in parts[0]["maps"]
    }
    tgt_len = (tgt != PAD).sum(1)
    out_len = tgt_len - (tgt[np.arange(len(tgt)), np.maximum(tgt_len - 1, 0)] == EOS)
    done = examples[: len(src)] if examples else []
    # whole example right (translation outcomes are texts: never marked correct)
    correct = np.array(
        [bool("correct" in e and e["correct"] >= e["total"]) for e in done] or [False] * len(src)
    )
    words = getattr(task, "token_strings", None) or (lambda ids: [str(i) for i in ids])
    return {
        "maps": maps,
        "src": src.astype(np.int32),
        "tgt": tgt.astype(np.int32),
        "src_len": (src != PAD).sum(1),
        "out_len": out_len,
        "correct": correct,
        "src_words": np.array([words(r.tolist()) for r in src], dtype=str),
        "tgt_words": np.array([words(r.tolist()) for r in tgt], dtype=str),
    }


def save_attention(cell_dir: Path, model_name: str, task_name: str, data: dict[str, Any]) -> Path:
    """Write ``cell_dir/attention.npz``; returns its path."""
    path = Path(cell_dir) / ATTENTION_FILE
    save_npz(
        path,
        data["maps"],
        model=model_name,
        task=task_name,
        **{k: v for k, v in data.items() if k != "maps"},
    )
    return path
