"""Attention alignment: gold positions, measures read from attention.npz, the verdict on
hand-made attention, the override hook and the intervention runner."""

from __future__ import annotations

import dataclasses
import json
from pathlib import Path

import numpy as np
import pytest
import torch
from torch import Tensor, nn

from bench.attention.alignment import gold_positions, load_npz, save_npz, summarise
from bench.attention.intervention import intervention_study, shifted, uniform
from models import build_model
from models.attention import dot_attention, source_keep
from models.seq2seq import Seq2Seq
from reports.claims import CLAIMS
from reports.claims.attention import check_attention_alignment, intervention_drop
from reports.rows import load_results
from tests.conftest import TINY, VOCAB, random_pair

CHECK = {c.id: c.check for c in CLAIMS}["Attention-alignment"]
N, L, SYMBOLS = 64, 8, 10


def test_gold_positions_copy_reverse_recall():
    src_len, out_len = np.array([5, 3]), np.array([5, 3])
    src = np.zeros((2, 6), int)
    assert gold_positions("copy", src, src_len, out_len, 6).tolist() == [
        [0, 1, 2, 3, 4, -1],
        [0, 1, 2, -1, -1, -1],
    ]
    assert gold_positions("reverse", src, src_len, out_len, 4).tolist() == [
        [4, 3, 2, 1],
        [2, 1, 0, -1],
    ]
    # recall: k1 v1 k2 v2 k3 v3 ? k2 -> the value of pair 2 (position 3)
    rec = np.array([[10, 20, 11, 21, 12, 22, 3, 11]])
    assert gold_positions("recall", rec, np.array([8]), np.array([1]), 2).tolist() == [[3, -1]]
    with pytest.raises(ValueError, match="dependency"):
        gold_positions("dependency", src, src_len, out_len, 4)


def _diagonal(n: int, heads: int, sharp: bool, g: np.random.Generator) -> np.ndarray:
    """(n, heads, L+1, L) weights: head 0 on the gold (diagonal) position when ``sharp``,
    else uniform; the other heads random."""
    w = g.dirichlet(np.ones(L), size=(n, heads, L + 1))
    w[:, 0] = np.eye(L + 1, L) if sharp else 1.0 / L
    w[:, 0, L] = 1.0 / L  # the EOS step has no gold position
    return w


def _noisy_heads(n: int, agree: bool) -> np.ndarray:
    """(n, 4, L+1, L) weights: each head hits the gold position on 5 of the 8 steps and puts
    0.55 on a wrong one on the other 3. Redundant heads (not ``agree``) are noisy on different
    steps and positions, so their average always hits; agreeing heads err together."""
    w = np.full((n, 4, L + 1, L), 1.0 / L)
    for h in range(4):
        for t in range(L):
            w[:, h, t] = 0.0
            if (t + (0 if agree else h)) % L < 3:
                w[:, h, t, t] = 0.45
                w[:, h, t, (t + 1 + (0 if agree else h)) % L] = 0.55
            else:
                w[:, h, t, t] = 1.0
    return w


def _write_cell(
    directory: Path,
    key: str,
    seed: int,
    acc: float,
    sharp: bool,
    drop: float,
    delay: int = 0,
    noisy: str | None = None,
    layer_drop: float | None = None,
):
    """One copy cell: a results row, eval.jsonl, attention.npz and intervention.json. Layer 0:
    head 0 sharp (or uniform), or four ``noisy`` heads ("redundant", "agreeing"); moving the
    best head loses ``drop``, all heads of layer 0 ``layer_drop`` (None: not recorded)."""
    g = np.random.default_rng(seed)
    cell = directory / "cells" / key
    cell.mkdir(parents=True)
    tokens = g.binomial(L + 1, acc, N)
    (cell / "eval.jsonl").write_text(
        "".join(json.dumps({"correct": int(t), "total": L + 1}) + "\n" for t in tokens)
    )
    src = g.integers(3, 3 + SYMBOLS, (N, L))
    layer0 = _noisy_heads(N, noisy == "agreeing") if noisy else _diagonal(N, 2, sharp, g)
    save_npz(
        cell / "attention.npz",
        {"dec_cross_l0": layer0, "dec_cross_l1": _diagonal(N, 2, False, g)},
        model="transformer", task="copy", src=src, tgt=np.c_[src, np.full(N, 2)],
        src_len=np.full(N, L), out_len=np.full(N, L), correct=tokens == L + 1,
    )  # fmt: skip

    def cond(p: float) -> dict:
        kept = g.binomial(L, 1 - p, N).tolist()
        return {"correct": kept, "total": [L] * N, "prob": [0.9 * k for k in kept]}

    conditions = {"none": cond(0), "best_shift": cond(drop), "best_uniform": cond(drop)}
    conditions |= {"random_shift": cond(0), "random_uniform": cond(0)}
    names = {"best": "dec_cross_l0_h0", "random": "dec_cross_l1_h0"}
    if layer_drop is not None:
        conditions |= {"best_layer_shift": cond(layer_drop), "best_layer_uniform": cond(layer_drop)}
        conditions |= {"random_layer_shift": cond(0), "random_layer_uniform": cond(0)}
        names |= {"best_layer": "dec_cross_l0", "random_layer": "dec_cross_l1"}
    (cell / "intervention.json").write_text(json.dumps({**names, "conditions": conditions}))
    cfg = {"model": {}, "task": {"length": L, "min_length": L, "n_symbols": SYMBOLS}}
    cfg["task"] |= {"delay": delay} if delay else {}
    return {
        "key": key, "attempt": 1, "status": "ok", "model": "transformer", "task": "copy",
        "seed": seed, "device": "cpu", "mode": "speed", "config": cfg, "seq_len": L,
        "token_acc": float(tokens.mean() / (L + 1)), "eval_examples": N,
        "floors": {"chance": 1 / SYMBOLS}, "floor_metric": "token_acc",
    }  # fmt: skip


def _run(tmp_path: Path, acc: float, sharp: bool, drop: float = 0.8, delay: int = 0, **kw) -> Path:
    rows = [_write_cell(tmp_path, f"c{s}", s, acc, sharp, drop, delay, **kw) for s in range(2)]
    (tmp_path / "results.jsonl").write_text("".join(json.dumps(r) + "\n" for r in rows))
    return tmp_path


def test_copy_memory_cells_are_listed_not_judged(tmp_path):
    """A partly learned copy-with-delay cell (long-range evidence) with diffuse attention
    does not FAIL the alignment claim; an aligned plain copy cell beside it decides."""
    delayed = _run(tmp_path / "only", acc=0.5, sharp=False, delay=64)
    v = CHECK(load_results(delayed))
    assert v.verdict == "INCONCLUSIVE" and "without a delay" in v.reason, v
    assert "delay 64" in v.numbers
    rows = [_write_cell(tmp_path, f"c{s}", s, 0.97, True, 0.8) for s in range(2)]
    rows += [_write_cell(tmp_path, f"d{s}", s, 0.5, False, 0.0, delay=64) for s in range(2)]
    (tmp_path / "results.jsonl").write_text("".join(json.dumps(r) + "\n" for r in rows))
    v = CHECK(load_results(tmp_path))
    assert v.verdict == "PASS", v


def test_perfect_diagonal_hits_every_step_and_passes(tmp_path):
    df = load_results(_run(tmp_path, acc=0.97, sharp=True))
    s = df["attention"].iloc[0]
    h0 = s["units"].index("dec_cross_l0_h0")
    assert (s["hits"][:, h0] == L).all() and (s["steps"] == L).all()  # hit rate 1
    assert s["mass_x"][:, h0].sum() / s["steps"].sum() == pytest.approx(L, rel=1e-3)
    v = CHECK(df)
    assert v.verdict == "PASS", v
    assert v.interval[0] == pytest.approx(1.0) and v.threshold == 0.8
    assert "dec_cross_l0_h0" in v.numbers


def test_uniform_attention_on_a_learned_task_fails(tmp_path):
    v = CHECK(load_results(_run(tmp_path, acc=0.97, sharp=False)))
    assert v.verdict == "FAIL" and v.interval[1] < 0.5, v


def test_unlearned_cell_is_inconclusive(tmp_path):
    v = CHECK(load_results(_run(tmp_path, acc=0.1, sharp=True)))
    assert v.verdict == "INCONCLUSIVE" and "not learned" in v.reason, v


def test_decorative_focus_is_inconclusive(tmp_path):
    """Sharp attention whose moving changes nothing is not the claimed focus."""
    v = CHECK(load_results(_run(tmp_path, acc=0.97, sharp=True, drop=0.0)))
    assert v.verdict == "INCONCLUSIVE" and "does not hurt" in v.reason, v


def test_redundant_noisy_heads_pass_on_the_layer_reading(tmp_path):
    """Every head misses 3 of 8 steps (hit rate 0.625), their average never does: the layer
    reading decides, and moving all heads of that layer (not one head) is what costs."""
    df = load_results(_run(tmp_path, acc=0.97, sharp=False, drop=0.0, noisy="redundant",
                           layer_drop=0.8))  # fmt: skip
    s = df["attention"].iloc[0]
    hit = {u: s["hits"][:, i].sum() / s["steps"].sum() for i, u in enumerate(s["units"])}
    assert hit["dec_cross_l0_h0"] == pytest.approx(5 / 8) and hit["dec_cross_l0_mean"] == 1.0
    v = CHECK(df)
    assert v.verdict == "PASS", v
    assert "decided by copy L=8: best layer's head average (dec_cross_l0_mean)" in v.reason
    assert "all heads of the best layer (dec_cross_l0)" in v.reason
    assert "Bonferroni over 1 cells × their readings = 2" in v.numbers
    assert "best layer dec_cross_l0_mean hit 1.00" in v.numbers


def test_agreeing_noisy_heads_clear_neither_reading(tmp_path):
    v = CHECK(load_results(_run(tmp_path, acc=0.97, sharp=False, noisy="agreeing",
                                layer_drop=0.8)))  # fmt: skip
    assert v.verdict == "INCONCLUSIVE" and "no reading lies above 0.8" in v.reason, v
    assert "best head (dec_cross_l0_h0) hit rate 0.62" in v.reason
    assert "best layer's head average (dec_cross_l0_mean) hit rate 0.62" in v.reason


def test_the_layer_contrast_judges_the_intervention_where_recorded(tmp_path):
    """A sharp head whose moving costs accuracy, but moving its whole layer costs no more
    than moving another layer: not the claimed focus. Without layer conditions (older
    files) the head contrast judges, and the reason says so."""
    v = CHECK(load_results(_run(tmp_path / "a", acc=0.97, sharp=True, layer_drop=0.0)))
    assert v.verdict == "INCONCLUSIVE" and "does not hurt" in v.reason, v
    assert "all heads of the best layer (dec_cross_l0) vs all heads" in v.reason
    v = CHECK(load_results(_run(tmp_path / "b", acc=0.97, sharp=True)))
    assert v.verdict == "PASS" and "(no layer conditions recorded)" in v.reason, v


def test_no_recordings_name_the_file():
    import pandas as pd

    v = check_attention_alignment(pd.DataFrame({"task": [], "attention": []}))
    assert v.verdict == "INCONCLUSIVE" and "attention.npz" in v.reason


def test_npz_round_trip_is_float16(tmp_path):
    w = np.random.default_rng(0).dirichlet(np.ones(4), size=(3, 1, 5))
    save_npz(tmp_path / "a.npz", {"alignment": w}, task="reverse", model="lstm",
             src=np.ones((3, 4)), src_len=np.full(3, 4), out_len=np.full(3, 4))  # fmt: skip
    data = load_npz(tmp_path / "a.npz")
    with np.load(tmp_path / "a.npz") as z:
        assert z["map__alignment"].dtype == np.float16
    assert data["task"] == "reverse" and np.allclose(data["maps"]["alignment"], w, atol=1e-3)
    assert summarise(data)["units"] == ["alignment"]


# --- the override hook and the intervention runner ----------------------------------------


def test_override_functions_keep_distributions_on_real_positions():
    w = torch.tensor([[[0.7, 0.2, 0.1, 0.0]]])  # (1,1,4), last position is a pad
    keep = torch.tensor([[[True, True, True, False]]])
    torch.testing.assert_close(uniform(w, keep), torch.tensor([[[1 / 3, 1 / 3, 1 / 3, 0.0]]]))
    torch.testing.assert_close(shifted(w, keep), torch.tensor([[[0.1, 0.7, 0.2, 0.0]]]))


def test_identity_override_matches_the_fused_kernel(tiny_model):
    """The explicit-weights path computes the same outputs as SDPA; unset hooks stay None."""
    _, model = tiny_model
    src, tgt = random_pair()
    base = model(src, tgt)
    hooks = [m for m in model.modules() if hasattr(m, "override")]
    assert hooks and all(m.override is None for m in hooks)
    for m in hooks:
        m.override = lambda w, keep: w
    try:
        torch.testing.assert_close(model(src, tgt), base, atol=1e-5, rtol=0)
    finally:
        for m in hooks:
            m.override = None


class _Attend(nn.Module):
    """A hook-carrying attention module (as ConvS2S's per-layer attention)."""

    def __init__(self) -> None:
        super().__init__()
        self.recorded = None
        self.override = None

    def forward(self, query: Tensor, enc: dict) -> Tensor:
        return dot_attention(
            query, enc["keys"], enc["values"], enc["keep"], self.recorded, self.override
        )


class CopyByAttention(Seq2Seq):
    """Scripted: step t attends (sharply) to source position t through ``attns.0`` and emits
    the token found there; ``attns.1`` is computed and never used."""

    P = 16

    def __init__(self) -> None:
        super().__init__(pad_id=0)
        self.attns = nn.ModuleList([_Attend(), _Attend()])

    def encode(self, src: Tensor) -> dict:
        pos = torch.eye(self.P)[: src.size(1)].expand(src.size(0), -1, -1)  # (B,S,P)
        values = nn.functional.one_hot(src, VOCAB).float()  # (B,S,V)
        return {"keys": pos, "values": values, "keep": source_keep(src.eq(0))}

    def _logits(self, enc: dict, steps: Tensor) -> Tensor:  # steps (T,) -> (B,T,V)
        q = 50.0 * torch.eye(self.P)[steps].expand(enc["keys"].size(0), -1, -1)
        used = self.attns[0](q, enc)
        self.attns[1](q, enc)  # attends, but its output is discarded
        return torch.log(used + 1e-6)

    def decode_all(self, enc: dict, tgt_in: Tensor) -> Tensor:
        return self._logits(enc, torch.arange(tgt_in.size(1)))

    def init_state(self, enc: dict) -> dict:
        return {}

    def decode_step(self, enc, state, tokens, step):  # noqa: ANN001, ANN201
        return self._logits(enc, torch.tensor([step]))[:, 0], state


def test_moving_the_attended_position_drops_accuracy_and_an_unused_head_does_not():
    g = torch.Generator().manual_seed(0)
    src = torch.randint(3, VOCAB, (N, L), generator=g)
    tgt_in = torch.cat([torch.ones(N, 1, dtype=torch.long), src], 1)
    tgt_out = torch.cat([src, torch.full((N, 1), 2)], 1)
    model = CopyByAttention()
    batch = (src, tgt_in, tgt_out)
    result = intervention_study(model, batch, "dec_attn_l0", L + 1, seed=0, layer="dec_attn_l0")
    assert result["best"] == "dec_attn_l0" and result["random"] == "dec_attn_l1"
    assert result["best_layer"] == "dec_attn_l0" and result["random_layer"] == "dec_attn_l1"
    c = result["conditions"]
    assert c["none"]["correct"] == c["none"]["total"] == [L] * N  # copies perfectly
    d = {**result, "conditions": {k: {f: np.array(a) for f, a in v.items()} for k, v in c.items()}}
    shift = intervention_drop([d], "best_shift")
    flat = intervention_drop([d], "best_uniform")
    unused = intervention_drop([d], "random_shift")
    assert shift.interval[0] > 0.8  # reads its neighbour: almost every token wrong
    assert flat.interval[0] > 0.5
    assert unused.estimate == 0.0 and unused.interval == (0.0, 0.0)
    p_drop = intervention_drop([d], "best_shift", what="prob")
    assert p_drop.interval[0] > 0.8
    assert intervention_drop([d], "best_shift", against="random_shift").interval[0] > 0.8
    layer = intervention_drop([d], "best_layer_shift", against="random_layer_shift")
    assert layer.interval[0] > 0.8  # single-head layers: the layer is the head


def test_layer_units_take_every_head_and_one_layer_has_no_random_other():
    from bench.attention.intervention import cross_units

    cfg = dataclasses.replace(TINY["transformer"], n_dec_layers=1)
    torch.manual_seed(0)
    model = build_model("transformer", cfg, VOCAB).eval()
    assert [u.name for u in cross_units(model)] == ["dec_cross_l0_h0", "dec_cross_l0_h1"]
    assert [(u.name, u.head) for u in cross_units(model, per_head=False)] == [
        ("dec_cross_l0", None)
    ]
    src, tgt = random_pair()
    tgt_out = torch.cat([tgt[:, 1:], torch.full((len(tgt), 1), 2)], 1)
    result = intervention_study(
        model, (src, tgt, tgt_out), "dec_cross_l0_h1", 8, layer="dec_cross_l0"
    )
    assert result["best_layer"] == "dec_cross_l0" and result["random_layer"] is None
    c = result["conditions"]
    assert c["random_layer_shift"] is None and c["random_layer_uniform"] is None
    assert set(c["best_layer_shift"]) == {"correct", "total", "prob"}


def test_a_trained_cell_records_the_layer_intervention(tmp_path):
    """A tiny Transformer copy cell (2 decoder layers) writes intervention.json with the best
    head, the best layer, a random other of each, and every condition per example."""
    from bench.attention.alignment import CONDITIONS
    from bench.attention.intervention import best_aligned_layer
    from bench.cell.execute import run_cell
    from bench.cell.spec import make_spec
    from tests.test_training import QUICK, TINY_SETS

    spec = make_spec("transformer", "copy", TINY_SETS["transformer"] + QUICK, device="cpu")
    row = run_cell(spec, tmp_path, "disabled", progress=False)
    assert row["status"] == "ok", row.get("error")
    cell = tmp_path / "cells" / spec.key
    data = json.loads((cell / "intervention.json").read_text())
    layers = {"dec_cross_l0", "dec_cross_l1"}
    assert {data["best_layer"], data["random_layer"]} == layers
    assert data["best_layer"] == best_aligned_layer(load_npz(cell / "attention.npz"))
    assert data["best"].startswith("dec_cross_l") and "_h" in data["random"]
    assert set(data["conditions"]) == {"none", *CONDITIONS}
    n = data["n_examples"]
    assert all(len(v["correct"]) == n for v in data["conditions"].values())


def test_attention_section_shows_table_chart_intervention_and_examples(tmp_path):
    from reports.document import Figure, Table
    from reports.sections.attention_section import attention_section

    directory = _run(tmp_path, acc=0.97, sharp=True, layer_drop=0.8)
    sec = attention_section(directory, load_results(directory))
    tables = [b for b in sec.blocks if isinstance(b, Table)]
    figures = [b.name for b in sec.blocks if isinstance(b, Figure)]
    align = tables[0].frame
    best = align[align["unit"] == "dec_cross_l0_h0 (best)"]
    assert len(best) == 1 and best["hit rate"].iloc[0].startswith("1.000 [1.000, 1.000]")
    assert set(align["unit"]) >= {"dec_cross_l0_mean (best layer)", "dec_cross_l1_mean"}
    mean = align[align["unit"] == "dec_cross_l0_mean (best layer)"].iloc[0]
    assert mean["heads' hit rates"].startswith("1.00, ")  # beside the head average
    inter = tables[1].frame.iloc[0]
    assert inter["best layer"] == "dec_cross_l0" and inter["random layer"] == "dec_cross_l1"
    drops = tables[2].frame  # one line per cell and condition (fits a terminal)
    assert {
        "acc drop best_shift",
        "acc drop best_layer_shift",
        "acc drop random_layer_shift",
    } <= set(drops["condition"])
    assert inter["contrast (acc drop difference)"].startswith("all heads of the best layer")
    assert figures[0] == "attention_hit_rate"
    captions = [b.caption for b in sec.blocks if isinstance(b, Figure)][1:]
    assert any("(correct)" in c for c in captions) and any("(wrong)" in c for c in captions)


def test_recall_measures_mass_on_the_queried_pair():
    # k1 v1 k2 v2 k3 v3 ? k2: the value of pair 2 is at position 3, its key at 2
    src = np.array([[10, 20, 11, 21, 12, 22, 3, 11]])
    w = np.zeros((1, 1, 2, 8))
    w[0, 0, 0, [2, 3, 4]] = [0.3, 0.6, 0.1]  # step 0: mostly the queried pair
    w[0, 0, 1] = 1 / 8  # EOS step: not measured
    s = summarise(
        {
            "task": "recall",
            "maps": {"alignment": w},
            "src": src,
            "src_len": np.array([8]),
            "out_len": np.array([1]),
            "correct": np.array([True]),
        }  # fmt: skip
    )
    assert s["hits"][0, 0] == 1 and s["steps"][0] == 1
    assert s["mass"][0, 0] == pytest.approx(0.6)
    assert s["pair"][0, 0] == pytest.approx(0.9)  # key + value
    assert s["others"][0, 0] == pytest.approx(0.05)  # (0.1 + 0) / 2 other pairs


def test_the_verdicts_scale_is_read_from_the_cells_it_judged(tmp_path):
    """The length sweep's short copy cells record attention too but are never learned: the
    scale names the learned cells the verdict judged, not them."""
    from reports.claims.measured_scale import attention_rows

    rows = []
    for name, acc, steps in (("c", 0.97, 300), ("u", 0.05, 13)):
        for s in range(2):
            row = _write_cell(tmp_path, f"{name}{s}", s, acc, True, 0.8)
            row["config"]["train"] = {"steps": steps, "batch_size": 8}
            rows.append(row)
    (tmp_path / "results.jsonl").write_text("".join(json.dumps(r) + "\n" for r in rows))
    df = load_results(tmp_path)
    assert set(attention_rows(df)["key"]) == {"c0", "c1"}
    v = CHECK(df)
    assert v.verdict == "PASS", v


def test_trained_cells_of_one_length_are_not_a_speed_sweep(tmp_path):
    """Timed copy cells at a single length (quick's 300-step copy) are trained cells: the
    Attention section shows them instead of leaving them out as a speed sweep."""
    from reports.document import Table
    from reports.sections.attention_section import attention_section

    directory = _run(tmp_path, acc=0.97, sharp=True)
    rows = [json.loads(line) for line in (directory / "results.jsonl").read_text().splitlines()]
    for r in rows:
        r["train_tgt_tokens_per_s"] = 5000.0  # timed, as every cell is
    (directory / "results.jsonl").write_text("".join(json.dumps(r) + "\n" for r in rows))
    sec = attention_section(directory, load_results(directory))
    tables = [b for b in sec.blocks if isinstance(b, Table)]
    assert tables and "dec_cross_l0_h0 (best)" in set(tables[0].frame["unit"])
