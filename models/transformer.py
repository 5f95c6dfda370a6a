"""The Transformer of Vaswani et al. 2017 ("Attention Is All You Need"), encoder-decoder.

Sinusoidal positions, multi-head attention through ``F.scaled_dot_product_attention``,
post-LN residual blocks as in the paper (pre-LN as an option), optional shared embeddings
(source, target and pre-softmax weights, section 3.4), and a key/value cache for decoding.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass, replace

import torch
import torch.nn.functional as F
from torch import Tensor, nn

from checks import check_values
from models.attention import Override
from models.limits import MAX_LAYERS
from models.seq2seq import Seq2Seq

POS_TABLE = 1024  # positions in the initial sinusoid table (grown on demand)


@dataclass(frozen=True)
class TransformerConfig:
    """Transformer hyperparameters (defaults: a small model for CPU benchmarks)."""

    d_model: int = 128
    """Model width (embedding and residual stream); must divide by ``n_heads``."""
    n_heads: int = 4
    """Attention heads per layer."""
    d_ff: int = 512
    """Inner width of the position-wise feed-forward network."""
    n_enc_layers: int = 2
    """Encoder layers (the paper's base model: 6)."""
    n_dec_layers: int = 2
    """Decoder layers (the paper's base model: 6)."""
    dropout: float = 0.1
    """Residual and embedding dropout (P_drop in the paper)."""
    attn_dropout: float = 0.0
    """Dropout on attention weights. Any value > 0 forces PyTorch's slow math attention on CPU."""
    norm_first: bool = False
    """Pre-LN residual blocks instead of the paper's post-LN."""
    share_embeddings: bool = True
    """Tie source, target and output embeddings (needs a joint vocabulary)."""

    def __post_init__(self) -> None:
        depth = f"<= {MAX_LAYERS}"
        check_values(self, "transformer", n_enc_layers=depth, n_dec_layers=depth)
        names = ("d_model", "n_heads", "d_ff", "n_enc_layers", "n_dec_layers")
        check_values(self, "transformer", **dict.fromkeys(names, ">= 1"))
        if self.d_model % self.n_heads or (self.d_model // self.n_heads) % 2:
            raise ValueError(
                f"transformer.d_model={self.d_model} must be a multiple of 2*n_heads="
                f"{2 * self.n_heads} (even head size for sinusoidal positions)"
            )
        check_values(self, "transformer", dropout="[0, 1)", attn_dropout="[0, 1)")

    # -- sizing hooks (see models.sizing) --
    @property
    def width(self) -> int:
        return self.d_model

    @property
    def width_step(self) -> int:
        return 2 * self.n_heads

    def with_width(self, width: int) -> TransformerConfig:
        ratio = self.d_ff / self.d_model
        return replace(self, d_model=width, d_ff=max(1, round(width * ratio)))

    # -- cost hooks (see models.protocol) --
    def forward_flops(self, src_len: int, tgt_len: int, vocab_size: int, batch: int = 1) -> float:
        """Projections, attention scores and sums, feed-forward, output layer."""
        S, T, V = src_len, tgt_len, vocab_size
        src, tgt = batch * S, batch * T
        d, f = self.d_model, self.d_ff
        enc = src * (2 * 4 * d * d + 2 * 2 * d * f + 2 * 2 * S * d)
        causal_keys = (T + 1) / 2  # average keys a causal query attends to
        dec = (
            tgt * (2 * 4 * d * d + 2 * 2 * causal_keys * d)  # self-attention
            + tgt * (2 * 2 * d * d + 2 * 2 * S * d)
            + src * 2 * 2 * d * d  # cross
            + tgt * 2 * 2 * d * f
        )  # feed-forward
        return self.n_enc_layers * enc + self.n_dec_layers * dec + tgt * 2 * d * V

    @property
    def flops_countable(self) -> bool:
        return True  # SDPA is counted through its math decomposition

    @property
    def math_attention_on_cpu(self) -> bool:
        return self.attn_dropout > 0  # dropout on weights: no fused CPU kernel


def sinusoids(start: int, length: int, dim: int, device: torch.device | None = None) -> Tensor:
    """Sinusoidal encodings of positions start..start+length-1: (length, dim), paper section 3.5."""
    pos = torch.arange(start, start + length, dtype=torch.float32, device=device).unsqueeze(1)
    freq = torch.exp(
        torch.arange(0, dim, 2, dtype=torch.float32, device=device) * (-math.log(10000.0) / dim)
    )
    table = torch.zeros(length, dim, device=device)
    table[:, 0::2] = torch.sin(pos * freq)
    table[:, 1::2] = torch.cos(pos * freq)
    return table


class MultiHeadAttention(nn.Module):
    """Multi-head attention; projections and SDPA kept separate so K/V can be cached."""

    def __init__(self, d_model: int, n_heads: int, attn_dropout: float) -> None:
        super().__init__()
        self.h = n_heads
        self.attn_dropout = attn_dropout
        self.q_proj = nn.Linear(d_model, d_model)
        self.kv_proj = nn.Linear(d_model, 2 * d_model)
        self.out_proj = nn.Linear(d_model, d_model)
        self.recorded: list[Tensor] | None = None  # see models.seq2seq.record_attention
        self.override: Override | None = None  # see models.attention.Override

    def _heads(self, x: Tensor) -> Tensor:  # (B, T, d) -> (B, h, T, d/h)
        B, T, d = x.shape
        return x.view(B, T, self.h, d // self.h).transpose(1, 2)

    def project_q(self, x: Tensor) -> Tensor:
        return self._heads(self.q_proj(x))

    def project_kv(self, x: Tensor) -> tuple[Tensor, Tensor]:
        k, v = self.kv_proj(x).chunk(2, dim=-1)
        return self._heads(k), self._heads(v)

    def attend(
        self, q: Tensor, k: Tensor, v: Tensor, keep: Tensor | None = None, causal: bool = False
    ) -> Tensor:
        """q (B,h,Tq,dh), k/v (B,h,Tk,dh), keep (B,1,1,Tk) bool -> (B,Tq,d)."""
        p = self.attn_dropout if self.training else 0.0
        if self.override is not None:  # interventions: explicit weights, edited, then applied
            w = self.override(attention_weights(q, k, keep, causal), keep)  # (B,h,Tq,Tk)
            out = w.to(v.dtype) @ v
        else:
            out = F.scaled_dot_product_attention(
                q, k, v, attn_mask=keep, dropout_p=p, is_causal=causal
            )
        if self.recorded is not None:  # inspection only: SDPA does not return its weights
            self.recorded.append(attention_weights(q, k, keep, causal))
        B, h, T, dh = out.shape
        return self.out_proj(out.transpose(1, 2).reshape(B, T, h * dh))


def attention_weights(q: Tensor, k: Tensor, keep: Tensor | None, causal: bool) -> Tensor:
    """The softmax weights SDPA applies: (B,h,Tq,Tk), for inspection."""
    scores = q @ k.transpose(-1, -2) / math.sqrt(q.size(-1))
    if keep is not None:
        scores = scores.masked_fill(~keep, float("-inf"))
    if causal:
        Tq, Tk = scores.shape[-2:]
        future = torch.ones(Tq, Tk, dtype=torch.bool, device=q.device).triu(1)
        scores = scores.masked_fill(future, float("-inf"))
    return scores.softmax(-1).detach()


class FeedForward(nn.Sequential):
    def __init__(self, d_model: int, d_ff: int) -> None:
        super().__init__(nn.Linear(d_model, d_ff), nn.ReLU(), nn.Linear(d_ff, d_model))


class Residual(nn.Module):
    """Sublayer connection: post-LN ``norm(x + drop(f(x)))``, pre-LN ``x + drop(f(norm(x)))``."""

    def __init__(self, d_model: int, dropout: float, norm_first: bool) -> None:
        super().__init__()
        self.norm = nn.LayerNorm(d_model)
        self.drop = nn.Dropout(dropout)
        self.norm_first = norm_first

    def forward(self, x: Tensor, f: Callable[[Tensor], Tensor]) -> Tensor:
        if self.norm_first:
            return x + self.drop(f(self.norm(x)))
        return self.norm(x + self.drop(f(x)))


class EncoderLayer(nn.Module):
    def __init__(self, cfg: TransformerConfig) -> None:
        super().__init__()
        self.self_attn = MultiHeadAttention(cfg.d_model, cfg.n_heads, cfg.attn_dropout)
        self.ff = FeedForward(cfg.d_model, cfg.d_ff)
        self.res = nn.ModuleList(
            Residual(cfg.d_model, cfg.dropout, cfg.norm_first) for _ in range(2)
        )

    def forward(self, x: Tensor, keep: Tensor) -> Tensor:
        def self_attend(y: Tensor) -> Tensor:
            return self.self_attn.attend(
                self.self_attn.project_q(y), *self.self_attn.project_kv(y), keep
            )

        x = self.res[0](x, self_attend)
        return self.res[1](x, self.ff)


class DecoderLayer(nn.Module):
    def __init__(self, cfg: TransformerConfig) -> None:
        super().__init__()
        self.self_attn = MultiHeadAttention(cfg.d_model, cfg.n_heads, cfg.attn_dropout)
        self.cross_attn = MultiHeadAttention(cfg.d_model, cfg.n_heads, cfg.attn_dropout)
        self.ff = FeedForward(cfg.d_model, cfg.d_ff)
        self.res = nn.ModuleList(
            Residual(cfg.d_model, cfg.dropout, cfg.norm_first) for _ in range(3)
        )

    def forward(
        self,
        x: Tensor,
        memory_kv: tuple[Tensor, Tensor],
        keep: Tensor,
        past: tuple[Tensor, Tensor] | None = None,
    ) -> tuple[Tensor, tuple[Tensor, Tensor]]:
        """x (B,T,d). ``past`` = cached self-attn K/V of earlier positions (None: causal)."""
        new_kv: list[tuple[Tensor, Tensor]] = []

        def self_attend(y: Tensor) -> Tensor:
            q = self.self_attn.project_q(y)
            k, v = self.self_attn.project_kv(y)
            if past is not None:
                k, v = torch.cat([past[0], k], dim=2), torch.cat([past[1], v], dim=2)
            new_kv.append((k, v))
            return self.self_attn.attend(q, k, v, causal=past is None)

        def cross_attend(y: Tensor) -> Tensor:
            return self.cross_attn.attend(self.cross_attn.project_q(y), *memory_kv, keep)

        x = self.res[0](x, self_attend)
        x = self.res[1](x, cross_attend)
        x = self.res[2](x, self.ff)
        return x, new_kv[0]


class Transformer(Seq2Seq):
    """Encoder-decoder Transformer with the shared attnbench interface."""

    def __init__(self, cfg: TransformerConfig, vocab_size: int, pad_id: int = 0) -> None:
        super().__init__(pad_id)
        self.cfg = cfg
        d = cfg.d_model
        self.src_embed = nn.Embedding(vocab_size, d, padding_idx=pad_id)
        self.tgt_embed = (
            self.src_embed
            if cfg.share_embeddings
            else nn.Embedding(vocab_size, d, padding_idx=pad_id)
        )
        self.drop = nn.Dropout(cfg.dropout)
        self.encoder = nn.ModuleList(EncoderLayer(cfg) for _ in range(cfg.n_enc_layers))
        self.decoder = nn.ModuleList(DecoderLayer(cfg) for _ in range(cfg.n_dec_layers))
        # pre-LN needs a final norm on each stack's output; post-LN already ends in one
        self.enc_norm = nn.LayerNorm(d) if cfg.norm_first else nn.Identity()
        self.dec_norm = nn.LayerNorm(d) if cfg.norm_first else nn.Identity()
        self.out = nn.Linear(d, vocab_size, bias=False)
        # computed once, not per call (decoding embeds one position per step); not saved
        self.register_buffer("pos_table", sinusoids(0, POS_TABLE, d), persistent=False)
        self._init_weights()
        if cfg.share_embeddings:
            self.out.weight = self.tgt_embed.weight

    def _init_weights(self) -> None:
        for m in self.modules():
            if isinstance(m, nn.Linear):
                nn.init.xavier_uniform_(m.weight)
                if m.bias is not None:
                    nn.init.zeros_(m.bias)
        with torch.no_grad():
            # K and V share one fused (2d, d) projection: each (d, d) block gets its own
            # Xavier range, as two separate layers would (fused, fan_out 2d narrows it)
            for m in self.modules():
                if isinstance(m, MultiHeadAttention):
                    for block in m.kv_proj.weight.chunk(2, dim=0):
                        nn.init.xavier_uniform_(block)
            embeddings = dict.fromkeys((self.src_embed, self.tgt_embed))  # ordered: seeded init
            for emb in embeddings:
                nn.init.normal_(emb.weight, std=self.cfg.d_model**-0.5)
                emb.weight[self.pad_id].zero_()

    def _positions(self, offset: int, length: int) -> Tensor:
        """Sinusoids of positions offset..offset+length-1 (length, d), from a cached table."""
        if offset + length > self.pos_table.size(0):  # grow by doubling: rare, amortised
            size = max(offset + length, 2 * self.pos_table.size(0))
            table = sinusoids(0, size, self.cfg.d_model, self.pos_table.device)
            self.pos_table = table.to(self.pos_table.dtype)
        return self.pos_table[offset : offset + length]

    def _embed(self, emb: nn.Embedding, tokens: Tensor, offset: int = 0) -> Tensor:
        """(B,T) -> (B,T,d): scaled embedding + sinusoids starting at position ``offset``."""
        pos = self._positions(offset, tokens.size(1))
        return self.drop(emb(tokens) * math.sqrt(self.cfg.d_model) + pos)

    def encode(self, src: Tensor) -> dict:
        keep = src.ne(self.pad_id)[:, None, None, :]  # (B,1,1,S): broadcast, never (S,S)
        x = self._embed(self.src_embed, src)
        for layer in self.encoder:
            x = layer(x, keep)
        memory = self.enc_norm(x)  # (B,S,d)
        kv = [layer.cross_attn.project_kv(memory) for layer in self.decoder]
        return {"keep": keep, "k": [k for k, _ in kv], "v": [v for _, v in kv]}

    def decode_all(self, enc: dict, tgt_in: Tensor) -> Tensor:
        x = self._embed(self.tgt_embed, tgt_in)
        for i, layer in enumerate(self.decoder):
            x, _ = layer(x, (enc["k"][i], enc["v"][i]), enc["keep"])
        return self.out(self.dec_norm(x))  # (B,T,V)

    def init_state(self, enc: dict) -> dict:
        B, h, _, dh = enc["k"][0].shape
        empty = enc["k"][0].new_zeros(B, h, 0, dh)
        n = len(self.decoder)
        return {"k": [empty] * n, "v": [empty] * n}

    def decode_step(self, enc: dict, state: dict, tokens: Tensor, step: int) -> tuple[Tensor, dict]:
        x = self._embed(self.tgt_embed, tokens.unsqueeze(1), offset=step)  # (B,1,d)
        ks, vs = [], []
        for i, layer in enumerate(self.decoder):
            x, (k, v) = layer(
                x, (enc["k"][i], enc["v"][i]), enc["keep"], (state["k"][i], state["v"][i])
            )
            ks.append(k)
            vs.append(v)
        return self.out(self.dec_norm(x))[:, 0], {"k": ks, "v": vs}
