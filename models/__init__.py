"""Model registry: name -> Entry(model class, config class, description).

Plain nn.Modules, no training code. Each config implements ``models.protocol.ModelConfig``
(sizing and cost hooks). A plugin (``ATTNBENCH_PLUGINS``) adds ``MODELS[name] = Entry(...)``.
"""

from __future__ import annotations

from catalog import CONTROL_MODELS
from models.convs2s import ConvS2S, ConvS2SConfig, LastAttentionConvS2SConfig
from models.decoding import beam_search, greedy_decode, prefix_greedy_decode
from models.lstm import LSTMConfig, LSTMSeq2Seq, UniLSTMConfig
from models.protocol import ModelConfig, missing_hooks
from models.seq2seq import Seq2Seq
from models.transformer import Transformer, TransformerConfig
from registry import Entry, lookup

MODELS: dict[str, Entry] = {
    "transformer": Entry(
        Transformer,
        TransformerConfig,
        "Vaswani et al. 2017 encoder-decoder (self-attention, path length O(1))",
    ),
    "lstm": Entry(
        LSTMSeq2Seq,
        LSTMConfig,
        "LSTM encoder-decoder with Luong attention (recurrence, path length O(n))",
    ),
    "lstm_uni": Entry(
        LSTMSeq2Seq,
        UniLSTMConfig,
        "control: the LSTM with a unidirectional encoder (no backward pass, no end-state "
        "shortcut from the right)",
    ),
    "convs2s": Entry(
        ConvS2S,
        ConvS2SConfig,
        "Gehring et al. 2017 convolutional seq2seq (path length O(n/k))",
    ),
    "convs2s_last": Entry(
        ConvS2S,
        LastAttentionConvS2SConfig,
        "control: the ConvS2S with attention in its last decoder layer only (one hop: the "
        "encoder's convolutions must relate two source positions)",
    ),
}

CONTROLS = CONTROL_MODELS  # catalog.py's controls: run only where a matrix names them


def model_entry(name: str) -> Entry:
    """The registry entry of ``name``; unknown names list the valid choices, and an entry
    whose config lacks a ``ModelConfig`` hook names the missing ones."""
    entry = lookup(MODELS, "model", name)
    missing = missing_hooks(entry.config)
    if missing:
        raise ValueError(
            f"model {name!r}: config {entry.config.__name__} lacks {', '.join(missing)} "
            "(the ModelConfig protocol, models/protocol.py)"
        )
    return entry


def build_model(name: str, cfg: object, vocab_size: int, pad_id: int = 0) -> Seq2Seq:
    """Instantiate model ``name`` from its config."""
    entry = model_entry(name)
    if not isinstance(cfg, entry.config):
        raise TypeError(f"model {name!r} needs a {entry.config.__name__}, got {type(cfg).__name__}")
    return entry.cls(cfg, vocab_size, pad_id)


__all__ = [
    "CONTROLS",
    "MODELS",
    "Entry",
    "ModelConfig",
    "Seq2Seq",
    "build_model",
    "model_entry",
    "beam_search",
    "greedy_decode",
    "prefix_greedy_decode",
]
