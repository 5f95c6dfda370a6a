"""Strict --set overrides: unknown keys, wrong types and bad values name the valid choices."""

from __future__ import annotations

import pytest

from bench.cell.config import ConfigError, TrainConfig, parse_overrides
from bench.cell.spec import make_spec


def test_overrides_are_typed():
    spec = make_spec(
        "transformer",
        "copy",
        [
            "model.d_model=64",
            "model.norm_first=true",
            "train.lr=3e-4",
            "task.length=5",
            "task.min_length=2",
        ],
    )
    assert spec.model_cfg.d_model == 64 and spec.model_cfg.norm_first is True
    assert spec.train.lr == 3e-4 and spec.task_cfg.length == 5
    assert spec.device == "cpu"


def test_int_accepted_for_float():
    assert make_spec("lstm", "copy", ["model.dropout=0"]).model_cfg.dropout == 0.0


@pytest.mark.parametrize(
    "item, message",
    [
        ("model.depth=3", "unknown key model.depth; valid keys: model.attn_dropout"),
        ("train.stepz=3", "valid keys: train.batch_size"),
        ("optim.lr=1", "unknown section 'optim'.*choose one of: model, task, train"),
        ("model.d_model", "expected SECTION.KEY=VALUE"),
        ("model.d_model=big", "model.d_model: expected int, got 'big'"),
        ("model.norm_first=3", "model.norm_first: expected bool"),
        ("train.precision=fp8", "not one of: 32-true, bf16-mixed, 16-mixed"),
        ("model.d_model=30", "multiple of 2\\*n_heads"),
        ("task.length=0", "task.length must be >= 1"),
    ],
)
def test_bad_overrides(item, message):
    with pytest.raises(ConfigError, match=message):
        make_spec("transformer", "copy", [item])


def test_unknown_names():
    choices = "unknown model 'rnn'; choose one of: convs2s, convs2s_last, lstm"
    with pytest.raises(ConfigError, match=choices):
        make_spec("rnn", "copy")
    with pytest.raises(ConfigError, match="unknown task 'sort'; choose one of: copy"):
        make_spec("lstm", "sort")


def test_cuda_without_cuda_is_rejected(monkeypatch):
    monkeypatch.setattr("torch.cuda.is_available", lambda: False)
    with pytest.raises(ConfigError, match="no CUDA device"):
        make_spec("lstm", "copy", device="cuda")


def test_parse_overrides_leaves_untouched_sections_default():
    out = parse_overrides(["train.steps=5"], {"train": TrainConfig()})
    assert out["train"] == TrainConfig(steps=5)


def test_cell_key_depends_on_config_and_seed():
    a = make_spec("lstm", "copy", ["train.steps=5"])
    assert a.key == make_spec("lstm", "copy", ["train.steps=5"]).key
    assert a.key != make_spec("lstm", "copy", ["train.steps=6"]).key
    assert a.key != make_spec("lstm", "copy", ["train.steps=5"], seed=1).key
