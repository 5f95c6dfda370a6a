"""Translation on a real parallel corpus: BPE, beam search, sacrebleu BLEU and chrF.

Pipeline (deterministic, seed-independent): load the corpus (tasks/corpus.py) -> keep pairs
of 1..max_words words per side -> drop repeats (a pair whose source or target was already
seen) -> split (a fixed permutation: test, dev, rest train; or the corpus's own splits,
with any train pair sharing a sentence with dev/test removed) -> joint BPE trained on the
train split only (cached) -> token-id tensors. Training batches are random train pairs;
evaluation decodes the test split (or the dev split, for choices such as tuning; beam
search with the GNMT length penalty, at most source length + 50 tokens), detokenises and
scores with sacrebleu.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import torch
from torch import Tensor

from checks import check_values
from tasks.base import (
    PAD,
    Batch,
    check_split,
    eval_sizes,
    sequence_scores,
    summarise_scores,
    teacher_forcing_pair,
)
from tasks.corpus import Corpus, check_source, data_dir, load_corpus, source_problem
from tasks.subword import cached_bpe, decode, encode

SPLIT_SEED = 20170612  # the split is part of the data set: fixed, whatever the run's seed
COUNTS = ("token_correct", "token_total", "seq_correct", "seq_total")
Pairs = list[tuple[str, str]]


@dataclass(frozen=True)
class TranslateConfig:
    """Translation knobs (defaults: a ~10-minute run on 2 CPU cores)."""

    source: str = "bible"
    """Corpus: bible (KJV en -> RV1909 es), wmt14, iwslt14, hf:NAME:CONFIG:SRC-TGT or tsv:PATH."""
    reverse: bool = False
    """Translate the other way (target -> source language)."""
    vocab_size: int = 4000
    """Joint source+target BPE vocabulary (specials included), trained on the train split."""
    max_words: int = 16
    """Keep pairs whose sides both have at most this many words (every split); 0: no limit."""
    max_train: int = 0
    """Use at most this many training pairs; 0: all."""
    dev_size: int = 500
    """Held-out dev pairs (kept out of training): dev BLEU/chrF/loss, for tuning choices."""
    test_size: int = 500
    """Test pairs decoded and scored (at most this many of a corpus's own test split)."""
    beam_size: int = 4
    """Beam width for test decoding; 1: greedy."""
    length_penalty: float = 0.6
    """GNMT length penalty alpha of beam search: scores are log p / ((5 + len) / 6) ** alpha."""
    max_extra_len: int = 50
    """Longest output (EOS included) = source length in subword tokens + this (the paper's 50)."""
    n_examples: int = 5
    """Example translations (source, reference, hypothesis) kept in the results row."""

    def __post_init__(self) -> None:
        check_source(self.source)
        check_values(self, "task", vocab_size=">= 300")  # 256 bytes + merges
        sizes = ("max_words", "max_train", "dev_size", "n_examples", "max_extra_len")
        check_values(self, "task", **dict.fromkeys(sizes, ">= 0"))
        check_values(self, "task", test_size=">= 1", beam_size=">= 1")
        check_values(self, "task", length_penalty="[0, inf)")  # GNMT alpha; 0: none
        if self.beam_size > self.vocab_size:
            raise ValueError(
                f"task.beam_size must be <= vocab_size={self.vocab_size}, got {self.beam_size}"
            )

    def max_lengths(self) -> tuple[int, int]:
        """(source, target incl. EOS) tokens of the longest pair, estimated without the data
        (memory sizing): BPE splits a word into at most ~3 pieces at these vocabulary sizes;
        without a word limit, 256 tokens."""
        longest = 3 * self.max_words + 1 if self.max_words else 256
        return longest, longest + 1


class TranslateTask:
    """Seeded training batches from the train split; BLEU/chrF on the test split."""

    name = "translate"
    floor_metric = "bleu"  # and chrF: both must clear copy-the-source
    rung_metrics = ("bleu", "chrf")  # greedy-decoded on dev at each budget rung (bench/cell/dev)
    distance = None

    @staticmethod
    def data_problem(cfg: TranslateConfig) -> str | None:
        """Why the corpus cannot be loaded here (one line), or None: checked before training."""
        return source_problem(cfg.source)

    def __init__(self, cfg: TranslateConfig, seed: int) -> None:
        self.cfg = cfg
        self.seed = seed
        self.beam_size = cfg.beam_size
        self.length_penalty = cfg.length_penalty
        corpus = load_corpus(cfg.source)
        self.direction = (
            f"{corpus.tgt_lang}-{corpus.src_lang}"
            if cfg.reverse
            else f"{corpus.src_lang}-{corpus.tgt_lang}"
        )
        self.splits = make_splits(corpus, cfg)
        train = self.splits["train"]
        texts = [s for s, _ in train] + [t for _, t in train]
        self.tokenizer = cached_bpe(texts, cfg.vocab_size, data_dir() / "bpe")
        self.vocab_size = self.tokenizer.get_vocab_size()
        self.train_src, self.train_src_len = encode(self.tokenizer, [s for s, _ in train])
        self.train_tgt, self.train_tgt_len = encode(self.tokenizer, [t for _, t in train])
        held = {name: self._sorted_split(self.splits[name]) for name in ("test", "dev")}
        self.test_src, self.test_src_len, self.test_tgt, self.test_tgt_len, order = held["test"]
        self.dev_src, self.dev_src_len, self.dev_tgt, self.dev_tgt_len, dev_order = held["dev"]
        # where the first held-out pairs (in corpus order) land among the sorted decodes
        self.example_positions = {
            "test": torch.argsort(order)[: cfg.n_examples].tolist(),
            "dev": torch.argsort(dev_order)[: cfg.n_examples].tolist(),
        }

    def _sorted_split(self, pairs: Pairs) -> tuple[Tensor, Tensor, Tensor, Tensor, Tensor]:
        """A held-out split encoded and sorted by source length (similar lengths batch together)."""
        src, src_len = encode(self.tokenizer, [s for s, _ in pairs])
        tgt, tgt_len = encode(self.tokenizer, [t for _, t in pairs])
        order = torch.sort(src_len, stable=True).indices
        return src[order], src_len[order], tgt[order], tgt_len[order], order

    def max_output_len(self, src: Tensor) -> Tensor:
        """Source length + ``max_extra_len`` per sentence (EOS included), as in the paper."""
        return src.ne(PAD).sum(1) + self.cfg.max_extra_len

    def sample(self, n: int, generator: torch.Generator) -> Batch:
        """n random training pairs, padded to this batch's longest sentences."""
        idx = torch.randint(0, self.train_src.size(0), (n,), generator=generator)
        return _batch(
            self.train_src[idx],
            self.train_src_len[idx],
            self.train_tgt[idx],
            self.train_tgt_len[idx],
        )

    def eval_batches(self, batch_size: int, split: str = "test") -> list[Batch]:
        """The test (or dev) split, shortest sources first, in batches of ``batch_size``."""
        check_split(split)
        src, src_len, tgt, tgt_len = (
            (self.test_src, self.test_src_len, self.test_tgt, self.test_tgt_len)
            if split == "test"
            else (self.dev_src, self.dev_src_len, self.dev_tgt, self.dev_tgt_len)
        )
        out, start = [], 0
        for n in eval_sizes(src.size(0), batch_size):
            sl = slice(start, start + n)
            out.append(_batch(src[sl], src_len[sl], tgt[sl], tgt_len[sl]))
            start += n
        self._split = split  # summarise() picks this split's example positions
        return out

    def score(self, hyp: Tensor, batch: Batch) -> dict[str, Any]:
        """Token counts, and the detokenised hypotheses, references and sources."""
        return {
            **sequence_scores(hyp, batch.tgt_out),
            "hyp": decode(self.tokenizer, hyp),
            "ref": decode(self.tokenizer, batch.tgt_out),
            "src": decode(self.tokenizer, batch.src),
        }

    def summarise(self, parts: list[dict[str, Any]]) -> dict[str, Any]:
        """BLEU and chrF (with signatures), the copy-the-source baseline, and examples."""
        hyps, refs, srcs = ([s for p in parts for s in p[k]] for k in ("hyp", "ref", "src"))
        examples = [
            {"source": srcs[i], "reference": refs[i], "hypothesis": hyps[i]}
            for i in self.example_positions[getattr(self, "_split", "test")]
            if i < len(hyps)
        ]
        return {
            **summarise_scores([{k: p[k] for k in COUNTS} for p in parts]),
            **bleu_chrf(hyps, refs, srcs),
            "direction": self.direction,
            "train_pairs": self.train_src.size(0),
            "test_sentences": len(hyps),
            "examples": examples,
        }

    def examples(self, hyp: Tensor, batch: Batch) -> list[dict[str, Any]]:
        """Source, reference and hypothesis text per sentence (BLEU/chrF are corpus-level:
        intervals are recomputed from these with sacrebleu)."""
        texts = (decode(self.tokenizer, t) for t in (batch.src, batch.tgt_out, hyp))
        return [{"src": s, "ref": r, "hyp": h} for s, r, h in zip(*texts, strict=True)]

    def token_strings(self, ids: list[int]) -> list[str]:
        """Subword tokens of ``ids`` (attention-map labels)."""
        return [self.tokenizer.id_to_token(i) or "?" for i in ids]


def _batch(src: Tensor, src_len: Tensor, tgt: Tensor, tgt_len: Tensor) -> Batch:
    src = src[:, : int(src_len.max())]
    tgt = tgt[:, : int(tgt_len.max())]
    return Batch.from_tensors(src, *teacher_forcing_pair(tgt, tgt_len))


def bleu_chrf(hyps: list[str], refs: list[str], srcs: list[str]) -> dict[str, Any]:
    """Corpus BLEU and chrF of ``hyps`` against ``refs``, and BLEU of copying the source."""
    from sacrebleu.metrics import BLEU, CHRF

    bleu, chrf = BLEU(), CHRF()
    copy_bleu = BLEU().corpus_score(srcs, [refs]).score
    copy_chrf = CHRF().corpus_score(srcs, [refs]).score
    return {
        "bleu": bleu.corpus_score(hyps, [refs]).score,
        "chrf": chrf.corpus_score(hyps, [refs]).score,
        "sacrebleu_signature": f"BLEU {bleu.get_signature()}; chrF {chrf.get_signature()}",
        "copy_source_bleu": copy_bleu,
        "copy_source_chrf": copy_chrf,
        "floors": {"copy_source_bleu": copy_bleu, "copy_source_chrf": copy_chrf},
    }


def make_splits(corpus: Corpus, cfg: TranslateConfig) -> dict[str, Pairs]:
    """Deterministic train/dev/test pair lists with no sentence shared across splits."""
    if corpus.pairs is not None:
        pool = unique(length_filter(corpus.pairs, cfg.max_words))
        need = cfg.test_size + cfg.dev_size + 1
        if len(pool) < need:
            raise ValueError(
                f"corpus {corpus.name} has {len(pool)} usable pairs (after max_words="
                f"{cfg.max_words} and removing repeats); test_size + dev_size + 1 = {need}"
            )
        order = torch.randperm(len(pool), generator=torch.Generator().manual_seed(SPLIT_SEED))
        pool = [pool[i] for i in order.tolist()]
        t, d = cfg.test_size, cfg.test_size + cfg.dev_size
        splits = {"train": pool[d:], "dev": pool[t:d], "test": pool[:t]}
    else:
        assert corpus.splits is not None
        test = unique(length_filter(corpus.splits["test"], cfg.max_words))[: cfg.test_size]
        dev = unique(length_filter(corpus.splits["dev"], cfg.max_words))[: cfg.dev_size]
        held_src = {s for s, _ in test + dev}
        held_tgt = {t for _, t in test + dev}
        train = unique(length_filter(corpus.splits["train"], cfg.max_words))
        train = [(s, t) for s, t in train if s not in held_src and t not in held_tgt]
        splits = {"train": train, "dev": dev, "test": test}
        if not test or not train:
            raise ValueError(f"corpus {corpus.name}: empty train or test split after filtering")
    if cfg.max_train:
        splits["train"] = splits["train"][: cfg.max_train]
    if cfg.reverse:
        splits = {k: [(t, s) for s, t in v] for k, v in splits.items()}
    return splits


def length_filter(pairs: Pairs, max_words: int) -> Pairs:
    """Pairs with 1..max_words whitespace words on both sides (max_words 0: no upper limit)."""
    top = max_words or float("inf")
    return [(s, t) for s, t in pairs if 0 < len(s.split()) <= top and 0 < len(t.split()) <= top]


def unique(pairs: Pairs) -> Pairs:
    """Pairs in order, skipping any whose source or target sentence was already seen."""
    seen_src: set[str] = set()
    seen_tgt: set[str] = set()
    out = []
    for s, t in pairs:
        if s not in seen_src and t not in seen_tgt:
            out.append((s, t))
        seen_src.add(s)
        seen_tgt.add(t)
    return out
