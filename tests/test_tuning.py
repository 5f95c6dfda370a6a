"""Equal-budget tuning: tune parsing, sweep/seed stages, choice on dev, CLI validate and run."""

from __future__ import annotations

import json

import pytest
import yaml
from typer.testing import CliRunner

from bench.cell.config import ConfigError
from bench.matrix.load import parse_matrix
from bench.matrix.run import tuning_notes
from bench.matrix.tuning import TuneSpec, at_edge, choose, parse_tune, without_seed_filter
from cli import app

runner = CliRunner()
TINY = {
    "transformer": {"d_model": 16, "n_heads": 2, "d_ff": 32, "n_enc_layers": 1, "n_dec_layers": 1},
    "lstm": {"d_model": 16, "n_layers": 1},
}
TUNED = {
    "name": "tuned",
    "models": ["transformer", "lstm"],
    "seeds": [0, 1],
    "train": {"steps": 6, "batch_size": 4, "warmup": 1, "log_every": 2, "timing_blocks": 2,
              "timing_warmup": 1, "eval_batch_size": 16, "lstm": {"clip": 5.0}},
    "model": TINY,
    "tune": {"lr": [0.001, 0.01, 0.1], "metric": "dev_loss", "seed": 7, "extend": False},
    "tasks": [{"name": "copy", "task": {"length": 6, "min_length": 2, "eval_size": 16}}],
}  # fmt: skip


def _row(cell, status="ok", **metrics):
    return {"key": cell.key, "status": status, "wall_s": 1.0, **metrics}


def test_sweep_stage_is_the_same_for_every_model_and_seed_cells_wait():
    plan = parse_matrix(TUNED, "t").plan("cpu")
    assert len(plan.sweep) == 2 * 3 and not plan.seeds
    for model in ("transformer", "lstm"):
        cells = [c for c in plan.sweep if c.model == model]
        assert [c.train.lr for c in cells] == [0.001, 0.01, 0.1]
        assert {(c.seed, c.train.steps, c.train.batch_size) for c in cells} == {(7, 6, 4)}
        assert all(c.sweep["point"] == {"lr": c.train.lr} for c in cells)
    assert [(w.model, w.seed) for w in plan.waiting] == [
        ("transformer", 0), ("transformer", 1), ("lstm", 0), ("lstm", 1)
    ]  # fmt: skip
    assert "lr: chosen on dev" in plan.waiting[0].label()


def test_seed_cells_use_each_models_best_dev_value():
    matrix = parse_matrix(TUNED, "t")
    sweep = matrix.plan("cpu").sweep
    dev = {("transformer", 0.001): 2.0, ("transformer", 0.01): 1.5, ("transformer", 0.1): 3.0,
           ("lstm", 0.001): 2.5, ("lstm", 0.01): 2.6, ("lstm", 0.1): None}  # fmt: skip
    latest = {
        c.key: _row(c, "ok" if dev[(c.model, c.train.lr)] else "failed:nan",
                    dev_loss=dev[(c.model, c.train.lr)])
        for c in sweep
    }  # fmt: skip
    plan = matrix.plan("cpu", latest)
    assert not plan.waiting and len(plan.seeds) == 4
    chosen = {(c.model, c.seed): c.train.lr for c in plan.seeds}
    assert chosen == {("transformer", 0): 0.01, ("transformer", 1): 0.01,
                      ("lstm", 0): 0.001, ("lstm", 1): 0.001}  # fmt: skip
    lstm = next(c for c in plan.seeds if c.model == "lstm")
    assert lstm.train.clip == 5.0  # the model's own train values survive tuning
    tuned = lstm.tuned
    assert tuned["grid"] == {"lr": [0.001, 0.01, 0.1]} and tuned["chosen"] == {"lr": 0.001}
    assert [r["dev_loss"] for r in tuned["dev_metric"]] == [2.5, 2.6, None]  # failed: worst
    assert tuned["at_edge"] == ["lr"] and tuned["budget"]["cells"] == 3
    assert tuned["budget"]["steps"] == 6 and tuned["budget"]["sweep_wall_s"] == 3.0
    assert lstm.to_dict()["tuned"] == tuned  # in the row and the key
    assert lstm.key not in {c.key for c in sweep}


def test_a_sweep_with_a_missing_row_or_only_failures_chooses_nothing():
    matrix = parse_matrix(TUNED, "t")
    sweep = [c for c in matrix.plan("cpu").sweep if c.model == "lstm"]
    partial = {c.key: _row(c, dev_loss=1.0) for c in sweep[:2]}
    assert {w.model for w in matrix.plan("cpu", partial).waiting} == {"transformer", "lstm"}
    failed = {c.key: _row(c, "failed:nan") for c in sweep}
    assert {w.model for w in matrix.plan("cpu", failed).waiting} == {"transformer", "lstm"}


def test_higher_is_better_metrics_and_equal_values_are_a_tie():
    tune = TuneSpec((("lr", (1, 2, 3)),), "dev_bleu")
    points = tune.points()
    rows = [{"status": "ok", "key": str(i), "dev_bleu": b, "dev_loss": loss}
            for i, (b, loss) in enumerate([(5.0, 1.0), (9.0, 3.0), (9.0, 2.0)])]  # fmt: skip
    choice = choose(points, rows, tune)
    assert choice.point == {"lr": 3}  # 9.0 = 9.0: a tie, and lr 3 has the lower dev loss
    assert choice.tie == {"points": [{"lr": 2}, {"lr": 3}], "broken_by": "dev_loss"}
    assert [r["dev_bleu"] for r in choice.record] == [5.0, 9.0, 9.0]
    acc = TuneSpec((("lr", (1, 2)),), "dev_acc")
    rows = [{"status": "ok", "key": "a", "dev_token_acc": 0.9, "dev_answer_acc": 0.1},
            {"status": "ok", "key": "b", "dev_token_acc": 0.1, "dev_answer_acc": 0.5}]  # fmt: skip
    assert choose(acc.points(), rows, acc).point == {"lr": 2}  # the answer, where a task has one
    assert choose(acc.points(), rows, acc).tie is None


def test_overlapping_dev_intervals_are_a_tie_broken_by_dev_loss():
    """13.89 vs 13.88 dev BLEU is not a choice: the intervals overlap, dev loss decides."""
    tune = TuneSpec((("lr", (0.001, 0.003, 0.01)),), "dev_bleu")
    scores = [("a", 13.89, 3.24), ("b", 13.88, 2.95), ("c", 1.5, 6.0)]
    rows = [{"status": "ok", "key": k, "dev_bleu": b, "dev_loss": loss} for k, b, loss in scores]
    shown = {"a": (12.9, 14.9), "b": (12.8, 14.8), "c": (1.0, 2.0)}
    choice = choose(tune.points(), rows, tune, lambda r, m: {"interval": shown[r["key"]],
                                                              "floor": 0.6})  # fmt: skip
    assert choice.point == {"lr": 0.003} and choice.at_floor is None
    assert choice.tie == {"points": [{"lr": 0.001}, {"lr": 0.003}], "broken_by": "dev_loss"}
    assert [r["interval"] for r in choice.record] == [shown["a"], shown["b"], shown["c"]]
    apart = {"a": (13.5, 14.3), "b": (12.0, 13.4), "c": (1.0, 2.0)}
    clear = choose(tune.points(), rows, tune, lambda r, m: {"interval": apart[r["key"]]})
    assert clear.point == {"lr": 0.001} and clear.tie is None


def test_a_sweep_at_its_floor_everywhere_is_flagged_and_said():
    tune = TuneSpec((("lr", (0.001, 0.01)),), "dev_acc")
    rows = [{"status": "ok", "key": k, "dev_token_acc": v} for k, v in [("a", 0.31), ("b", 0.28)]]
    floor = {"a": (0.15, 0.17), "b": (0.16, 0.166)}
    choice = choose(tune.points(), rows, tune, lambda r, m: {"interval": floor[r["key"]],
                                                              "floor": 0.167})  # fmt: skip
    assert "never clears its floor (0.167) at any grid point" in choice.at_floor
    learned = {"a": (0.28, 0.34), "b": (0.16, 0.166)}
    assert (
        choose(
            tune.points(), rows, tune, lambda r, m: {"interval": learned[r["key"]], "floor": 0.167}
        ).at_floor
        is None
    )
    edge = TuneSpec((("lr", (1, 2, 3)),), "dev_bleu")
    assert at_edge(edge, {"lr": 3}) == ["lr"] and at_edge(edge, {"lr": 2}) == []


def test_grids_multiply_and_block_tune_overrides_the_matrix():
    data = {**TUNED, "tasks": [
        {"name": "copy", "task": {"length": 6, "min_length": 2},
         "tune": {"lr": [0.001, 0.01], "warmup": [1, 2], "metric": "dev_token_acc"}},
        {"name": "reverse", "task": {"length": 6, "min_length": 2}, "tune": None},
    ]}  # fmt: skip
    plan = parse_matrix(data, "t").plan("cpu")
    assert len(plan.sweep) == 2 * 4
    assert {(c.train.lr, c.train.warmup) for c in plan.sweep} == {
        (lr, w) for lr in (0.001, 0.01) for w in (1, 2)
    }
    assert {c.task for c in plan.seeds} == {"reverse"} and len(plan.seeds) == 4  # shared recipe
    assert all(c.tuned is None and c.sweep is None for c in plan.seeds)


@pytest.mark.parametrize(
    "tune, message",
    [
        ({"lr": [0.1], "metric": "bleu"}, "tune.metric: 'bleu' is not one of: dev_loss, dev_bleu"),
        ({"lrate": [0.1]}, "tune: unknown key 'lrate'; valid keys: metric, seed, at, trials"),
        (
            {"lr": [0.1], "transformer": {"model.norm_frst": [True]}},
            "tune.transformer: unknown model key 'norm_frst'; valid: ",
        ),
        ({"lr": [0.1], "trials": 0}, "tune.trials: expected a positive integer"),
        ({"lr": [0.1], "tie_break": "bleu"}, "tune.tie_break: 'bleu' is not one of"),
        (
            {"lr": [0.1, 0.2], "transformer": {"model.norm_first": [False, True]}},
            r"the models' grids differ in size \(transformer 4, lstm 2\): set tune.trials to at "
            "most 2",
        ),
        (
            {"lr": [0.1, 0.2], "transformer": {"model.norm_first": [False, True]}, "trials": 3},
            r"tune.trials=3 is more than these models' grids hold \(lstm 2\)",
        ),
        ({"lr": [0.1], "at": {"delay": [8, 16]}}, "tune.at: expected a mapping of axis keys"),
        (
            {"lr": [0.1], "at": {"delay": 8}},
            r"tune.at: 'delay' is not an axis of this block; its "
            r"axes: none",
        ),
        ({"lr": []}, "tune.lr: expected a non-empty list of distinct values"),
        ({"lr": [0.1, 0.1]}, "tune.lr: expected a non-empty list of distinct values"),
        ({"metric": "dev_loss"}, "tune: name at least one train key to sweep"),
        ({"lr": [0.1], "seed": "x"}, "tune.seed: expected an integer"),
        ({"lr": [-1.0]}, "train.lr must be > 0"),
        ("lr", "tune: expected a mapping"),
    ],
)
def test_bad_tune_names_its_place(tune, message):
    with pytest.raises(ConfigError, match=message):
        parse_matrix({**TUNED, "tune": tune}, "t").plan("cpu")


AT = {**TUNED, "models": ["lstm"], "tune": {**TUNED["tune"], "at": {"delay": 8}},
      "tasks": [{"name": "copy", "task": {"length": 4, "min_length": 4, "eval_size": 16,
                                          "delay": [2, 8]}}]}  # fmt: skip


def test_tune_at_sweeps_one_setting_and_its_choice_holds_for_every_setting():
    matrix = parse_matrix(AT, "t")
    plan = matrix.plan("cpu")
    assert len(plan.sweep) == 3 and {c.task_cfg.delay for c in plan.sweep} == {8}
    assert all(c.sweep["at"] == {"delay": 8} for c in plan.sweep)
    assert sorted((w.stand_in.task_cfg.delay, w.seed) for w in plan.waiting) == [
        (2, 0), (2, 1), (8, 0), (8, 1)
    ]  # fmt: skip
    assert "copy n=4 delay=2 seed 0 (lr: chosen on dev)" in plan.waiting[0].label()
    dev = {0.001: 2.0, 0.01: 1.0, 0.1: 3.0}
    latest = {c.key: _row(c, dev_loss=dev[c.train.lr]) for c in plan.sweep}
    seeds = matrix.plan("cpu", latest).seeds
    assert sorted((c.task_cfg.delay, c.seed, c.train.lr) for c in seeds) == [
        (2, 0, 0.01), (2, 1, 0.01), (8, 0, 0.01), (8, 1, 0.01)
    ]  # fmt: skip
    assert {c.tuned["at"]["delay"] for c in seeds} == {8}
    # without ``at`` each delay has its own sweep
    no_at = {**AT, "tune": TUNED["tune"]}
    assert len(parse_matrix(no_at, "t").plan("cpu").sweep) == 6


@pytest.mark.parametrize(
    "at, message",
    [
        ({"delay": 5}, r"tune.at.delay: 5 is not one of the axis's values: 2, 8"),
        ({"length": 4}, r"tune.at: 'length' is not an axis of this block; its axes: delay"),
    ],
)
def test_bad_tune_at_names_the_axis_values(at, message):
    with pytest.raises(ConfigError, match=message):
        parse_matrix({**AT, "tune": {**TUNED["tune"], "at": at}}, "t").plan("cpu")


def test_a_key_cannot_be_both_an_axis_and_tuned():
    data = {**TUNED, "train": {**TUNED["train"], "lr": [0.1, 0.2]}}
    with pytest.raises(ConfigError, match="train.lr is both an axis and tuned"):
        parse_matrix(data, "t").plan("cpu")


def test_model_keyed_train_values_and_their_precedence():
    data = {
        **TUNED,
        "tune": None,
        "seeds": [0],
        "train": {"steps": 6, "lr": 0.002, "warmup": 3, "lstm": {"lr": 0.5, "warmup": 9}},
        "tasks": [{"name": "copy", "task": {"length": 6, "min_length": 2},
                   "train": {"warmup": 4, "transformer": {"optimizer": "adam"}}}],
    }  # fmt: skip
    cells = {c.model: c.train for c in parse_matrix(data, "t").cells("cpu")}
    assert (cells["lstm"].lr, cells["lstm"].warmup) == (0.5, 4)  # block beats matrix-wide
    assert (cells["transformer"].lr, cells["transformer"].optimizer) == (0.002, "adam")
    with pytest.raises(ConfigError, match="train.lstm: expected a mapping"):
        parse_matrix({**data, "train": {"lstm": 0.1}}, "t").cells("cpu")
    with pytest.raises(ConfigError, match="model lstm: unknown key train.lrate"):
        parse_matrix({**data, "train": {"lstm": {"lrate": 0.1}}}, "t").cells("cpu")


def test_parse_tune_none_and_seed_filter():
    assert parse_tune(None, "t") is None
    assert without_seed_filter(["seed=0", "model=lstm"]) == ["model=lstm"]


def test_cli_validate_shows_sweep_and_seed_cells(tmp_path):
    path = tmp_path / "m.yaml"
    path.write_text(yaml.safe_dump(TUNED))
    result = runner.invoke(app, ["matrix", "validate", str(path), "--device", "cpu"])
    assert result.exit_code == 0, result.output
    text = " ".join(result.output.split())
    assert "10 cells" in text and "6 sweep cells" in text and "4 seed cells" in text
    assert text.count("│ sweep │") == 6 and text.count("│ seed │") == 4
    assert "chosen on dev" in text.replace("│", "").replace("  ", " ") or "chosen" in text


@pytest.mark.slow
def test_cli_run_sweeps_then_runs_seeds_at_the_chosen_value(tmp_path):
    path = tmp_path / "m.yaml"
    path.write_text(yaml.safe_dump({**TUNED, "models": ["transformer"]}))
    out = tmp_path / "out"
    args = ["matrix", "run", str(path), "--out", str(out), "--only", "seed=0", "--wandb",
            "disabled", "--device", "cpu"]  # fmt: skip
    result = runner.invoke(app, args)
    assert result.exit_code == 0, result.output
    rows = [json.loads(line) for line in (out / "results.jsonl").read_text().splitlines()]
    sweep = [r for r in rows if "sweep" in r]
    (seed,) = [r for r in rows if "tuned" in r]
    assert len(sweep) == 3 and all(r["seed"] == 7 and r["dev_loss"] > 0 for r in sweep)
    best = min(sweep, key=lambda r: r["dev_loss"])
    assert seed["seed"] == 0 and seed["tuned"]["chosen"] == {"lr": best["config"]["train"]["lr"]}
    assert seed["config"]["train"]["lr"] == best["config"]["train"]["lr"]
    assert {r["key"] for r in seed["tuned"]["dev_metric"]} == {r["key"] for r in sweep}
    again = runner.invoke(app, args)  # resumes: nothing left to run
    assert again.exit_code == 0 and "0 to run" in again.output
    status = runner.invoke(app, ["matrix", "status", str(out)])
    assert status.exit_code == 0 and "ok: 4" in status.output


def test_a_vector_value_is_not_an_axis_but_a_list_of_them_is():
    data = {**TUNED, "tune": None, "seeds": [0], "models": ["lstm"]}
    one = {**data, "train": {"steps": 6, "betas": [0.9, 0.99]}}
    assert [c.train.betas for c in parse_matrix(one, "t").cells("cpu")] == [(0.9, 0.99)]
    axis = {**data, "train": {"steps": 6, "betas": [[0.9, 0.98], [0.8, 0.9]]}}
    assert [c.train.betas for c in parse_matrix(axis, "t").cells("cpu")] == [
        (0.9, 0.98),
        (0.8, 0.9),
    ]


SEARCH = {**TUNED, "tune": {"lr": [0.001, 0.01], "warmup": [1, 2], "metric": "dev_loss",
                            "seed": 7, "trials": 4,
                            "transformer": {"model.norm_first": [False, True]}}}  # fmt: skip


def test_model_keys_are_tuned_with_equal_trials_and_land_in_the_seed_cells():
    matrix = parse_matrix(SEARCH, "t")
    plan = matrix.plan("cpu")
    by_model = {m: [c for c in plan.sweep if c.model == m] for m in ("transformer", "lstm")}
    assert [len(v) for v in by_model.values()] == [4, 4]  # equal trials: 4 of 8, and all 4
    assert {(c.train.lr, c.train.warmup) for c in by_model["lstm"]} == {
        (lr, w) for lr in (0.001, 0.01) for w in (1, 2)
    }
    points = [c.sweep["point"] for c in by_model["transformer"]]
    assert all(set(p) == {"lr", "warmup", "model.norm_first"} for p in points)
    again = [c.sweep["point"] for c in parse_matrix(SEARCH, "t").plan("cpu").sweep]
    assert points == [p for p in again if "model.norm_first" in p]  # seeded: the same trials
    assert all(c.model_cfg.norm_first == c.sweep["point"]["model.norm_first"]
               for c in by_model["transformer"])  # fmt: skip
    assert by_model["transformer"][0].sweep["space"]["model.norm_first"] == [False, True]
    assert by_model["transformer"][0].sweep["trials"] == 4
    best = by_model["transformer"][-1]
    latest = {c.key: _row(c, dev_loss=0.5 if c is best else 2.0) for c in plan.sweep}
    seeds = [c for c in matrix.plan("cpu", latest).seeds if c.model == "transformer"]
    assert {c.model_cfg.norm_first for c in seeds} == {best.model_cfg.norm_first}
    assert {c.train.lr for c in seeds} == {best.train.lr}
    assert all(c.tuned["chosen"] == best.sweep["point"] for c in seeds)


def test_tuning_notes_name_ties_and_floors():
    tune = {**TUNED["tune"], "metric": "dev_acc"}
    matrix = parse_matrix({**TUNED, "models": ["lstm"], "tune": tune}, "t")
    plan = matrix.plan("cpu")
    latest = {c.key: _row(c, dev_token_acc=0.2, dev_loss=c.train.lr) for c in plan.sweep}
    seeds = matrix.plan("cpu", latest, lambda r, m: {"interval": (0.1, 0.22), "floor": 0.25})
    notes = tuning_notes(seeds)
    assert len(notes) == 2
    assert notes[0].startswith("tuning lstm copy") and "never clears its floor" in notes[0]
    assert "3 grid points tie on dev_acc" in notes[1] and "broken by dev_loss" in notes[1]
    assert all(c.train.lr == 0.001 for c in seeds.seeds)  # the lowest dev loss of the tie


def test_an_edge_choice_extends_the_grid_once_for_every_model():
    matrix = parse_matrix({**TUNED, "tune": {**TUNED["tune"], "extend": True}}, "t")
    plan = matrix.plan("cpu")
    best = {"transformer": 0.01, "lstm": 0.1}  # the LSTM's best is the grid's upper edge
    latest = {c.key: _row(c, dev_loss=1 + abs(c.train.lr - best[c.model])) for c in plan.sweep}
    extended = matrix.plan("cpu", latest)
    more = [c for c in extended.sweep if c.sweep.get("extension")]
    assert sorted((c.model, c.train.lr) for c in more) == [("lstm", 1.0), ("transformer", 1.0)]
    assert {w.model for w in extended.waiting} == {"transformer", "lstm"}  # until it has rows
    latest |= {c.key: _row(c, dev_loss=0.5 if c.model == "lstm" else 9.0) for c in more}
    done = matrix.plan("cpu", latest)
    assert not done.waiting and len(done.sweep) == 8  # once: 1.0 is an edge now, no 10.0
    lr = {c.model: c.train.lr for c in done.seeds}
    assert lr == {"transformer": 0.01, "lstm": 1.0}
    assert all(c.tuned["extended"] == {"lr": [1.0]} for c in done.seeds)
    assert len(done.seeds[0].tuned["dev_metric"]) == 4  # equal trials: 3 + 1 for each model


def test_beyond_edge_keeps_the_grids_spacing():
    from bench.matrix.tuning import beyond_edge

    assert beyond_edge((0.001, 0.003, 0.01), 0.001) == 0.000333333
    assert beyond_edge((0.001, 0.003, 0.01), 0.003) is None
    assert beyond_edge((50, 200, 800), 800) == 3200
    assert beyond_edge((0, 1, 2), 0) is None  # nothing valid below 0
    assert beyond_edge((False, True), True) is None and beyond_edge((1, 2), 2) is None


def test_dev_accuracy_ties_are_broken_by_the_steps_to_the_dev_target():
    """A judged-on-steps task (match): points tied on dev accuracy go to the one that reached
    the dev target first; one that never did counts as slowest, and with no dev curve the
    tie falls to grid order."""
    tune = TuneSpec((("lr", (1, 2, 3)),), "dev_acc", tie_break="dev_steps_to_target")

    def row(key, acc, reached):  # dev curve every 50 steps up to ``reached`` (None: never)
        steps = [50, 100, 150, 200]
        accs = [1.0 if reached and s >= reached else 0.5 for s in steps]
        return {"status": "ok", "key": key, "dev_token_acc": acc, "target_value": 0.99,
                "dev_curve": {"step": steps, "dev_tf_token_acc": accs}}  # fmt: skip

    shown = lambda r, m: {"interval": (0.97, 1.0)}  # noqa: E731  every point ties
    rows = [row("a", 0.995, None), row("b", 0.99, 150), row("c", 1.0, 100)]
    choice = choose(tune.points(), rows, tune, shown)
    assert choice.point == {"lr": 3}
    assert choice.tie["broken_by"] == "dev_steps_to_target"
    rows = [row("a", 0.995, 200), row("b", 0.99, 100), row("c", 1.0, None)]
    assert choose(tune.points(), rows, tune, shown).point == {"lr": 2}
    bare = [{k: v for k, v in r.items() if k != "dev_curve"} for r in rows]
    assert choose(tune.points(), bare, tune, shown).tie["broken_by"] == "grid order"
