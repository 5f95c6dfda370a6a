"""`attnbench perf` (perf/): sections, options, interleaving; behaviour only, never wall-clock
thresholds. The model paths it measures are tested in test_models.py and test_decoding.py."""

from __future__ import annotations

import dataclasses
import json
import re

import pytest
import torch
from typer.testing import CliRunner

from cli import app
from perf.harness import bare_train, harness_train, perf_spec
from perf.options import tiny_options
from perf.run import run_perf, to_json
from perf.timing import interleave, ratio

runner = CliRunner()


def flat(text: str) -> str:
    return " ".join(re.sub("[│┃╭╮╰╯─━┏┓┗┛┡┩└┘┌┐╇┳┻╋]", " ", text).split())


def test_perf_command_prints_each_section(tmp_path):
    out = tmp_path / "perf.json"
    args = ["perf", "--tiny", "--wandb", "disabled", "--out", str(out)]
    for name in ("transformer", "lstm", "decode"):
        args += ["--section", name]
    result = runner.invoke(app, args)
    assert result.exit_code == 0, result.output
    text = flat(result.output)
    for title in ("torch.nn.Transformer", "LSTM decoder", "Greedy decoding", "goal:", "ratio"):
        assert title in text
    data = json.loads(out.read_text())
    assert set(data["sections"]) == {"transformer", "lstm", "decode"}
    assert data["machine"]["torch"] == torch.__version__
    rows = data["sections"]["transformer"]["rows"]
    assert {r["mode"] for r in rows} == {"train", "infer"}
    assert all(r["ratio"] > 0 and r["ratio_best"] > 0 for r in rows)
    decode = data["sections"]["decode"]["rows"]
    assert all(r["same_tokens"] for r in decode if r.get("recompute_tok_s"))


def test_perf_rejects_unknown_section():
    result = runner.invoke(app, ["perf", "--tiny", "--section", "nope"])
    assert result.exit_code != 0
    assert "unknown perf section 'nope'" in flat(result.output)


def test_harness_and_bare_loop_time_the_same_steps():
    opts = tiny_options(models=("transformer",))
    spec = perf_spec("transformer", 8, opts)
    bare = bare_train(spec)
    assert len(bare.blocks) == opts.blocks
    assert all(b["steps"] == opts.block_steps for b in bare.blocks)
    blocks = harness_train(spec, "disabled")
    assert len(blocks) == opts.blocks and all(x > 0 for x in blocks)


def test_harness_section_rows_have_ratios():
    res = run_perf(tiny_options(models=("convs2s",)), ("harness",), log=lambda _: None)
    (row,) = res["sections"]["harness"].rows
    assert row["model"] == "convs2s" and row["ratio_best"] > 0 and "met" in row
    assert "machine load" in res["sections"]["harness"].notes[-1]
    json.loads(to_json(res))


class _BrokenTask:
    def __init__(self, cfg, seed):
        raise FileNotFoundError("corpus not downloaded")


@dataclasses.dataclass(frozen=True)
class _BrokenConfig:
    pass


def test_data_section_covers_the_registry_and_skips_unavailable_tasks(monkeypatch):
    import tasks

    broken = tasks.Entry(_BrokenTask, _BrokenConfig, "a task whose data is missing")
    registry = {"copy": tasks.TASKS["copy"], "broken": broken}
    monkeypatch.setattr("perf.harness.TASKS", registry)
    logged: list[str] = []
    res = run_perf(tiny_options(models=("transformer",)), ("data",), log=logged.append)
    rows = {r["task"]: r for r in res["sections"]["data"].rows}
    assert set(rows) == {"copy", "broken"}
    assert rows["copy"]["padded_per_batch"] is True and rows["copy"]["data_share"] > 0
    assert "corpus not downloaded" in rows["broken"]["skipped"]
    assert any("skipping task broken" in line for line in logged)


def test_scaling_section_fits_exponents(monkeypatch):
    from perf import scaling as perf_scaling

    def in_process(model, length, batch, steps, device, profile, precision="32-true"):
        return perf_scaling.measure_point(model, length, batch, steps, device, profile, precision)

    monkeypatch.setattr(perf_scaling, "run_point", in_process)
    res = run_perf(tiny_options(models=("transformer",)), ("scaling",), log=lambda _: None)
    sec = res["sections"]["scaling"]
    assert [r["length"] for r in sec.rows] == [8, 16]
    assert sec.rows[0]["time_exp"] is None and sec.rows[1]["time_exp"] is not None
    assert "met" not in sec.rows[0] and isinstance(sec.rows[1]["met"], bool)  # longest length
    assert any("top ops" in n and "attention: flash_attention" in n for n in sec.notes)


def test_scaling_point_command_prints_json(capsys):
    from perf.scaling import main

    main(["convs2s", "8", "2", "2", "cpu"])
    point = json.loads(capsys.readouterr().out)
    assert point["model"] == "convs2s" and point["step_s"] > 0 and point["peak_mem_mb"] >= 0


def test_exponents_of_power_laws():
    from perf.scaling import exponents

    pts = [{"length": n, "t": 3.0 * n**2} for n in (64, 128, 256)]
    assert exponents(pts, "t")[0] is None
    assert exponents(pts, "t")[1:] == pytest.approx([2.0, 2.0])


def test_interleave_alternates_order_and_ratio_pairs_rounds():
    calls: list[str] = []
    out = interleave(
        {"a": lambda: calls.append("a") or 2.0, "b": lambda: calls.append("b") or 1.0}, 3
    )
    assert calls == ["a", "b", "b", "a", "a", "b"]
    r = ratio(out["a"], out["b"])
    assert r["ratio"] == r["ratio_best"] == 2.0
