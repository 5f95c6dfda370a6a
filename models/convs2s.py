"""Convolutional sequence to sequence learning (Gehring et al. 2017), "ConvS2S".

Learned position embeddings; GLU convolution blocks with residual connections scaled by
sqrt(0.5); causal decoder convolutions; multi-step attention in every decoder layer (keys =
encoder output z, values = z + source embedding e; the ``convs2s_last`` control attends in
the last layer only); the paper's initialisation, weight
normalisation and encoder gradient scaling. Pads are zeroed before every encoder convolution
so they cannot leak into real positions. Incremental decoding keeps, per decoder layer, a
window of the last ``kernel_size - 1`` inputs instead of recomputing the prefix.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, replace

import torch
import torch.nn.functional as F
from torch import Tensor, nn
from torch.nn.utils.parametrizations import weight_norm

from checks import check_values
from models.attention import Override, dot_attention, source_keep
from models.limits import MAX_LAYERS
from models.seq2seq import Seq2Seq

SQRT_HALF = math.sqrt(0.5)
ATTEND = ("every", "last")  # which decoder layers attend to the source


@dataclass(frozen=True)
class ConvS2SConfig:
    """ConvS2S hyperparameters."""

    d_embed: int = 128
    """Embedding size e (attention works in this space)."""
    d_hidden: int = 128
    """Convolution channels h."""
    kernel_size: int = 3
    """Convolution width k (odd, so encoder convolutions are centred)."""
    n_enc_layers: int = 4
    """Encoder convolution blocks."""
    n_dec_layers: int = 4
    """Decoder convolution blocks, each with its own attention."""
    dropout: float = 0.1
    """Dropout on embeddings and on each block's input."""
    max_positions: int = 1024
    """Longest sequence the learned position table covers."""
    weight_norm: bool = True
    """Weight normalisation on convolutions and linear layers, as in the paper."""
    share_embeddings: bool = True
    """Tie source, target and output embeddings (needs a joint vocabulary)."""
    attend: str = "every"
    """Decoder layers that attend to the source: ``every`` (Gehring et al.: one hop per
    layer, so the decoder can read one source position and then look up another) or
    ``last`` (one hop: relating two source positions is left to the encoder's
    convolutions, which span 1 + n_enc_layers·(kernel_size − 1) positions)."""

    def __post_init__(self) -> None:
        depth = f"<= {MAX_LAYERS}"
        check_values(self, "convs2s", n_enc_layers=depth, n_dec_layers=depth)
        names = ("d_embed", "d_hidden", "n_enc_layers", "n_dec_layers", "max_positions")
        check_values(self, "convs2s", **dict.fromkeys(names, ">= 1"))
        if self.kernel_size < 1 or self.kernel_size % 2 == 0:
            raise ValueError(f"convs2s.kernel_size must be odd and >= 1, got {self.kernel_size}")
        check_values(self, "convs2s", dropout="[0, 1)")
        if self.attend not in ATTEND:
            raise ValueError(
                f"convs2s.attend must be one of {', '.join(ATTEND)}, got {self.attend!r}"
            )

    @property
    def attending_layers(self) -> tuple[int, ...]:
        """Indices of the decoder layers that attend to the source."""
        n = self.n_dec_layers
        return tuple(range(n)) if self.attend == "every" else (n - 1,)

    @property
    def width(self) -> int:
        return self.d_hidden

    @property
    def width_step(self) -> int:
        return 2

    def with_width(self, width: int) -> ConvS2SConfig:
        ratio = self.d_embed / self.d_hidden
        return replace(self, d_hidden=width, d_embed=max(1, round(width * ratio)))

    # -- cost hooks (see models.protocol) --
    def forward_flops(self, src_len: int, tgt_len: int, vocab_size: int, batch: int = 1) -> float:
        """GLU convolutions, embedding projections, multi-step attention, output layer."""
        S, V = src_len, vocab_size
        src, tgt = batch * S, batch * tgt_len
        e, h, k = self.d_embed, self.d_hidden, self.kernel_size
        conv = 2 * k * h * 2 * h
        enc = src * (2 * e * h * 2 + self.n_enc_layers * conv)
        attn = 2 * h * e * 2 + 2 * 2 * S * e
        dec = tgt * (2 * e * h * 2 + self.n_dec_layers * conv + len(self.attending_layers) * attn)
        return enc + dec + tgt * 2 * e * V

    @property
    def flops_countable(self) -> bool:
        return True

    @property
    def math_attention_on_cpu(self) -> bool:
        return False


@dataclass(frozen=True)
class LastAttentionConvS2SConfig(ConvS2SConfig):
    """The ConvS2S control (``convs2s_last``): only the last decoder layer attends. Its
    decoder's one hop cannot first read a query and then look up the item it names, so on
    ``match`` the encoder's convolutions must relate the two: a path that grows with the
    distance, as Table 1's O(n/k) says, where the plain ConvS2S's two hops do not."""

    attend: str = "last"
    """Decoder layers that attend to the source (``every``: it is the plain ``convs2s``)."""


class _GradMultiply(torch.autograd.Function):
    """Identity forward, scaled gradient backward (encoder gradient scaling, section 3.4)."""

    @staticmethod
    def forward(ctx, x: Tensor, scale: float) -> Tensor:  # type: ignore[override]
        ctx.scale = scale
        return x.clone()

    @staticmethod
    def backward(ctx, grad: Tensor) -> tuple[Tensor, None]:  # type: ignore[override]
        return grad * ctx.scale, None


def _linear(d_in: int, d_out: int, dropout: float, wn: bool) -> nn.Linear:
    """Linear layer with the paper's init: N(0, sqrt((1 - p) / n_in))."""
    m = nn.Linear(d_in, d_out)
    nn.init.normal_(m.weight, std=math.sqrt((1.0 - dropout) / d_in))
    nn.init.zeros_(m.bias)
    return weight_norm(m) if wn else m


def _glu_conv(channels: int, k: int, dropout: float, padding: int, wn: bool) -> nn.Conv1d:
    """Convolution producing 2h channels for a GLU, init N(0, sqrt(4 (1 - p) / (k h)))."""
    m = nn.Conv1d(channels, 2 * channels, k, padding=padding)
    nn.init.normal_(m.weight, std=math.sqrt(4.0 * (1.0 - dropout) / (k * channels)))
    nn.init.zeros_(m.bias)
    return weight_norm(m) if wn else m


class Attention(nn.Module):
    """Multi-step attention of one decoder layer (Gehring et al. section 3.3)."""

    def __init__(self, cfg: ConvS2SConfig) -> None:
        super().__init__()
        self.in_proj = _linear(cfg.d_hidden, cfg.d_embed, 0.0, cfg.weight_norm)
        self.out_proj = _linear(cfg.d_embed, cfg.d_hidden, 0.0, cfg.weight_norm)
        self.recorded: list[Tensor] | None = None  # see models.seq2seq.record_attention
        self.override: Override | None = None  # see models.attention.Override

    def forward(self, x: Tensor, tgt_emb: Tensor, enc: dict) -> Tensor:
        """x (B,T,h) GLU output, tgt_emb (B,T,e) -> (B,T,h) with the attended context added."""
        d = (self.in_proj(x) + tgt_emb) * SQRT_HALF  # (B,T,e)
        context = dot_attention(
            d, enc["keys"], enc["values"], enc["keep"], self.recorded, self.override
        )
        context = context * enc["scale"]  # s * sqrt(1/s): undo the shrinking of the average
        return (self.out_proj(context) + x) * SQRT_HALF


class ConvS2S(Seq2Seq):
    """Convolutional encoder-decoder with the shared attnbench interface."""

    def __init__(self, cfg: ConvS2SConfig, vocab_size: int, pad_id: int = 0) -> None:
        super().__init__(pad_id)
        self.cfg = cfg
        e, h, k, p, wn = cfg.d_embed, cfg.d_hidden, cfg.kernel_size, cfg.dropout, cfg.weight_norm
        self.src_embed = nn.Embedding(vocab_size, e, padding_idx=pad_id)
        self.tgt_embed = (
            self.src_embed
            if cfg.share_embeddings
            else nn.Embedding(vocab_size, e, padding_idx=pad_id)
        )
        self.src_pos = nn.Embedding(cfg.max_positions, e)
        self.tgt_pos = nn.Embedding(cfg.max_positions, e)
        # dict, not set: a fixed order keeps initialisation deterministic for a seed
        embeddings = dict.fromkeys((self.src_embed, self.tgt_embed, self.src_pos, self.tgt_pos))
        with torch.no_grad():
            for emb in embeddings:
                nn.init.normal_(emb.weight, std=0.1)
            for emb in dict.fromkeys((self.src_embed, self.tgt_embed)):
                emb.weight[pad_id].zero_()  # as fairseq: the pad row is zero
        self.drop = nn.Dropout(p)
        self.enc_in = _linear(e, h, p, wn)
        self.enc_convs = nn.ModuleList(
            _glu_conv(h, k, p, k // 2, wn) for _ in range(cfg.n_enc_layers)
        )
        self.enc_out = _linear(h, e, 0.0, wn)
        self.dec_in = _linear(e, h, p, wn)
        # decoder convs are unpadded: teacher forcing pads k-1 on the left (causal), and
        # incremental decoding feeds exactly a window of k inputs
        self.dec_convs = nn.ModuleList(_glu_conv(h, k, p, 0, wn) for _ in range(cfg.n_dec_layers))
        # keyed by layer index: ``attns.3`` names layer 3's attention (bench.attention.record)
        self.attns = nn.ModuleDict({str(i): Attention(cfg) for i in cfg.attending_layers})
        self.dec_out = _linear(h, e, 0.0, wn)
        self.out = nn.Linear(e, vocab_size, bias=False)
        if cfg.share_embeddings:
            self.out.weight = self.tgt_embed.weight
        else:
            nn.init.normal_(self.out.weight, std=math.sqrt((1.0 - p) / e))

    def _check_length(self, length: int) -> None:
        if length > self.cfg.max_positions:
            raise ValueError(
                f"sequence length {length} exceeds convs2s.max_positions={self.cfg.max_positions}"
            )

    def encode(self, src: Tensor) -> dict:
        B, S = src.shape
        self._check_length(S)
        pad = src.eq(self.pad_id)  # (B,S)
        emb = self.drop(self.src_embed(src) + self.src_pos(torch.arange(S, device=src.device)))
        x = self.enc_in(emb)  # (B,S,h)
        for conv in self.enc_convs:
            residual = x
            x = self.drop(x).masked_fill(pad.unsqueeze(-1), 0.0)  # pads must not leak into conv
            x = F.glu(conv(x.transpose(1, 2)), dim=1).transpose(1, 2)
            x = (x + residual) * SQRT_HALF
        z = self.enc_out(x).masked_fill(pad.unsqueeze(-1), 0.0)  # (B,S,e)
        z = _GradMultiply.apply(z, 1.0 / (2.0 * len(self.attns)))  # per attention layer
        n_src = (~pad).sum(1).clamp(min=1).to(z.dtype)
        return {
            "keys": z,
            "values": (z + emb) * SQRT_HALF,
            "keep": source_keep(pad),  # (B,1,1,S)
            "scale": n_src.sqrt().view(B, 1, 1),  # s * sqrt(1/s)
        }

    def _embed_tgt(self, tokens: Tensor, start: int) -> Tensor:
        pos = torch.arange(start, start + tokens.size(1), device=tokens.device)
        return self.drop(self.tgt_embed(tokens) + self.tgt_pos(pos))  # (B,T,e)

    def _block(self, i: int, window: Tensor, emb: Tensor, enc: dict, residual: Tensor) -> Tensor:
        """Decoder block i: conv over ``window`` (B,h,T+k-1) -> GLU -> attention -> residual."""
        x = F.glu(self.dec_convs[i](window), dim=1).transpose(1, 2)  # (B,T,h)
        if str(i) in self.attns:
            x = self.attns[str(i)](x, emb, enc)
        return (x + residual) * SQRT_HALF

    def decode_all(self, enc: dict, tgt_in: Tensor) -> Tensor:
        self._check_length(tgt_in.size(1))
        emb = self._embed_tgt(tgt_in, 0)
        x = self.dec_in(emb)  # (B,T,h)
        for i in range(len(self.dec_convs)):
            window = F.pad(self.drop(x).transpose(1, 2), (self.cfg.kernel_size - 1, 0))  # causal
            x = self._block(i, window, emb, enc, x)
        return self.out(self.drop(self.dec_out(x)))  # (B,T,V)

    def init_state(self, enc: dict) -> dict:
        B, k = enc["keys"].size(0), self.cfg.kernel_size
        zeros = enc["keys"].new_zeros(B, self.cfg.d_hidden, k - 1)  # = the causal left padding
        return {"windows": [zeros] * len(self.dec_convs)}

    def decode_step(self, enc: dict, state: dict, tokens: Tensor, step: int) -> tuple[Tensor, dict]:
        self._check_length(step + 1)
        emb = self._embed_tgt(tokens.unsqueeze(1), step)  # (B,1,e)
        x = self.dec_in(emb)  # (B,1,h)
        windows = []
        for i, past in enumerate(state["windows"]):
            window = torch.cat([past, self.drop(x).transpose(1, 2)], dim=2)  # (B,h,k)
            windows.append(window[:, :, 1:])
            x = self._block(i, window, emb, enc, x)
        return self.out(self.drop(self.dec_out(x)))[:, 0], {"windows": windows}
