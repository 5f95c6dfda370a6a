"""The report's Tuning section from hand-made rows: sweep on dev, chosen value, edges, recipes."""

from __future__ import annotations

from reports.build import write_report
from reports.rows import load_results
from reports.sections.tuning import expected_best_table, recipe_table, sweep_rows, sweep_table
from tests.fixtures.report_rows import row, write_run

GRID = [0.0003, 0.001, 0.003, 0.01]


def _sweep_row(model: str, lr: float, dev_bleu: float | None, status: str = "ok") -> dict:
    r = row(model, "translate", seed=100, status=status, bleu=50.0, dev_bleu=dev_bleu)
    r["key"] = f"sweep-{model}-{lr}"
    r["config"]["train"] = {**r["config"]["train"], "lr": lr}
    r["sweep"] = {"grid": {"lr": GRID}, "metric": "dev_bleu", "seed": 100, "point": {"lr": lr}}
    return r


def _rows() -> list[dict]:
    dev = {"transformer": [1.0, 4.0, 3.0, 2.0], "lstm": [0.1, 0.2, 1.0, 2.5]}
    rows = [_sweep_row(m, lr, d) for m, ds in dev.items() for lr, d in zip(GRID, ds, strict=True)]
    rows[-1] = _sweep_row("lstm", 0.01, None, "failed:nan")  # lstm's best now 0.003
    for m, lr in (("transformer", 0.001), ("lstm", 0.003)):
        seed_row = row(m, "translate", seed=0, bleu=5.0, chrf=20.0)
        seed_row["config"]["train"] = {**seed_row["config"]["train"], "lr": lr}
        seed_row["tuned"] = {"grid": {"lr": GRID}, "chosen": {"lr": lr}, "metric": "dev_bleu"}
        rows.append(seed_row)
    rows.append(row("convs2s", "translate", seed=0, bleu=4.0, chrf=18.0))  # no tuning
    return rows


def test_sweep_table_marks_the_best_dev_value_and_grid_edges(tmp_path):
    directory = write_run(tmp_path, _rows())
    table = sweep_table(sweep_rows(directory))
    chosen = table[table["chosen"] != ""]
    assert list(zip(chosen["model"], chosen["value"], strict=True)) == [
        ("transformer", "lr=0.001"),
        ("lstm", "lr=0.003"),
    ]
    assert not chosen["chosen"].str.contains("edge").any()  # the failed 0.01 is not chosen
    lstm = table[table["model"] == "lstm"]
    assert lstm["dev"].isna().tolist() == [False, False, False, True]
    assert "bleu" not in table.columns  # no test number of a sweep cell is shown


def test_edge_choice_is_flagged_and_sweeps_stay_out_of_other_sections(tmp_path):
    rows = [r for r in _rows() if r["model"] == "transformer" or "sweep" not in r]
    rows += [_sweep_row("lstm", lr, d) for lr, d in zip(GRID, [0.1, 0.2, 1.0, 2.5], strict=True)]
    directory = write_run(tmp_path, rows)
    df = load_results(directory)
    assert df["sweep"].isna().all() and len(df) == 3  # seed and shared-recipe rows only
    recipes = recipe_table(df).set_index("model")["recipe"]
    assert recipes["lstm"] == "tuned on dev (lr)" and recipes["convs2s"] == "own recipe"
    written = write_report(directory)
    text = written.markdown.read_text()
    assert (
        "## Tuning" in text and "lstm (translate): best at the edge of its grid (lr=0.01)" in text
    )
    assert "**chosen** (grid edge)" in text


def test_shared_recipe_is_labelled(tmp_path):
    rows = [row(m, "translate", seed=0, bleu=1.0) for m in ("transformer", "lstm", "convs2s")]
    df = load_results(write_run(tmp_path, rows))
    assert set(recipe_table(df)["recipe"]) == {"shared recipe"}
    written = write_report(tmp_path)
    assert "No tuning sweep in these rows" in written.markdown.read_text()


def test_sweeps_per_setting_and_at_one_setting_say_where_they_ran(tmp_path):
    def copy_sweep(model, delay, lr, acc, at=None):
        r = row(model, "copy", seed=100, dev_token_acc=acc)
        r["key"] = f"sweep-{model}-{delay}-{lr}"
        r["config"]["task"] = {"length": 8, "delay": delay}
        r["sweep"] = {"grid": {"lr": [0.001, 0.01]}, "metric": "dev_acc", "seed": 100,
                      "point": {"lr": lr}, **({"at": at} if at else {})}  # fmt: skip
        return r

    per_delay = [
        copy_sweep("lstm", d, lr, a) for d in (256, 64) for lr, a in ((0.001, 0.2), (0.01, 0.9))
    ]
    table = sweep_table(sweep_rows(write_run(tmp_path / "a", per_delay)))
    assert table["setting"].tolist() == ["delay=64"] * 2 + ["delay=256"] * 2  # as numbers
    assert (table["chosen"] != "").sum() == 2  # one choice per delay
    at_one = [
        copy_sweep("lstm", 256, lr, a, {"delay": 256}) for lr, a in ((0.001, 0.2), (0.01, 0.9))
    ]
    table = sweep_table(sweep_rows(write_run(tmp_path / "b", at_one)))
    assert set(table["setting"]) == {"delay=256 (used at every delay)"}
    assert "setting" not in sweep_table(sweep_rows(write_run(tmp_path / "c", _rows()))).columns


def test_the_runners_tie_choice_is_marked_and_expected_best_curves_are_shown(tmp_path):
    rows = _rows()
    tied = next(r for r in rows if r.get("tuned") and r["model"] == "transformer")
    tied["config"]["train"]["lr"] = 0.003  # a tie of 0.001 and 0.003, broken by dev loss
    tied["tuned"] = {
        "grid": {"lr": GRID}, "chosen": {"lr": 0.003}, "metric": "dev_bleu",
        "dev_metric": [{"lr": lr, "key": f"sweep-transformer-{lr}"} for lr in GRID],
        "tie": {"points": [{"lr": 0.001}, {"lr": 0.003}], "broken_by": "dev_loss"},
    }  # fmt: skip
    directory = write_run(tmp_path, rows)
    text = write_report(directory).markdown.read_text()
    line = next(x for x in text.splitlines() if "| transformer" in x and "lr=0.003" in x)
    assert "**chosen** (tie broken by dev_loss)" in line
    assert "transformer (translate): a tie on dev_bleu between lr=0.001; lr=0.003" in text
    curves = expected_best_table(sweep_rows(directory)).set_index("model")
    assert curves.loc["transformer", "n=1"].startswith("2.5 ±")  # mean of 1, 4, 3, 2
    assert curves.loc["transformer", "n=4"].startswith("3.")  # rising towards the best, 4
