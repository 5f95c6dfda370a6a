"""`attnbench perf` and the speed paths it checks: behaviour only, never wall-clock thresholds."""

from __future__ import annotations

import dataclasses
import json
import re

import pytest
import torch
from torch.nn.utils.rnn import pack_padded_sequence, pad_packed_sequence
from typer.testing import CliRunner

from cli import app
from models import build_model, greedy_decode, prefix_greedy_decode
from models.lstm import LSTMConfig, run_by_length
from models.transformer import POS_TABLE, TransformerConfig, sinusoids
from perf.harness import bare_train, harness_train, perf_spec
from perf.options import tiny_options
from perf.run import run_perf, to_json
from perf.timing import interleave, ratio
from tests.conftest import VOCAB, random_pair

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


def test_cached_greedy_equals_recomputing_the_prefix(tiny_model):
    _, model = tiny_model
    src, _ = random_pair()
    cached = greedy_decode(model, src, max_len=7, bos=1, eos=-1)
    recomputed = prefix_greedy_decode(model, src, max_len=7, bos=1, eos=-1)
    assert cached.shape == (3, 7) and torch.equal(cached, recomputed)


def test_greedy_decoding_calls_decode_step_once_per_token(tiny_model):
    """Cached decoding: each step sees only the new token, never the prefix."""
    _, model = tiny_model
    seen = []
    step = model.decode_step

    def spy(enc, state, tokens, t):
        seen.append(tokens.shape)
        return step(enc, state, tokens, t)

    model.decode_step = spy
    greedy_decode(model, random_pair()[0], max_len=5, bos=1, eos=-1)
    assert seen == [torch.Size([3])] * 5


@pytest.mark.parametrize("feed", [False, True])
def test_lstm_teacher_forcing_loop(feed):
    """No input feeding: one nn.LSTM call over the target; feeding: the stepped cell, which
    computes what nn.LSTM computes step by step (as the model did before the rewrite)."""
    torch.manual_seed(0)
    cfg = LSTMConfig(d_model=32, n_layers=2, dropout=0.0, input_feeding=feed)
    model = build_model("lstm", cfg, VOCAB).eval()
    calls = []
    model.decoder.register_forward_hook(lambda *_: calls.append(1))
    src, tgt = random_pair()
    logits = model(src, tgt)
    assert len(calls) == (0 if feed else 1)
    enc = model.encode(src)
    state = model.init_state(enc)
    hc = (state["h"].transpose(0, 1).contiguous(), state["c"].transpose(0, 1).contiguous())
    feed_vec, outs = state["feed"], []
    emb = model.tgt_embed(tgt)
    for t in range(tgt.size(1)):  # reference: nn.LSTM one step at a time
        x = emb[:, t : t + 1]
        x = torch.cat([x, feed_vec.unsqueeze(1)], -1) if feed else x
        out, hc = model.decoder(x, hc)
        feed_vec = model._attend(out, enc)[:, 0]
        outs.append(feed_vec)
    torch.testing.assert_close(model.out(torch.stack(outs, 1)), logits, atol=1e-5, rtol=0)


@pytest.mark.parametrize("bidirectional", [True, False])
def test_lstm_by_length_equals_packed(bidirectional):
    torch.manual_seed(0)
    lstm = torch.nn.LSTM(8, 6, 2, batch_first=True, bidirectional=bidirectional)
    x = torch.randn(5, 12, 8, requires_grad=True)
    lengths = torch.tensor([12, 3, 7, 12, 5])
    packed = pack_padded_sequence(x, lengths, batch_first=True, enforce_sorted=False)
    ref, (h_ref, c_ref) = lstm(packed)
    ref, _ = pad_packed_sequence(ref, batch_first=True, total_length=12)
    out, h, c = run_by_length(lstm, x, lengths, lengths.unique())
    for got, want in ((out, ref), (h, h_ref), (c, c_ref)):
        torch.testing.assert_close(got, want, atol=1e-6, rtol=0)
    (g_ref,) = torch.autograd.grad(ref.sum() + h_ref.sum() + c_ref.sum(), x)
    (g,) = torch.autograd.grad(out.sum() + h.sum() + c.sum(), x)
    torch.testing.assert_close(g, g_ref, atol=1e-6, rtol=0)


def test_transformer_positions_beyond_the_initial_table():
    model = build_model("transformer", TransformerConfig(d_model=8, n_heads=2), VOCAB)
    got = model._positions(POS_TABLE - 3, 10)
    torch.testing.assert_close(got, sinusoids(POS_TABLE - 3, 10, 8), atol=1e-5, rtol=0)
    assert model.pos_table.size(0) >= POS_TABLE + 7
    assert "pos_table" not in model.state_dict()
