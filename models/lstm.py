"""LSTM encoder-decoder with Luong attention (Luong et al. 2015), the paper's RNN baseline.

Built on ``nn.LSTM`` so cuDNN runs the recurrences on GPU. The encoder packs its input, so
source padding never enters the recurrence. The decoder uses Luong "general" attention and,
by default, input feeding (the previous attentional vector is fed with the next input),
which forces a loop over time steps; ``input_feeding=False`` runs the decoder LSTM over the
whole target in one call.
"""

from __future__ import annotations

from dataclasses import dataclass, replace

import torch
from torch import Tensor, nn
from torch.nn.utils.rnn import pack_padded_sequence, pad_packed_sequence

from models.seq2seq import Seq2Seq


@dataclass(frozen=True)
class LSTMConfig:
    """LSTM encoder-decoder hyperparameters."""

    d_model: int = 176
    """Embedding size and hidden size of encoder output and decoder."""
    n_layers: int = 2
    """LSTM layers in the encoder and in the decoder."""
    bidirectional: bool = True
    """Bidirectional encoder (each direction d_model/2 wide)."""
    dropout: float = 0.1
    """Dropout on embeddings, between LSTM layers and on the attentional vector."""
    input_feeding: bool = True
    """Feed the previous attentional vector into the decoder (Luong et al. section 3.3)."""
    share_embeddings: bool = True
    """Tie source, target and output embeddings (needs a joint vocabulary)."""

    def __post_init__(self) -> None:
        for name in ("d_model", "n_layers"):
            if getattr(self, name) < 1:
                raise ValueError(f"lstm.{name} must be >= 1, got {getattr(self, name)}")
        if self.bidirectional and self.d_model % 2:
            raise ValueError(f"lstm.d_model={self.d_model} must be even with bidirectional=true")
        if not 0.0 <= self.dropout < 1.0:
            raise ValueError(f"lstm.dropout must be in [0, 1), got {self.dropout}")

    @property
    def width(self) -> int:
        return self.d_model

    @property
    def width_step(self) -> int:
        return 2

    def with_width(self, width: int) -> LSTMConfig:
        return replace(self, d_model=width)


class LSTMSeq2Seq(Seq2Seq):
    """Luong-attention LSTM encoder-decoder with the shared attnbench interface."""

    def __init__(self, cfg: LSTMConfig, vocab_size: int, pad_id: int = 0) -> None:
        super().__init__(pad_id)
        self.cfg = cfg
        d, L = cfg.d_model, cfg.n_layers
        self.src_embed = nn.Embedding(vocab_size, d, padding_idx=pad_id)
        self.tgt_embed = (
            self.src_embed
            if cfg.share_embeddings
            else nn.Embedding(vocab_size, d, padding_idx=pad_id)
        )
        self.drop = nn.Dropout(cfg.dropout)
        dirs = 2 if cfg.bidirectional else 1
        self.encoder = nn.LSTM(
            d,
            d // dirs,
            L,
            batch_first=True,
            dropout=cfg.dropout if L > 1 else 0.0,
            bidirectional=cfg.bidirectional,
        )
        dec_in = 2 * d if cfg.input_feeding else d
        self.decoder = nn.LSTM(
            dec_in, d, L, batch_first=True, dropout=cfg.dropout if L > 1 else 0.0
        )
        self.attn_in = nn.Linear(d, d, bias=False)  # W_a of the "general" score h_t^T W_a s_j
        self.attn_out = nn.Linear(2 * d, d, bias=False)  # W_c: h~_t = tanh(W_c [c_t; h_t])
        self.out = nn.Linear(d, vocab_size, bias=False)
        self.recorded: list[Tensor] | None = None  # see models.seq2seq.record_attention
        embeddings = dict.fromkeys((self.src_embed, self.tgt_embed))  # ordered: seeded init
        for emb in embeddings:
            nn.init.uniform_(emb.weight, -0.1, 0.1)
        if cfg.share_embeddings:
            self.out.weight = self.tgt_embed.weight

    def encode(self, src: Tensor) -> dict:
        B, S = src.shape
        pad = src.eq(self.pad_id)  # (B,S)
        lengths = (~pad).sum(1).clamp(min=1)
        x = self.drop(self.src_embed(src))
        packed = pack_padded_sequence(x, lengths.cpu(), batch_first=True, enforce_sorted=False)
        out, (h, c) = self.encoder(packed)
        out, _ = pad_packed_sequence(out, batch_first=True, total_length=S)  # (B,S,d), 0 at pads
        if self.cfg.bidirectional:  # (2L,B,d/2) -> (L,B,d): concat both directions per layer
            L = self.cfg.n_layers
            h, c = (s.view(L, 2, B, -1).transpose(1, 2).reshape(L, B, -1) for s in (h, c))
        return {
            "keys": self.attn_in(out),  # (B,S,d) W_a s_j, computed once
            "values": out,
            "pad": pad,
            "h": h.transpose(0, 1),  # (B,L,d): batch first so beam search can reorder it
            "c": c.transpose(0, 1),
        }

    def _attend(self, h_top: Tensor, enc: dict) -> Tensor:
        """h_top (B,T,d) -> attentional vectors h~ (B,T,d)."""
        scores = h_top @ enc["keys"].transpose(1, 2)  # (B,T,S)
        weights = scores.masked_fill(enc["pad"].unsqueeze(1), float("-inf")).softmax(-1)
        if self.recorded is not None:
            self.recorded.append(weights.detach())
        context = weights @ enc["values"]  # (B,T,d)
        return torch.tanh(self.attn_out(torch.cat([context, h_top], dim=-1)))

    def init_state(self, enc: dict) -> dict:
        h = enc["h"]
        return {"h": h, "c": enc["c"], "feed": h.new_zeros(h.size(0), self.cfg.d_model)}

    def _run(self, emb: Tensor, state: dict, enc: dict) -> tuple[Tensor, dict]:
        """Decoder on embedded inputs (B,T,d) from ``state`` -> attentional vectors (B,T,d)."""
        hc = (state["h"].transpose(0, 1).contiguous(), state["c"].transpose(0, 1).contiguous())
        if not self.cfg.input_feeding:
            out, (h, c) = self.decoder(emb, hc)  # one call over all steps: cuDNN-friendly
            att = self._attend(out, enc)
            feed = att[:, -1]
        else:
            feed, outs = state["feed"], []
            for t in range(emb.size(1)):  # input feeding makes each step depend on the last
                out, hc = self.decoder(torch.cat([emb[:, t : t + 1], feed.unsqueeze(1)], -1), hc)
                feed = self._attend(out, enc)[:, 0]
                outs.append(feed)
            att, (h, c) = torch.stack(outs, dim=1), hc
        return att, {"h": h.transpose(0, 1), "c": c.transpose(0, 1), "feed": feed}

    def forward(self, src: Tensor, tgt_in: Tensor) -> Tensor:
        enc = self.encode(src)
        att, _ = self._run(self.drop(self.tgt_embed(tgt_in)), self.init_state(enc), enc)
        return self.out(self.drop(att))  # (B,T,V)

    def decode_step(self, enc: dict, state: dict, tokens: Tensor, step: int) -> tuple[Tensor, dict]:
        att, state = self._run(self.drop(self.tgt_embed(tokens.unsqueeze(1))), state, enc)
        return self.out(self.drop(att))[:, 0], state
