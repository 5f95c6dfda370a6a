"""The optimiser and schedule as configuration: choices, validation, shapes, plateau, recipes."""

from __future__ import annotations

import pytest
import torch

from bench.cell.config import ConfigError, TrainConfig
from bench.cell.module import PlateauScale, make_optimizer, schedule_factor
from bench.cell.spec import make_spec
from bench.matrix.load import load_matrix


def _params():
    return [torch.nn.Parameter(torch.zeros(2))]


@pytest.mark.parametrize(
    "values, cls, check",
    [
        ({}, torch.optim.AdamW, {"betas": (0.9, 0.98), "eps": 1e-9}),
        ({"optimizer": "adam", "betas": [0.9, 0.997], "eps": 1e-8}, torch.optim.Adam,
         {"betas": (0.9, 0.997), "eps": 1e-8}),
        ({"optimizer": "sgd", "lr": 1.0}, torch.optim.SGD, {"momentum": 0.0, "nesterov": False}),
        ({"optimizer": "nesterov", "momentum": 0.99, "lr": 0.25}, torch.optim.SGD,
         {"momentum": 0.99, "nesterov": True, "lr": 0.25}),
    ],
)  # fmt: skip
def test_optimizer_is_configuration(values, cls, check):
    opt = make_optimizer(_params(), TrainConfig(**values))
    assert type(opt) is cls
    for key, value in check.items():
        assert opt.param_groups[0][key] == value


def test_schedules_after_warmup():
    def curve(**kw):
        f = schedule_factor(TrainConfig(steps=100, warmup=10, **kw))
        return [f(s) for s in range(100)]

    inv = curve()
    assert inv[9] == 1.0 and inv[39] == pytest.approx(0.5) and inv[0] == pytest.approx(0.1)
    const = curve(schedule="constant")
    assert const[4] == pytest.approx(0.5) and set(const[9:]) == {1.0}
    lin = curve(schedule="linear")
    assert lin[9] == pytest.approx(1.0) and lin[99] == pytest.approx(1 / 91) and lin[54] < lin[10]
    assert schedule_factor(TrainConfig(warmup=0, schedule="linear", steps=10))(10) == 0.0


def test_plateau_drops_by_its_factor_when_dev_loss_stops_improving():
    scale = PlateauScale(factor=0.1, patience=0)
    f = schedule_factor(TrainConfig(warmup=0, schedule="plateau", eval_every=5), scale)
    scale.step(2.0)
    scale.step(1.5)
    assert f(50) == 1.0
    scale.step(1.6)  # no improvement: / 10
    assert f(50) == pytest.approx(0.1)
    scale.step(1.7)
    assert f(50) == pytest.approx(0.01)


@pytest.mark.parametrize(
    "item, message",
    [
        ("train.optimizer=rmsprop", "train.optimizer='rmsprop' is not one of: adamw, adam, sgd"),
        ("train.schedule=cosine", "train.schedule='cosine' is not one of: inverse_sqrt, constant"),
        ("train.schedule=plateau", "schedule=plateau watches the dev loss .* train.eval_every > 0"),
        ("train.optimizer=nesterov", "nesterov needs train.momentum > 0"),
        ("train.betas=[0.9]", "train.betas must be two numbers in \\[0, 1\\), got \\[0.9\\]"),
        ("train.betas=[0.9, 1.5]", "train.betas must be two numbers"),
        ("train.eps=0", "train.eps must be > 0"),
        ("train.momentum=1.0", "train.momentum must be in \\[0, 1\\)"),
        ("train.plateau_factor=1", "train.plateau_factor must be in \\(0, 1\\)"),
        ("train.clip=-1", "train.clip must be >= 0"),
        ("train.eval_every=-5", "train.eval_every must be >= 0"),
        ("train.grad_clip=1", "unknown key train.grad_clip; valid keys: .*train.clip"),
    ],
)
def test_bad_optimiser_values_name_the_choices(item, message):
    with pytest.raises(ConfigError, match=message):
        make_spec("lstm", "copy", [item])


def test_each_papers_recipe_in_the_paper_preset():
    cells = {c.model: c.train for c in load_matrix("paper").cells("cpu") if c.seed == 0}
    vaswani, luong, gehring = cells["transformer"], cells["lstm"], cells["convs2s"]
    assert (vaswani.optimizer, vaswani.betas, vaswani.eps) == ("adam", (0.9, 0.98), 1e-9)
    assert vaswani.schedule == "inverse_sqrt" and vaswani.label_smoothing == 0.1
    assert vaswani.lr == pytest.approx(512**-0.5 * vaswani.warmup**-0.5, rel=1e-4)
    assert (luong.optimizer, luong.lr, luong.clip) == ("sgd", 1.0, 5.0)
    assert (luong.schedule, luong.plateau_factor) == ("plateau", 0.5) and luong.eval_every > 0
    assert (gehring.optimizer, gehring.momentum, gehring.lr, gehring.clip) == (
        "nesterov", 0.99, 0.25, 0.1
    )  # fmt: skip
    assert (gehring.schedule, gehring.plateau_factor) == ("plateau", 0.1)
