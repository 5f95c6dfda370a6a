"""Perf sections about the models: Transformer vs torch.nn.Transformer, LSTM decoder variants,
cached vs prefix-recomputing greedy decoding."""

from __future__ import annotations

import math
import statistics
import warnings
from collections.abc import Callable
from typing import Any

import torch
import torch.nn.functional as F
from torch import Tensor, nn

from models import build_model, greedy_decode, model_entry, prefix_greedy_decode
from models.transformer import TransformerConfig, sinusoids
from perf.options import PerfOptions, Section, model_values
from perf.timing import amp, cover_positions, interleave, ratio, timed
from tasks import BOS, Batch
from tasks.copy import CopyConfig, CopyTask

warnings.filterwarnings("ignore", message="The PyTorch API of nested tensors")  # nn.Transformer

DECODE_GOAL = 3.0  # cached greedy decoding vs recomputing the prefix, at length 256
NO_EOS = -1  # an EOS id no token equals: decode the full length


class TorchTransformer(nn.Module):
    """``torch.nn.Transformer`` dressed as our Transformer: same shared, scaled embeddings,
    sinusoids, tied output layer; attention dropout set to ours (nn.Transformer's default
    reuses the residual dropout there, which on CPU forces the math attention kernel)."""

    def __init__(self, cfg: TransformerConfig, vocab_size: int, pad_id: int = 0) -> None:
        super().__init__()
        self.cfg, self.pad_id = cfg, pad_id
        self.embed = nn.Embedding(vocab_size, cfg.d_model, padding_idx=pad_id)
        self.core = nn.Transformer(
            cfg.d_model,
            cfg.n_heads,
            cfg.n_enc_layers,
            cfg.n_dec_layers,
            cfg.d_ff,
            cfg.dropout,
            batch_first=True,
            norm_first=cfg.norm_first,
        )
        for m in self.core.modules():
            if isinstance(m, nn.MultiheadAttention):
                m.dropout = cfg.attn_dropout
        self.out = nn.Linear(cfg.d_model, vocab_size, bias=False)
        self.out.weight = self.embed.weight

    def _embed(self, tokens: Tensor) -> Tensor:
        d = self.cfg.d_model
        pos = sinusoids(0, tokens.size(1), d, tokens.device)
        return F.dropout(self.embed(tokens) * math.sqrt(d) + pos, self.cfg.dropout, self.training)

    def forward(self, src: Tensor, tgt_in: Tensor) -> Tensor:
        pad = src.eq(self.pad_id)
        causal = nn.Transformer.generate_square_subsequent_mask(tgt_in.size(1), src.device)
        y = self.core(
            self._embed(src),
            self._embed(tgt_in),
            tgt_mask=causal,
            src_key_padding_mask=pad,
            memory_key_padding_mask=pad,
            tgt_is_causal=True,
        )
        return self.out(y)


def copy_batch(length: int, batch_size: int, seed: int, fixed: bool = False) -> tuple[Any, Batch]:
    """A copy task and one batch at ``length`` (uniform in [length/2, length], or fixed)."""
    cfg = CopyConfig(length=length, min_length=0 if fixed else max(1, length // 2), eval_size=8)
    task = CopyTask(cfg, seed)
    return task, task.sample(batch_size, torch.Generator().manual_seed(seed))


def train_block(
    model: nn.Module, batch: Batch, steps: int, opts: PerfOptions
) -> Callable[[], float]:
    """A callable that trains ``steps`` steps on ``batch`` and returns target tokens/s."""
    opt = torch.optim.AdamW(model.parameters(), lr=1e-4)
    device = batch.src.device

    def step() -> None:
        opt.zero_grad(set_to_none=True)
        with amp(opts.device, opts.precision):
            logits = model(batch.src, batch.tgt_in)
            flat = logits.flatten(0, 1).float()
            loss = F.cross_entropy(flat, batch.tgt_out.flatten(), ignore_index=0)
        loss.backward()
        opt.step()

    def block() -> float:
        _, seconds = timed(lambda: [step() for _ in range(steps)], device)
        return steps * batch.n_tgt_tokens / seconds

    step()  # warm-up: allocations, kernel selection
    return block


def infer_block(
    model: nn.Module, batch: Batch, steps: int, opts: PerfOptions
) -> Callable[[], float]:
    """A callable that runs ``steps`` teacher-forced forward passes (eval, no grad): tok/s."""
    device = batch.src.device

    def forward() -> None:
        for _ in range(steps):
            with amp(opts.device, opts.precision):
                model(batch.src, batch.tgt_in)

    @torch.inference_mode()
    def block() -> float:
        model.eval()
        return steps * batch.n_tgt_tokens / timed(forward, device)[1]

    block()
    return block


def _rounds(opts: PerfOptions) -> int:
    return opts.rounds * opts.blocks  # many short alternations: fairer under drifting load


def transformer_section(opts: PerfOptions, log: Callable[[str], None]) -> Section:
    sec = Section(
        "transformer",
        "Transformer vs torch.nn.Transformer at an equal configuration",
        ["mode", "length", "ours_tok_s", "torch_tok_s", "ratio", "ratio_min", "ratio_best"],
        goal="ratio_best (ours / torch, best blocks) >= 1.0 in training and in inference",
    )
    cfg = TransformerConfig(**model_values("transformer", opts))
    device = torch.device(opts.device)
    for length in opts.lengths:
        task, batch = copy_batch(length, opts.batch_size, opts.seed)
        batch = batch.to(device)
        torch.manual_seed(opts.seed)
        ours = build_model("transformer", cfg, task.vocab_size).to(device).train()
        ref = TorchTransformer(cfg, task.vocab_size).to(device).train()
        for mode, make in (("train", train_block), ("infer", infer_block)):
            log(f"  transformer {mode} length {length}")
            runs = interleave(
                {
                    "ours": make(ours, batch, opts.block_steps, opts),
                    "torch": make(ref, batch, opts.block_steps, opts),
                },
                _rounds(opts),
            )
            r = ratio(runs["ours"], runs["torch"])
            sec.rows.append(
                {
                    "mode": mode,
                    "length": length,
                    "ours_tok_s": statistics.median(runs["ours"]),
                    "torch_tok_s": statistics.median(runs["torch"]),
                    **r,
                    "met": r["ratio_best"] >= 1.0,
                }
            )
            ours.train()
            ref.train()
    n_ours = sum(p.numel() for p in ours.parameters())
    n_ref = sum(p.numel() for p in ref.parameters())
    sec.notes.append(
        f"{cfg.n_enc_layers}+{cfg.n_dec_layers} layers, d_model {cfg.d_model}, {cfg.n_heads} "
        f"heads, d_ff {cfg.d_ff}, dropout {cfg.dropout}, attention dropout {cfg.attn_dropout}; "
        f"batch {opts.batch_size}; parameters ours {n_ours:,}, torch {n_ref:,} (its extra final "
        "LayerNorms); train = forward + loss + backward + AdamW, infer = eval forward"
    )
    return sec


def lstm_section(opts: PerfOptions, log: Callable[[str], None]) -> Section:
    sec = Section(
        "lstm",
        "LSTM decoder: input feeding (stepped) vs none (one nn.LSTM call over the target)",
        ["mode", "length", "feed_tok_s", "nofeed_tok_s", "ratio", "ratio_min", "ratio_best"],
        goal="teacher forcing without input feeding runs the decoder in one call; report both",
    )
    device = torch.device(opts.device)
    cfg_cls = model_entry("lstm").config
    for length in opts.lengths:
        task, batch = copy_batch(length, opts.batch_size, opts.seed)
        batch = batch.to(device)
        models = {}
        for feed in (True, False):
            cfg = cfg_cls(**model_values("lstm", opts, input_feeding=feed))
            torch.manual_seed(opts.seed)
            models[feed] = build_model("lstm", cfg, task.vocab_size).to(device).train()
        for mode, make in (("train", train_block), ("infer", infer_block)):
            log(f"  lstm {mode} length {length}")
            runs = interleave(
                {
                    "feed": make(models[True], batch, opts.block_steps, opts),
                    "nofeed": make(models[False], batch, opts.block_steps, opts),
                },
                _rounds(opts),
            )
            sec.rows.append(
                {
                    "mode": mode,
                    "length": length,
                    "feed_tok_s": statistics.median(runs["feed"]),
                    "nofeed_tok_s": statistics.median(runs["nofeed"]),
                    **ratio(runs["nofeed"], runs["feed"]),
                }
            )
            for m in models.values():
                m.train()
    default = cfg_cls().input_feeding
    sec.notes.append(
        f"ratio = no feeding / feeding; LSTMConfig default input_feeding={default}. Greedy "
        "decoding of both variants is in the decode section"
    )
    return sec


def decode_block(  # noqa: ANN201
    fn: Callable[..., Tensor], model: nn.Module, src: Tensor, length: int, opts: PerfOptions
):
    """A callable that greedily decodes ``length`` tokens for ``src``: tokens/s."""

    def decode() -> Tensor:
        with amp(opts.device, opts.precision):
            return fn(model, src, length, BOS, NO_EOS)

    def block() -> float:
        out, seconds = timed(decode, src.device)
        block.last = out  # type: ignore[attr-defined]
        return out.numel() / seconds

    return block


def decode_models(opts: PerfOptions) -> dict[str, tuple[str, Any]]:
    """Label -> (model name, config) of the decoding comparison: every model, both LSTMs."""
    out: dict[str, tuple[str, Any]] = {}
    for name in opts.model_names:
        cfg_cls = model_entry(name).config
        if name == "lstm":
            for feed in (True, False):
                cfg = cfg_cls(**model_values(name, opts, input_feeding=feed))
                out[f"lstm (input_feeding={str(feed).lower()})"] = (name, cfg)
            continue
        cfg = cover_positions(cfg_cls(**model_values(name, opts)), max(opts.decode_lengths) + 1)
        out[name] = (name, cfg)
    return out


def decode_section(opts: PerfOptions, log: Callable[[str], None]) -> Section:
    sec = Section(
        "decode",
        "Greedy decoding: cached state (decode_step) vs re-running the decoder on the prefix",
        ["model", "length", "cached_tok_s", "recompute_tok_s", "ratio", "same_tokens"],
        goal=f"cached >= {DECODE_GOAL}x recompute at length 256 (Transformer); equal tokens",
    )
    device = torch.device(opts.device)
    for label, (name, cfg) in decode_models(opts).items():
        torch.manual_seed(opts.seed)
        task, _ = copy_batch(max(opts.decode_lengths), 1, opts.seed)
        model = build_model(name, cfg, task.vocab_size).to(device).eval()
        limit = opts.recompute_limit.get(name)
        for length in opts.decode_lengths:
            log(f"  decode {label} length {length}")
            _, batch = copy_batch(length, opts.decode_batch, opts.seed, fixed=True)
            src = batch.src.to(device)
            cands: dict[str, Callable[[], float]] = {
                "cached": decode_block(greedy_decode, model, src, length, opts)
            }
            if limit is None or length <= limit:
                cands["recompute"] = decode_block(prefix_greedy_decode, model, src, length, opts)
            rounds = opts.rounds if length <= 256 else 1  # recompute is quadratic
            runs = interleave(cands, rounds)
            row: dict[str, Any] = {
                "model": label,
                "length": length,
                "cached_tok_s": statistics.median(runs["cached"]),
            }
            if "recompute" in runs:
                same = torch.equal(cands["cached"].last, cands["recompute"].last)  # type: ignore[attr-defined]
                row |= {
                    "recompute_tok_s": statistics.median(runs["recompute"]),
                    **ratio(runs["cached"], runs["recompute"]),
                    "same_tokens": same,
                }
                if name == "transformer" and length == 256:
                    exact = same or opts.precision != "32-true"  # bf16: ties may flip
                    row["met"] = row["ratio"] >= DECODE_GOAL and exact
            else:
                row["recompute_tok_s"] = None
                row["note"] = f"recompute skipped above length {limit} (quadratic Python loop)"
            sec.rows.append(row)
    sec.notes.append(
        f"batch {opts.decode_batch}, source length = output length, EOS disabled so every "
        "step runs; the recompute baseline encodes the source once"
    )
    return sec
