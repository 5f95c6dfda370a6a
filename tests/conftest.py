"""Shared test fixtures: tiny model configs, CPU only, W&B never reaches the network."""

from __future__ import annotations

import os
from dataclasses import asdict

import pytest
import torch

os.environ.setdefault("WANDB_MODE", "disabled")

from models import build_model  # noqa: E402
from models.convs2s import ConvS2SConfig, LastAttentionConvS2SConfig  # noqa: E402
from models.lstm import LSTMConfig, UniLSTMConfig  # noqa: E402
from models.transformer import TransformerConfig  # noqa: E402

VOCAB = 13
TINY = {
    "transformer": TransformerConfig(
        d_model=32, n_heads=2, d_ff=64, n_enc_layers=2, n_dec_layers=2, dropout=0.0
    ),
    "lstm": LSTMConfig(d_model=32, n_layers=2, dropout=0.0),
    "lstm_uni": UniLSTMConfig(d_model=32, n_layers=2, dropout=0.0),
    "convs2s": ConvS2SConfig(
        d_embed=16,
        d_hidden=32,
        kernel_size=3,
        n_enc_layers=2,
        n_dec_layers=2,
        dropout=0.0,
        max_positions=64,
    ),
}
TINY["convs2s_last"] = LastAttentionConvS2SConfig(**asdict(TINY["convs2s"]) | {"attend": "last"})
VARIANTS = {  # options that change the code path, each must keep the interface contracts
    "transformer-preln-untied": (
        "transformer",
        TransformerConfig(
            d_model=32, n_heads=2, d_ff=64, dropout=0.0, norm_first=True, share_embeddings=False
        ),
    ),
    "lstm-unidir-nofeed": (
        "lstm",
        LSTMConfig(d_model=32, n_layers=1, dropout=0.0, bidirectional=False, input_feeding=False),
    ),
    "convs2s-k5-nown": (
        "convs2s",
        ConvS2SConfig(
            d_embed=16,
            d_hidden=32,
            kernel_size=5,
            n_enc_layers=2,
            n_dec_layers=2,
            dropout=0.0,
            weight_norm=False,
            max_positions=64,
        ),
    ),
}
ALL = {name: (name, cfg) for name, cfg in TINY.items()} | VARIANTS


@pytest.fixture(params=sorted(ALL))
def tiny_model(request):
    """(label, model) for every model and option variant, in eval mode, seeded."""
    name, cfg = ALL[request.param]
    torch.manual_seed(0)
    return request.param, build_model(name, cfg, VOCAB).eval()


def random_pair(b: int = 3, s: int = 9, t: int = 7, seed: int = 1):
    g = torch.Generator().manual_seed(seed)
    src = torch.randint(3, VOCAB, (b, s), generator=g)
    tgt = torch.randint(3, VOCAB, (b, t), generator=g)
    src[0, s - 3 :] = 0  # first example is padded
    return src, tgt
