"""Matrix files: strict parsing, presets, cell expansion."""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml

from bench.cell.config import ConfigError
from bench.matrix.load import load_matrix, parse_matrix, preset_names

BASE = {
    "name": "t",
    "models": ["lstm", "transformer"],
    "seeds": [0, 1],
    "train": {"steps": 10},
    "tasks": [{"name": "copy", "task": {"length": [4, 8], "min_length": 2}}],
}


def test_axes_models_and_seeds_expand_seed_major():
    cells = parse_matrix(BASE, "t").cells("cpu")
    assert len(cells) == 2 * 2 * 2
    assert [c.seed for c in cells] == [0] * 4 + [1] * 4
    assert {(c.model, c.task_cfg.length) for c in cells} == {
        (m, n) for m in ("lstm", "transformer") for n in (4, 8)
    }
    assert all(c.train.steps == 10 for c in cells)
    assert len({c.key for c in cells}) == 8


def test_block_and_model_overrides():
    data = {
        **BASE,
        "model": {"lstm": {"d_model": 64}},
        "tasks": [
            {
                "name": "copy",
                "models": ["lstm"],
                "seeds": [3],
                "train": {"steps": 5},
                "model": {"lstm": {"n_layers": 1}},
            }
        ],
    }
    (cell,) = parse_matrix(data, "t").cells("cpu")
    assert (cell.model_cfg.d_model, cell.model_cfg.n_layers, cell.train.steps, cell.seed) == (
        64,
        1,
        5,
        3,
    )


def test_equal_params_sizes_every_model():
    data = {
        **BASE,
        "equal_params": 300_000,
        "seeds": [0],
        "tasks": [{"name": "copy"}],
        "models": ["transformer", "lstm", "convs2s"],
    }
    from models.sizing import count_params

    for cell in parse_matrix(data, "t").cells("cpu"):
        n = count_params(cell.model, cell.model_cfg, 19)
        assert abs(n - 300_000) <= 30_000 and cell.equal_params == 300_000


@pytest.mark.parametrize(
    "change, message",
    [
        ({"sedes": [1]}, "t: unknown key 'sedes'; valid keys: name, description"),
        (
            {"models": ["gru"]},
            "t: models: unknown model 'gru'; choose one of: convs2s, convs2s_last, lstm",
        ),
        ({"seeds": ["a"]}, "seeds: expected a list of integers"),
        ({"tasks": []}, "tasks must be a non-empty list"),
        ({"tasks": [{"name": "sort"}]}, "tasks\\[0\\] \\(sort\\).*unknown task 'sort'"),
        (
            {"tasks": [{"name": "copy", "task": {"lenght": 3}}]},
            "tasks\\[0\\] \\(copy\\), model lstm: unknown key task.lenght; valid keys: task.delay",
        ),
        ({"tasks": [{"name": "copy", "tsk": {}}]}, "tasks\\[0\\]: unknown key 'tsk'"),
        ({"tasks": [{"name": "copy", "task": {"length": 0}}]}, "task.length must be >= 1"),
        ({"train": {"steps": "many"}}, "train.steps: expected int, got 'many'"),
        (
            {"model": {"rnn": {}}},
            "model: unknown key 'rnn'; valid keys: convs2s, convs2s_last, lstm",
        ),
        ({"equal_params": 10}, "cannot size lstm to 10 parameters"),
        ({"timeout_s": -1}, "timeout_s must be a positive number"),
    ],
)
def test_bad_matrix_names_the_yaml_place(change, message):
    with pytest.raises(ConfigError, match=message):
        parse_matrix({**BASE, **change}, "t").cells("cpu")


def test_unknown_preset_lists_presets():
    with pytest.raises(ConfigError, match="not a file and not a preset; presets: "):
        load_matrix("nonexistent")


def test_bad_yaml_file(tmp_path):
    path = tmp_path / "m.yaml"
    path.write_text("tasks: [unclosed")
    with pytest.raises(ConfigError, match="not valid YAML"):
        load_matrix(str(path))


def test_matrix_file_by_path(tmp_path):
    path = tmp_path / "m.yaml"
    path.write_text(yaml.safe_dump(BASE))
    assert len(load_matrix(str(path)).cells("cpu")) == 8


EXPERIMENTS = sorted(
    str(p) for p in (Path(__file__).parents[1] / "matrices/experiments").glob("*.yaml")
)


@pytest.mark.parametrize("name", [*preset_names(), *EXPERIMENTS])
def test_every_preset_validates(name):
    matrix = load_matrix(name)
    cells = matrix.cells("cpu")
    assert cells and len({c.key for c in cells}) == len(cells)
