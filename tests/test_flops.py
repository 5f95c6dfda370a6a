"""FLOPs per token: each model config's own formula (models.protocol), checked by PyTorch."""

from __future__ import annotations

import dataclasses

import pytest
import torch

from bench.cell.flops import flops_per_token, forward_flops, gpu_peak_flops
from models import MODELS, ModelConfig, build_model
from models.lstm import LSTMConfig
from models.protocol import missing_hooks
from tasks.copy import CopyConfig, CopyTask


def copy_batch(length: int = 32, batch: int = 8):  # noqa: ANN201
    task = CopyTask(CopyConfig(length=length, min_length=length, eval_size=8), 0)
    return task, task.sample(batch, torch.Generator().manual_seed(0))


@pytest.mark.parametrize("name", sorted(MODELS))
def test_every_registered_config_implements_the_protocol(name):
    cfg_cls = MODELS[name].config
    assert missing_hooks(cfg_cls) == []
    cfg = cfg_cls()
    assert isinstance(cfg, ModelConfig)
    assert cfg.with_width(cfg.width + cfg.width_step).width == cfg.width + cfg.width_step


@pytest.mark.parametrize("name", ["transformer", "convs2s"])
def test_analytic_flops_match_pytorchs_count(name):
    """The formula counts the dominant matmuls: within 2% of flop_counter's full count."""
    task, batch = copy_batch()
    cfg = MODELS[name].config()
    assert cfg.flops_countable
    out = flops_per_token(cfg, build_model(name, cfg, task.vocab_size), batch, task.vocab_size)
    assert out["flops_per_token_counted"] == pytest.approx(out["flops_per_token_analytic"], 0.02)


def test_an_uncountable_model_has_no_counted_value():
    task, batch = copy_batch(8)
    cfg = MODELS["lstm"].config(d_model=32, n_layers=1)
    assert not cfg.flops_countable  # aten::lstm hides its matmuls from flop_counter
    out = flops_per_token(cfg, build_model("lstm", cfg, task.vocab_size), batch, task.vocab_size)
    assert out["flops_per_token_counted"] is None and out["flops_per_token_analytic"] > 0


def test_forward_flops_is_linear_in_batch_and_grows_with_length():
    for name, entry in MODELS.items():
        cfg = entry.config()
        one = forward_flops(cfg, 1, 32, 33, 100)
        assert forward_flops(cfg, 4, 32, 33, 100) == pytest.approx(4 * one), name
        assert forward_flops(cfg, 1, 64, 65, 100) > 2 * one * 0.99, name


def test_transformer_attention_is_quadratic_in_length():
    cfg = MODELS["transformer"].config()
    per_token = [forward_flops(cfg, 1, n, n, 100) / n for n in (1024, 2048, 4096)]
    # per-token cost grows linearly once the n^2 d attention terms dominate n d^2
    assert per_token[2] - per_token[1] == pytest.approx(2 * (per_token[1] - per_token[0]), 0.01)


@dataclasses.dataclass(frozen=True)
class PluginConfig:
    """A plugin's config: the protocol's hooks, a formula of its own."""

    d_model: int = 16
    width_step = 2

    @property
    def width(self) -> int:
        return self.d_model

    def with_width(self, width: int) -> PluginConfig:
        return dataclasses.replace(self, d_model=width)

    def forward_flops(self, src_len: int, tgt_len: int, vocab_size: int, batch: int = 1) -> float:
        return 1000.0 * batch * tgt_len

    flops_countable = False
    math_attention_on_cpu = False


def test_a_plugin_config_brings_its_own_formula():
    """bench/ asks the config, never the model's name: a plugin model gets FLOPs too."""
    task, batch = copy_batch(8)
    assert missing_hooks(PluginConfig) == [] and isinstance(PluginConfig(), ModelConfig)
    model = build_model("lstm", LSTMConfig(d_model=16, n_layers=1), task.vocab_size)
    out = flops_per_token(PluginConfig(), model, batch, task.vocab_size)
    T = batch.tgt_in.size(1)
    assert out["flops_per_token_analytic"] == 3 * 1000.0 * 8 * T / batch.n_tgt_tokens
    assert out["flops_per_token_counted"] is None


def test_a_config_without_the_hooks_is_named(monkeypatch):
    from models import Entry, model_entry

    @dataclasses.dataclass(frozen=True)
    class Bare:
        d_model: int = 16

    monkeypatch.setitem(MODELS, "bare", Entry(MODELS["lstm"].cls, Bare, "no hooks"))
    with pytest.raises(ValueError, match="Bare lacks width, width_step, with_width, forward_fl"):
        model_entry("bare")


def test_gpu_peak_by_name():
    assert gpu_peak_flops("NVIDIA H100 80GB HBM3") == 989e12
    assert gpu_peak_flops("cpu") is None
