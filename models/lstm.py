"""LSTM encoder-decoder with Luong attention (Luong et al. 2015), the paper's RNN baseline.

Built on ``nn.LSTM`` so cuDNN runs the recurrences on GPU. Source padding never enters the
encoder's recurrence: on GPU the input is packed (cuDNN runs packed sequences natively); on
CPU, where PyTorch's packed path has a quadratic backward, :func:`run_by_length` gives the
same result with unpacked kernel calls. The decoder uses Luong "general" attention over the
top layer's states. By default it runs over the whole target in one ``nn.LSTM`` call (one
cuDNN call on GPU), without input feeding (unlike Luong, and unlike GNMT, the paper's RNN
baseline, which feeds the attention context into every decoder layer).
``input_feeding=True`` (Luong section 3.3: the previous attentional vector is fed with the
next input) forces a loop over time steps: the loop runs a hand-written cell on
``nn.LSTM``'s own weights, cheaper per step than an ``nn.LSTM`` call. It measured 2-2.8x
slower to train on CPU at no gain in accuracy on synthetic tasks and near-zero-BLEU
translation (docs/performance.md), hence off by default until re-decided on trained
translation models. Every parameter starts uniform(-0.1, 0.1) (Luong section 4.1).
Decoding keeps (h, c, feed).
"""

from __future__ import annotations

from dataclasses import dataclass, replace

import torch
import torch.nn.functional as F
from torch import Tensor, nn
from torch.nn.utils.rnn import pack_padded_sequence, pad_packed_sequence

from checks import check_values
from models.attention import Override, dot_attention, source_keep
from models.limits import MAX_LAYERS
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
    input_feeding: bool = False
    """Feed the previous attentional vector into the decoder (Luong et al. section 3.3);
    off by default: 2-2.8x slower training, no better accuracy (docs/performance.md)."""
    share_embeddings: bool = True
    """Tie source, target and output embeddings (needs a joint vocabulary)."""

    def __post_init__(self) -> None:
        check_values(self, "lstm", n_layers=f"<= {MAX_LAYERS}")
        check_values(self, "lstm", d_model=">= 1", n_layers=">= 1")
        if self.bidirectional and self.d_model % 2:
            raise ValueError(f"lstm.d_model={self.d_model} must be even with bidirectional=true")
        check_values(self, "lstm", dropout="[0, 1)")

    @property
    def width(self) -> int:
        return self.d_model

    @property
    def width_step(self) -> int:
        return 2

    def with_width(self, width: int) -> LSTMConfig:
        return replace(self, d_model=width)

    # -- cost hooks (see models.protocol) --
    def forward_flops(self, src_len: int, tgt_len: int, vocab_size: int, batch: int = 1) -> float:
        """Encoder and decoder recurrences, Luong attention, output layer."""
        S, V = src_len, vocab_size
        src, tgt = batch * S, batch * tgt_len
        d, L = self.d_model, self.n_layers
        dirs = 2 if self.bidirectional else 1
        h = d // dirs
        enc = sum(src * dirs * 2 * 4 * h * ((d if i == 0 else h * dirs) + h) for i in range(L))
        dec_in = 2 * d if self.input_feeding else d
        dec = sum(tgt * 2 * 4 * d * ((dec_in if i == 0 else d) + d) for i in range(L))
        attn = src * 2 * d * d + tgt * (2 * 2 * S * d + 2 * 2 * d * d)
        return enc + dec + attn + tgt * 2 * d * V

    @property
    def flops_countable(self) -> bool:
        return False  # torch.utils.flop_counter cannot see inside aten::lstm

    @property
    def math_attention_on_cpu(self) -> bool:
        return False

    def activation_floats(self, batch: int, src_len: int, tgt_len: int, vocab: int) -> int:
        """Floats kept for backward by one training step (memory sizing before building).

        Counted by hand because ``nn.LSTM`` and packing cannot run on the meta device: per
        LSTM layer and step its input, the four gates before and after their nonlinearities,
        cell and hidden state, and the copies the chunked CPU run makes (~14 d, fitted to
        measured peak memory at lengths 256 and 1024); embeddings and dropout (~3 d); the
        decoder's fused attention, concatenation and output (~5 d); logits and log-softmax
        (2 V).
        """
        d, L = self.d_model, self.n_layers
        enc = batch * src_len * d * (3 + 14 * L)
        dec = batch * tgt_len * (d * (3 + 14 * L + 5) + 2 * vocab)
        return enc + dec


@dataclass(frozen=True)
class UniLSTMConfig(LSTMConfig):
    """The unidirectional-LSTM control (``lstm_uni``): the encoder reads left to right only,
    so nothing reaches a position from its right but through the decoder's attention."""

    bidirectional: bool = False
    """Bidirectional encoder (off: the control's point; on: it is the plain ``lstm``)."""


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
        self.override: Override | None = None  # see models.attention.Override
        with torch.no_grad():  # Luong et al. section 4.1: every parameter uniform(-0.1, 0.1)
            for p in self.parameters():  # registration order: seeded init
                p.uniform_(-0.1, 0.1)
            for emb in dict.fromkeys((self.src_embed, self.tgt_embed)):
                emb.weight[pad_id].zero_()  # the pad row stays zero (nn.Embedding convention)
        if cfg.share_embeddings:
            self.out.weight = self.tgt_embed.weight

    def encode(self, src: Tensor) -> dict:
        B, S = src.shape
        pad = src.eq(self.pad_id)  # (B,S)
        lengths = (~pad).sum(1).clamp(min=1)
        x = self.drop(self.src_embed(src))
        chunks = None if src.is_cuda else lengths.unique()  # sorted distinct lengths
        if chunks is not None and S >= 2 * chunks.numel():
            out, h, c = run_by_length(self.encoder, x, lengths, chunks)
        else:  # cuDNN runs packed sequences natively; on CPU, packing is kept for short chunks
            packed = pack_padded_sequence(x, lengths.cpu(), batch_first=True, enforce_sorted=False)
            out, (h, c) = self.encoder(packed)
            out, _ = pad_packed_sequence(out, batch_first=True, total_length=S)  # 0 at pads
        if self.cfg.bidirectional:  # (2L,B,d/2) -> (L,B,d): concat both directions per layer
            L = self.cfg.n_layers
            h, c = (s.view(L, 2, B, -1).transpose(1, 2).reshape(L, B, -1) for s in (h, c))
        return {
            "keys": self.attn_in(out),  # (B,S,d) W_a s_j, computed once
            "values": out,
            "keep": source_keep(pad),  # (B,1,1,S)
            "h": h.transpose(0, 1),  # (B,L,d): batch first so beam search can reorder it
            "c": c.transpose(0, 1),
        }

    def _attend(self, h_top: Tensor, enc: dict) -> Tensor:
        """h_top (B,T,d) -> attentional vectors h~ (B,T,d)."""
        context = dot_attention(
            h_top, enc["keys"], enc["values"], enc["keep"], self.recorded, self.override
        )
        return torch.tanh(self.attn_out(torch.cat([context, h_top], dim=-1)))

    def init_state(self, enc: dict) -> dict:
        h = enc["h"]
        return {"h": h, "c": enc["c"], "feed": h.new_zeros(h.size(0), self.cfg.d_model)}

    def _run(self, emb: Tensor, state: dict, enc: dict) -> tuple[Tensor, dict]:
        """Decoder on embedded inputs (B,T,d) from ``state`` -> attentional vectors (B,T,d)."""
        if self.cfg.input_feeding or emb.size(1) == 1:
            return self._run_steps(emb, state, enc)
        hc = (state["h"].transpose(0, 1).contiguous(), state["c"].transpose(0, 1).contiguous())
        out, (h, c) = self.decoder(emb, hc)  # one call over all steps: cuDNN on GPU
        att = self._attend(out, enc)
        return att, {"h": h.transpose(0, 1), "c": c.transpose(0, 1), "feed": att[:, -1]}

    def _run_steps(self, emb: Tensor, state: dict, enc: dict) -> tuple[Tensor, dict]:
        """The decoder one step at a time, with ``self.decoder``'s weights (same function).

        Input feeding makes step t depend on step t-1's attentional vector, so the stack
        must step. Per step, an ``nn.LSTM`` call costs more than the cell's arithmetic;
        instead the embedding part of layer 0's input projection is computed for all steps
        in one matmul, and each layer's step is one matmul over [input; h] plus pointwise
        gates. Decoding one token (``decode_step``) takes this path too.
        """
        d, L, lstm = self.cfg.d_model, self.cfg.n_layers, self.decoder
        p = lstm.dropout if self.training else 0.0
        w_ih0 = lstm.weight_ih_l0  # (4d, d) or (4d, 2d) = [embedding | feed] columns
        pre = F.linear(emb, w_ih0[:, :d], lstm.bias_ih_l0 + lstm.bias_hh_l0)  # (B,T,4d)
        weights = [  # per layer: the step matmul's weight over [input; h] (input fed, layer 0)
            torch.cat([w_ih0[:, d:], lstm.weight_hh_l0], 1)
            if self.cfg.input_feeding
            else lstm.weight_hh_l0
        ]
        biases = [None]
        for i in range(1, L):
            w_ih, w_hh = getattr(lstm, f"weight_ih_l{i}"), getattr(lstm, f"weight_hh_l{i}")
            weights.append(torch.cat([w_ih, w_hh], 1))
            biases.append(getattr(lstm, f"bias_ih_l{i}") + getattr(lstm, f"bias_hh_l{i}"))
        h, c = list(state["h"].unbind(1)), list(state["c"].unbind(1))  # L x (B,d)
        feed, outs = state["feed"], []
        for pre_t in pre.unbind(1):  # unbind, not slicing: a slice's backward is O(T)
            x = None
            for i in range(L):
                if i == 0:
                    inp = torch.cat([feed, h[0]], 1) if self.cfg.input_feeding else h[0]
                    gates = torch.addmm(pre_t, inp, weights[0].t())
                else:
                    x = F.dropout(x, p, self.training)  # nn.LSTM's dropout between layers
                    gates = torch.addmm(biases[i], torch.cat([x, h[i]], 1), weights[i].t())
                # nn.LSTM's gate order; chunk, not slices: one backward cat, not 4 full grads
                in_gate, forget, cell, out_gate = gates.chunk(4, 1)
                c[i] = forget.sigmoid() * c[i] + in_gate.sigmoid() * cell.tanh()
                h[i] = x = out_gate.sigmoid() * c[i].tanh()
            feed = self._attend(x.unsqueeze(1), enc)[:, 0] if self.cfg.input_feeding else x
            outs.append(feed)
        if not self.cfg.input_feeding:  # attention after the recurrence, over all steps
            att = self._attend(torch.stack(outs, dim=1), enc)
            feed = att[:, -1]
        else:
            att = torch.stack(outs, dim=1)
        return att, {"h": torch.stack(h, 1), "c": torch.stack(c, 1), "feed": feed}

    def decode_all(self, enc: dict, tgt_in: Tensor) -> Tensor:
        att, _ = self._run(self.drop(self.tgt_embed(tgt_in)), self.init_state(enc), enc)
        return self.out(self.drop(att))  # (B,T,V)

    def decode_step(self, enc: dict, state: dict, tokens: Tensor, step: int) -> tuple[Tensor, dict]:
        att, state = self._run(self.drop(self.tgt_embed(tokens.unsqueeze(1))), state, enc)
        return self.out(self.drop(att))[:, 0], state


def run_by_length(lstm: nn.LSTM, x: Tensor, lengths: Tensor, ends: Tensor) -> tuple:
    """``lstm`` over padded ``x`` (B,S,in) as if packed: (out (B,S,H*dirs) 0 at pads, h, c).

    On CPU, PyTorch runs a packed sequence step by step and the backward of each step's
    slice of the input projection writes a full-size gradient: O(S^2) work, 15x slower than
    the unpacked kernel at S=1024. Here each layer and direction runs the unpacked kernel
    (one call per stretch of steps between distinct lengths ``ends``), sequences reversed
    within their length for the backward direction, and each sequence's final state is
    taken at the end of its own stretch. Same function as the packed call.
    """
    B, S, _ = x.shape
    ends_list = ends.tolist()
    sizes = [e - s for s, e in zip([0, *ends_list[:-1]], ends_list, strict=True)]
    sizes += [S - ends_list[-1]] if ends_list[-1] < S else []
    last = torch.searchsorted(ends, lengths)  # (B,) stretch in which each sequence ends
    rows = torch.arange(B, device=x.device)
    pos = torch.arange(S, device=x.device)
    keep = (pos < lengths.unsqueeze(1)).unsqueeze(-1)  # (B,S,1)
    flip = (lengths.unsqueeze(1) - 1 - pos).where(keep[..., 0], pos)  # reverse within length
    flip = flip.unsqueeze(-1)
    dirs = 2 if lstm.bidirectional else 1
    hs, cs = [], []
    for layer in range(lstm.num_layers):
        outs = []
        for direction in range(dirs):
            suffix = f"_l{layer}" + ("_reverse" if direction else "")
            weights = [getattr(lstm, n + suffix) for n in ("weight_ih", "weight_hh")]
            weights += [getattr(lstm, n + suffix) for n in ("bias_ih", "bias_hh")] * lstm.bias
            inp = x if direction == 0 else x.gather(1, flip.expand_as(x))
            h = c = x.new_zeros(1, B, lstm.hidden_size)
            parts, h_ends, c_ends = [], [], []
            for part in inp.split(sizes, dim=1):  # split, not slices: one O(S) backward
                out, h, c = torch.lstm(
                    part, (h, c), weights, lstm.bias, 1, 0.0, lstm.training, False, True
                )
                parts.append(out)
                h_ends.append(h[0])
                c_ends.append(c[0])
            out = torch.cat(parts, dim=1)  # (B,S,H)
            outs.append(out if direction == 0 else out.gather(1, flip.expand_as(out)))
            hs.append(torch.stack(h_ends)[last, rows])
            cs.append(torch.stack(c_ends)[last, rows])
        x = torch.cat(outs, dim=-1) * keep
        if layer < lstm.num_layers - 1:
            x = F.dropout(x, lstm.dropout, lstm.training)
    return x, torch.stack(hs), torch.stack(cs)
