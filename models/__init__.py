"""Model registry: name -> (model class, config class). Plain nn.Modules, no training code."""

from __future__ import annotations

from models.convs2s import ConvS2S, ConvS2SConfig
from models.decoding import beam_search, greedy_decode, prefix_greedy_decode
from models.lstm import LSTMConfig, LSTMSeq2Seq
from models.seq2seq import Seq2Seq
from models.transformer import Transformer, TransformerConfig

MODELS: dict[str, tuple[type[Seq2Seq], type]] = {
    "transformer": (Transformer, TransformerConfig),
    "lstm": (LSTMSeq2Seq, LSTMConfig),
    "convs2s": (ConvS2S, ConvS2SConfig),
}

DESCRIPTIONS = {
    "transformer": "Vaswani et al. 2017 encoder-decoder (self-attention, path length O(1))",
    "lstm": "LSTM encoder-decoder with Luong attention (recurrence, path length O(n))",
    "convs2s": "Gehring et al. 2017 convolutional seq2seq (path length O(n/k))",
}


def model_entry(name: str) -> tuple[type[Seq2Seq], type]:
    """(model class, config class) for ``name``; unknown names list the valid choices."""
    if name not in MODELS:
        raise ValueError(f"unknown model {name!r}; choose one of: {', '.join(sorted(MODELS))}")
    return MODELS[name]


def build_model(name: str, cfg: object, vocab_size: int, pad_id: int = 0) -> Seq2Seq:
    """Instantiate model ``name`` from its config."""
    cls, cfg_cls = model_entry(name)
    if not isinstance(cfg, cfg_cls):
        raise TypeError(f"model {name!r} needs a {cfg_cls.__name__}, got {type(cfg).__name__}")
    return cls(cfg, vocab_size, pad_id)


__all__ = [
    "MODELS",
    "DESCRIPTIONS",
    "Seq2Seq",
    "build_model",
    "model_entry",
    "beam_search",
    "greedy_decode",
    "prefix_greedy_decode",
]
