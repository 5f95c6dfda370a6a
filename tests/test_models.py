"""Interface contracts every model must keep: shapes, causality, padding, incremental decoding."""

from __future__ import annotations

import pytest
import torch
import torch.nn.functional as F
from torch.nn.utils.rnn import pack_padded_sequence, pad_packed_sequence

from models import MODELS, beam_search, build_model, greedy_decode, model_entry
from models.lstm import LSTMConfig, run_by_length
from models.sizing import count_params, size_to_params
from models.transformer import POS_TABLE, TransformerConfig, sinusoids
from tests.conftest import TINY, VOCAB, random_pair

ATOL = 1e-5


def test_forward_shape(tiny_model):
    _, model = tiny_model
    src, tgt = random_pair()
    assert model(src, tgt).shape == (3, 7, VOCAB)


def test_decoder_is_causal(tiny_model):
    """Changing tgt_in[t+1:] must leave logits[:, :t+1] unchanged."""
    _, model = tiny_model
    src, tgt = random_pair()
    base = model(src, tgt)
    for t in range(tgt.size(1) - 1):
        changed = tgt.clone()
        changed[:, t + 1 :] = torch.randint(3, VOCAB, changed[:, t + 1 :].shape)
        out = model(src, changed)
        torch.testing.assert_close(out[:, : t + 1], base[:, : t + 1], atol=ATOL, rtol=0)


def test_future_tokens_do_change_output(tiny_model):
    """Guard for the causality test: the decoder does read its inputs."""
    _, model = tiny_model
    src, tgt = random_pair()
    changed = tgt.clone()
    changed[:, 0] = (changed[:, 0] + 1 - 3) % (VOCAB - 3) + 3
    assert not torch.allclose(model(src, changed)[:, 0], model(src, tgt)[:, 0])


def test_source_padding_invariance(tiny_model):
    """Appending pad tokens to the source leaves each example's output unchanged."""
    _, model = tiny_model
    src, tgt = random_pair()
    padded = F.pad(src, (0, 5), value=model.pad_id)
    torch.testing.assert_close(model(padded, tgt), model(src, tgt), atol=ATOL, rtol=0)


def test_source_content_matters(tiny_model):
    """Guard for the padding test: a real source token does change the output."""
    _, model = tiny_model
    src, tgt = random_pair()
    changed = src.clone()
    changed[:, 0] = (changed[:, 0] + 1 - 3) % (VOCAB - 3) + 3
    assert not torch.allclose(model(changed, tgt), model(src, tgt))


def test_example_independent_of_batch_mates(tiny_model):
    _, model = tiny_model
    src, tgt = random_pair()
    torch.testing.assert_close(model(src[1:2], tgt[1:2]), model(src, tgt)[1:2], atol=ATOL, rtol=0)


def test_incremental_matches_teacher_forcing(tiny_model):
    _, model = tiny_model
    src, tgt = random_pair()
    torch.testing.assert_close(
        model.incremental_logits(src, tgt), model(src, tgt), atol=ATOL, rtol=0
    )


def test_greedy_decode_is_argmax_of_teacher_forcing(tiny_model):
    """Feeding greedy's own output back teacher-forced reproduces the same argmax tokens.

    PAD (0) and BOS (1) are never emitted, so the argmax is over the other tokens.
    """
    _, model = tiny_model
    src, _ = random_pair()
    hyp = greedy_decode(model, src, max_len=6, bos=1, eos=2)
    tgt_in = torch.cat([torch.full((3, 1), 1), hyp[:, :-1]], dim=1)
    argmax = model(src, tgt_in)[..., 2:].argmax(-1) + 2
    alive = torch.ones_like(hyp, dtype=torch.bool)
    alive[:, 1:] = (hyp[:, :-1] != 2).cumprod(1).bool()
    assert torch.equal(argmax[alive], hyp[alive])


def test_beam_width_one_equals_greedy(tiny_model):
    """Without a length penalty (which may keep a width-1 beam going past EOS)."""
    _, model = tiny_model
    src, _ = random_pair()
    greedy = greedy_decode(model, src, max_len=6, bos=1, eos=2)
    beam = beam_search(model, src, beam=1, max_len=6, bos=1, eos=2, length_penalty=0.0)
    n = min(greedy.size(1), beam.size(1))
    assert torch.equal(greedy[:, :n], beam[:, :n])


def test_beam_search_scores_at_least_greedy(tiny_model):
    """A wider beam finds a hypothesis at least as likely as greedy's (no length penalty)."""
    _, model = tiny_model
    src, _ = random_pair()

    def logprob(hyp):
        tgt_in = torch.cat([torch.full((hyp.size(0), 1), 1), hyp[:, :-1]], dim=1)
        lp = model(src, tgt_in).log_softmax(-1).gather(-1, hyp.unsqueeze(-1)).squeeze(-1)
        real = torch.ones_like(hyp, dtype=torch.bool)
        real[:, 1:] = (hyp[:, :-1] != 2).cumprod(1).bool()
        return (lp * real).sum(1)

    greedy = greedy_decode(model, src, max_len=5, bos=1, eos=2)
    beam = beam_search(model, src, beam=4, max_len=5, bos=1, eos=2, length_penalty=0.0)
    assert (logprob(beam) >= logprob(greedy) - 1e-4).all()


def test_unknown_model_lists_choices():
    choices = "choose one of: convs2s, convs2s_last, lstm, lstm_uni, transformer"
    with pytest.raises(ValueError, match=choices):
        model_entry("gru")


@pytest.mark.parametrize("name", sorted(MODELS))
def test_size_to_params_within_ten_percent(name):
    target = 400_000
    cfg = size_to_params(name, target, vocab_size=32, base=TINY[name])
    assert abs(count_params(name, cfg, 32) - target) <= 0.10 * target
    real = build_model(name, cfg, 32)
    assert sum(p.numel() for p in real.parameters()) == count_params(name, cfg, 32)


def test_size_to_params_impossible_target():
    with pytest.raises(ValueError, match="cannot size transformer"):
        size_to_params("transformer", 10, vocab_size=32)


@pytest.mark.parametrize(
    "name, bad",
    [
        ("transformer", {"d_model": 30, "n_heads": 4}),
        ("transformer", {"attn_dropout": 1.5}),
        ("lstm", {"d_model": 33}),
        ("convs2s", {"kernel_size": 4}),
        ("convs2s", {"n_enc_layers": 0}),
        ("convs2s", {"attend": "first"}),
    ],
)
def test_config_validation(name, bad):
    cfg_cls = model_entry(name).config
    with pytest.raises(ValueError):
        cfg_cls(**bad)


def test_convs2s_rejects_too_long_input():
    model = build_model("convs2s", TINY["convs2s"], VOCAB)
    with pytest.raises(ValueError, match="max_positions=64"):
        model(torch.ones(1, 65, dtype=torch.long) * 3, torch.ones(1, 3, dtype=torch.long))


def test_convs2s_last_attends_to_the_source_in_its_last_layer_only():
    """The control's decoder has one attention hop (the last layer's); the plain ConvS2S one
    per layer, and both record maps under the same layer names."""
    from models.seq2seq import record_attention

    src, tgt = random_pair()
    plain = build_model("convs2s", TINY["convs2s"], VOCAB).eval()
    control = build_model("convs2s_last", TINY["convs2s_last"], VOCAB).eval()
    assert list(plain.attns) == ["0", "1"] and list(control.attns) == ["1"]
    with record_attention(control) as maps:
        control(src, tgt)
    assert list(maps) == ["attns.1"]
    with record_attention(plain) as maps:
        plain(src, tgt)
    assert sorted(maps) == ["attns.0", "attns.1"]
    # the first decoder layer of the control sees the target only: at step 0 (BOS) its
    # output cannot depend on the source, so the query its last layer sends is the same
    # for every source; the plain model's first hop already reads the source
    first = {}

    def keep(name):  # noqa: ANN202
        return lambda _m, _i, out: first.setdefault(name, []).append(out[:, 0])

    for name, model in (("plain", plain), ("control", control)):
        handle = model.dec_convs[1].register_forward_hook(keep(name))
        for seed in (1, 2):
            model(random_pair(seed=seed)[0], tgt)
        handle.remove()
    torch.testing.assert_close(first["control"][0], first["control"][1])
    assert not torch.allclose(first["plain"][0], first["plain"][1])
    flops = {m.cfg.attend: m.cfg.forward_flops(9, 7, VOCAB) for m in (plain, control)}
    assert flops["last"] < flops["every"]


def test_recorded_attention_is_a_distribution_over_real_positions(tiny_model):
    from models.seq2seq import record_attention

    _, model = tiny_model
    src, tgt = random_pair()
    with record_attention(model) as maps:
        out = model(src, tgt)
    assert maps and all(calls for calls in maps.values())
    torch.testing.assert_close(model(src, tgt), out)  # recording changes nothing
    assert all(m.recorded is None for m in model.modules() if hasattr(m, "recorded"))
    for name, calls in maps.items():
        w = torch.cat(calls, dim=-2)
        torch.testing.assert_close(w.sum(-1), torch.ones_like(w.sum(-1)))
        if w.size(-1) == src.size(1):  # attends over the source: pads get no weight
            assert (w[0, ..., -3:] == 0).all(), name
        if "self_attn" in name and name.startswith("decoder"):
            assert (w.triu(1) == 0).all(), name  # causal


def test_lstm_init_is_uniform_point_one_with_zero_pad_rows():
    """Luong et al. 4.1: every parameter uniform(-0.1, 0.1); the pad embedding row is zero."""
    torch.manual_seed(0)
    model = build_model("lstm", TINY["lstm"], VOCAB)
    for name, p in model.named_parameters():
        assert p.abs().max() <= 0.1 and p.abs().max() > 0.09, name
    assert not model.src_embed.weight[model.pad_id].any()
    assert not model.tgt_embed.weight[model.pad_id].any()


def test_convs2s_pad_embedding_rows_are_zero():
    torch.manual_seed(0)
    model = build_model("convs2s", TINY["convs2s"], VOCAB)
    assert not model.src_embed.weight[model.pad_id].any()
    assert not model.tgt_embed.weight[model.pad_id].any()
    assert model.src_embed.weight[model.pad_id + 1].any()


def test_transformer_k_and_v_are_two_xavier_blocks():
    """Each (d, d) block of the fused K/V projection spans Xavier's range for (d, d)."""
    torch.manual_seed(0)
    d = TINY["transformer"].d_model
    model = build_model("transformer", TINY["transformer"], VOCAB)
    separate, fused = (6 / (2 * d)) ** 0.5, (6 / (3 * d)) ** 0.5
    layers = [m for m in model.modules() if hasattr(m, "kv_proj")]
    assert layers
    for m in layers:
        for block in m.kv_proj.weight.chunk(2, dim=0):
            assert fused < block.abs().max() <= separate


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
