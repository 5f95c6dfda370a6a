"""Translate task on small parallel files the tests write: splits, BPE, batches, BLEU, errors."""

from __future__ import annotations

import json
import sys
import types

import pytest
import torch

from bench.cell.config import ConfigError
from bench.cell.execute import run_cell
from bench.cell.spec import make_spec
from tasks import BOS, EOS, PAD
from tasks import translate as translate_mod
from tasks.corpus import clean_kjv, clean_rv, load_corpus, read_tsv, write_tsv
from tasks.subword import decode, encode, train_bpe
from tasks.translate import (
    TranslateConfig,
    TranslateTask,
    bleu_chrf,
    length_filter,
    make_splits,
    unique,
)

ANIMALS = ["cat", "dog", "bird", "horse", "fish", "mouse"]
ANIMALES = ["gato", "perro", "pájaro", "caballo", "pez", "ratón"]
COLOURS = ["red", "green", "blue", "black"]
COLORES = ["rojo", "verde", "azul", "negro"]


def toy_pairs(n: int = 240) -> list[tuple[str, str]]:
    """Distinct English-Spanish pairs with real word order differences (adjective after noun)."""
    out = []
    for i in range(n):
        a, c = i % 6, (i // 6) % 4
        out.append(
            (
                f"the {COLOURS[c]} {ANIMALS[a]} saw {i} birds.",
                f"el {ANIMALES[a]} {COLORES[c]} vio {i} pájaros.",
            )
        )
    return out


@pytest.fixture
def corpus_file(tmp_path, monkeypatch):
    monkeypatch.setenv("ATTNBENCH_DATA", str(tmp_path / "data"))
    path = tmp_path / "toy.tsv"
    pairs = toy_pairs()
    pairs += [pairs[0], ("", "vacío"), ("one two three four five six seven eight nine", "x")]
    path.write_text("".join(f"{s}\t{t}\n" for s, t in pairs) + "\n", encoding="utf-8")
    return path


def toy_cfg(path, **kw) -> TranslateConfig:
    base = dict(source=f"tsv:{path}", vocab_size=300, max_words=8, dev_size=20, test_size=30)
    return TranslateConfig(**{**base, **kw})


def test_splits_are_deterministic_disjoint_and_filtered(corpus_file):
    cfg = toy_cfg(corpus_file)
    corpus = load_corpus(cfg.source)
    a, b = make_splits(corpus, cfg), make_splits(load_corpus(cfg.source), cfg)
    assert a == b
    assert {k: len(v) for k, v in a.items()} == {"train": 190, "dev": 20, "test": 30}
    for x, y in [("train", "dev"), ("train", "test"), ("dev", "test")]:
        assert not {s for s, _ in a[x]} & {s for s, _ in a[y]}
        assert not {t for _, t in a[x]} & {t for _, t in a[y]}
    everything = [p for v in a.values() for p in v]
    assert len(everything) == len(set(everything)) == 240  # repeat, empty and long pairs gone
    assert a["test"] != toy_pairs()[:30]  # a shuffled split, not the file's head
    rev = make_splits(corpus, toy_cfg(corpus_file, reverse=True))
    assert rev["test"] == [(t, s) for s, t in a["test"]]
    assert len(make_splits(corpus, toy_cfg(corpus_file, max_train=50))["train"]) == 50


def test_filters_and_repeats():
    pairs = [("a b", "x"), ("a b", "y"), ("c", "x"), ("d", ""), ("e f g", "z"), ("h", "w")]
    assert length_filter(pairs, 2) == [("a b", "x"), ("a b", "y"), ("c", "x"), ("h", "w")]
    assert length_filter(pairs, 0)[-2:] == [("e f g", "z"), ("h", "w")]
    assert unique(pairs) == [("a b", "x"), ("d", ""), ("e f g", "z"), ("h", "w")]


def test_bpe_reserved_ids_and_exact_round_trip():
    texts = [s for p in toy_pairs(60) for s in p] + ["¿Quién? ¡Sí! «año» — naïve café's"]
    tok = train_bpe(texts, 320)
    assert [tok.token_to_id(s) for s in ("<pad>", "<s>", "</s>")] == [PAD, BOS, EOS]
    ids, lengths = encode(tok, texts)
    assert ids.shape == (len(texts), int(lengths.max())) and (ids[lengths == 0] == PAD).all()
    assert not ids.eq(EOS).any() and not ids.eq(BOS).any()
    assert decode(tok, ids) == texts
    unseen = "Zebra ß 東京"  # bytes never seen in training still round-trip
    assert decode(tok, encode(tok, [unseen])[0]) == [unseen]
    with_eos = torch.cat([ids[:2, :3], torch.tensor([[EOS], [EOS]]), ids[:2, :2]], dim=1)
    assert decode(tok, with_eos) == decode(tok, ids[:2, :3])  # stops at the first EOS


def test_task_batches_tokeniser_cache_and_eval_set(corpus_file, monkeypatch):
    seen = {}
    real = translate_mod.cached_bpe

    def spy(texts, vocab_size, cache_dir):
        seen["texts"] = list(texts)
        return real(texts, vocab_size, cache_dir)

    monkeypatch.setattr(translate_mod, "cached_bpe", spy)
    cfg = toy_cfg(corpus_file)
    task = TranslateTask(cfg, seed=0)
    train = task.splits["train"]
    assert seen["texts"] == [s for s, _ in train] + [t for _, t in train]  # train split only
    cache = list((corpus_file.parent / "data" / "bpe").glob("bpe-300-*.json"))
    assert len(cache) == 1
    again = TranslateTask(cfg, seed=1)  # loads the cached tokeniser
    assert again.tokenizer.to_str() == task.tokenizer.to_str()
    assert task.vocab_size == task.tokenizer.get_vocab_size() <= 300
    assert task.beam_size == 4 and task.distance is None

    g = torch.Generator().manual_seed(0)
    b = task.sample(16, g)
    b2 = task.sample(16, torch.Generator().manual_seed(0))
    assert torch.equal(b.src, b2.src) and torch.equal(b.tgt_out, b2.tgt_out)
    n_src, n_tgt = b.src.ne(PAD).sum(1), b.tgt_out.ne(PAD).sum(1)
    assert b.src.size(1) == int(n_src.max()) and b.tgt_out.size(1) == int(n_tgt.max())
    assert (b.tgt_out[torch.arange(16), n_tgt - 1] == EOS).all() and (b.tgt_in[:, 0] == BOS).all()
    pairs = set(zip(decode(task.tokenizer, b.src), decode(task.tokenizer, b.tgt_out), strict=True))
    assert pairs <= set(train)

    batches = task.eval_batches(8)
    assert [x.src.size(0) for x in batches] == [8, 8, 8, 6]
    refs = [r for x in batches for r in decode(task.tokenizer, x.tgt_out)]
    srcs = [r for x in batches for r in decode(task.tokenizer, x.src)]
    assert sorted(zip(srcs, refs, strict=True)) == sorted(task.splits["test"])
    lengths = torch.cat([x.src.ne(PAD).sum(1) for x in batches])
    assert torch.equal(lengths, lengths.sort().values)  # shortest first
    for x in batches:  # the decoding budget comes from the source alone, never a reference
        assert torch.equal(task.max_output_len(x.src), x.src.ne(PAD).sum(1) + 50)
    assert not hasattr(task, "max_target_len")


def test_scores_perfect_copy_and_examples(corpus_file):
    task = TranslateTask(toy_cfg(corpus_file, n_examples=3), seed=0)
    batches = task.eval_batches(8)
    perfect = task.summarise([task.score(b.tgt_out, b) for b in batches])
    assert perfect["bleu"] == pytest.approx(100.0) and perfect["chrf"] == pytest.approx(100.0)
    assert perfect["seq_acc"] == 1.0 and perfect["test_sentences"] == 30
    sig = perfect["sacrebleu_signature"]
    assert sig.startswith("BLEU nrefs:1|") and "; chrF nrefs:1|" in sig and "tok:13a" in sig
    assert [e["reference"] for e in perfect["examples"]] == [t for _, t in task.splits["test"][:3]]
    assert [e["source"] for e in perfect["examples"]] == [s for s, _ in task.splits["test"][:3]]
    copying = task.summarise([task.score(b.src, b) for b in batches])
    assert copying["bleu"] == pytest.approx(copying["copy_source_bleu"])
    assert copying["bleu"] < 30 and json.dumps(copying)  # a row can hold it


def test_bleu_chrf_on_hand_made_sentences():
    refs = ["el gato rojo vio dos pájaros.", "el perro come."]
    out = bleu_chrf(refs, refs, ["the red cat saw two birds.", "the dog eats."])
    assert out["bleu"] == pytest.approx(100.0) and out["copy_source_bleu"] < 10
    half = bleu_chrf(["el gato rojo vio dos pájaros.", "nada"], refs, refs)
    assert 0 < half["bleu"] < 100 and 0 < half["chrf"] < 100


def test_tsv_errors(tmp_path, monkeypatch):
    monkeypatch.setenv("ATTNBENCH_DATA", str(tmp_path))
    with pytest.raises(ValueError, match="does not exist"):
        load_corpus(f"tsv:{tmp_path / 'missing.tsv'}")
    bad = tmp_path / "bad.tsv"
    bad.write_text("a\tb\nno tab here\n", encoding="utf-8")
    with pytest.raises(ValueError, match=r"bad.tsv:2: expected 'source<TAB>target'"):
        read_tsv(bad)
    small = tmp_path / "small.tsv"
    write_tsv(small, toy_pairs(20))
    with pytest.raises(ValueError, match="has 20 usable pairs"):
        TranslateTask(toy_cfg(small), seed=0)


@pytest.mark.parametrize(
    "bad,message",
    [
        ({"source": "europarl"}, "task.source='europarl' is not one of: bible, wmt14"),
        ({"source": "hf:only-name"}, "is not one of"),
        ({"vocab_size": 100}, "task.vocab_size must be >= 300"),
        ({"beam_size": 0}, "task.beam_size must be >= 1, got 0"),
        ({"length_penalty": -0.1}, r"task.length_penalty must be in \[0, inf\)"),
        ({"length_penalty": float("nan")}, r"task.length_penalty must be in \[0, inf\)"),
        ({"length_penalty": float("inf")}, r"task.length_penalty must be in \[0, inf\)"),
        ({"max_extra_len": -1}, "task.max_extra_len must be >= 0, got -1"),
        ({"max_words": -1}, "task.max_words must be >= 0, got -1"),
        ({"test_size": 0}, "task.test_size must be >= 1"),
    ],
)
def test_config_validation(bad, message):
    with pytest.raises(ValueError, match=message):
        TranslateConfig(**bad)


def test_set_overrides_and_bad_source_before_training(corpus_file):
    spec = make_spec("transformer", "translate", [f"task.source=tsv:{corpus_file}"])
    assert spec.task_cfg.source == f"tsv:{corpus_file}"
    assert (spec.task_cfg.length_penalty, spec.task_cfg.max_extra_len) == (0.6, 50)
    sets = [f"task.source=tsv:{corpus_file}", "task.length_penalty=1", "task.max_extra_len=10"]
    spec = make_spec("transformer", "translate", sets)
    assert (spec.task_cfg.length_penalty, spec.task_cfg.max_extra_len) == (1.0, 10)
    with pytest.raises(ConfigError, match="is not one of"):
        make_spec("transformer", "translate", ["task.source=opus"])


def test_missing_bible_modules_say_how_to_install(tmp_path, monkeypatch):
    monkeypatch.setenv("ATTNBENCH_DATA", str(tmp_path / "data"))
    monkeypatch.setenv("SWORD_PATH", str(tmp_path / "no-sword"))
    with pytest.raises(RuntimeError, match="apt-get install sword-text-kjv sword-text-sparv"):
        load_corpus("bible")


def test_bible_cleaning():
    assert clean_kjv(" ¶ And the \\nd LORD said,  Cain’s ") == "And the LORD said, Cain's"
    assert clean_rv("EN el principio crió Dios") == "En el principio crió Dios"
    assert clean_rv("DESPUÉS de estas cosas") == "Después de estas cosas"
    assert clean_rv("Y dijo Dios: Sea la luz") == "Y dijo Dios: Sea la luz"


def fake_datasets(monkeypatch, load):
    module = types.ModuleType("datasets")
    module.load_dataset = load
    monkeypatch.setitem(sys.modules, "datasets", module)


def test_hugging_face_unreachable_is_one_clear_line(tmp_path, monkeypatch):
    monkeypatch.setenv("ATTNBENCH_DATA", str(tmp_path))

    def offline(name, config):
        raise ConnectionError("Couldn't reach 'wmt/wmt14' on the Hub (LocalEntryNotFoundError)")

    fake_datasets(monkeypatch, offline)
    with pytest.raises(RuntimeError) as err:
        load_corpus("wmt14")
    assert "\n" not in str(err.value)
    assert str(err.value).startswith("cannot load Hugging Face dataset wmt/wmt14 (de-en)")
    monkeypatch.setitem(sys.modules, "datasets", None)  # not installed
    with pytest.raises(RuntimeError, match=r"pip install -e '.\[hf\]'"):
        load_corpus("iwslt14")


def test_hugging_face_splits_are_cached_and_kept_apart(tmp_path, monkeypatch):
    monkeypatch.setenv("ATTNBENCH_DATA", str(tmp_path))
    rows = [{"de": f"der Hund {i}", "en": f"the dog {i}"} for i in range(120)]
    calls = []

    def load(name, config):
        calls.append((name, config))
        test = rows[:20]
        return {
            "train": {"translation": rows[10:]},  # overlaps the test split on purpose
            "validation": {"translation": rows[100:110]},
            "test": {"translation": test},
        }

    fake_datasets(monkeypatch, load)
    cfg = TranslateConfig(source="hf:someone/dogs:de-en:de-en", vocab_size=300, test_size=15)
    corpus = load_corpus(cfg.source)
    assert (corpus.src_lang, corpus.tgt_lang) == ("de", "en")
    splits = make_splits(corpus, cfg)
    assert splits["test"] == [(r["de"], r["en"]) for r in rows[:15]]
    assert not {s for s, _ in splits["train"]} & {s for s, _ in splits["test"] + splits["dev"]}
    assert len(splits["train"]) == 110 - 5 - 10  # rows[10:] less test 10-14 and dev
    load_corpus(cfg.source)  # second time from the cache
    assert calls == [("someone/dogs", "de-en")]


def test_tiny_translate_cell_records_bleu(corpus_file, tmp_path):
    sets = [
        f"task.source=tsv:{corpus_file}",
        "task.vocab_size=300",
        "task.max_words=8",
        "task.dev_size=20",
        "task.test_size=30",
        "task.beam_size=2",
        "model.d_model=32",
        "model.n_heads=2",
        "model.d_ff=64",
        "train.steps=4",
        "train.batch_size=8",
        "train.timing_warmup=0",
        "train.timing_blocks=2",
        "train.eval_batch_size=16",
    ]
    row = run_cell(make_spec("transformer", "translate", sets), tmp_path / "out", "disabled", False)
    assert row["status"] == "ok", row.get("error")
    saved = json.loads((tmp_path / "out" / "results.jsonl").read_text().splitlines()[-1])
    assert saved["decode"] == "beam2" and saved["test_sentences"] == 30
    for key in ("bleu", "chrf", "copy_source_bleu"):
        assert 0.0 <= saved[key] <= 100.0
    assert "BLEU nrefs:1" in saved["sacrebleu_signature"]
    assert len(saved["examples"]) == 5 and set(saved["examples"][0]) == {
        "source",
        "reference",
        "hypothesis",
    }
    # BLEU and chrF of greedy dev decodes at each budget rung (4 steps: 1, 2, 3, 4)
    rungs = saved["dev_rungs"]
    assert rungs["step"] == [1, 2, 3, 4]
    for key in ("dev_greedy_bleu", "dev_greedy_chrf"):
        assert len(rungs[key]) == 4 and all(0.0 <= v <= 100.0 for v in rungs[key])


def test_source_problem_names_what_is_missing_and_the_fix(tmp_path, monkeypatch):
    from tasks.corpus import source_problem

    monkeypatch.setenv("ATTNBENCH_DATA", str(tmp_path / "data"))
    monkeypatch.setenv("SWORD_PATH", str(tmp_path / "no-sword"))
    assert "apt-get install sword-text-kjv sword-text-sparv" in source_problem("bible")
    pairs = tmp_path / "pairs.tsv"
    assert "no such file" in source_problem(f"tsv:{pairs}")
    pairs.write_text("a cat\tun gato\n")
    assert source_problem(f"tsv:{pairs}") is None


def test_dev_split_is_evaluated_apart_from_test(corpus_file):
    task = TranslateTask(toy_cfg(corpus_file, n_examples=2), seed=0)
    dev = task.eval_batches(8, "dev")
    srcs = [s for x in dev for s in decode(task.tokenizer, x.src)]
    refs = [r for x in dev for r in decode(task.tokenizer, x.tgt_out)]
    assert sorted(zip(srcs, refs, strict=True)) == sorted(task.splits["dev"])
    assert not set(srcs) & {s for s, _ in task.splits["test"]}
    summary = task.summarise([task.score(b.tgt_out, b) for b in dev])
    assert summary["bleu"] == pytest.approx(100.0) and summary["test_sentences"] == 20
    assert [e["reference"] for e in summary["examples"]] == [t for _, t in task.splits["dev"][:2]]
    with pytest.raises(ValueError, match="unknown split 'train'; choose one of: dev, test"):
        task.eval_batches(8, "train")
