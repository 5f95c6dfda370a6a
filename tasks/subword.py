"""Joint source+target byte-level BPE (Hugging Face ``tokenizers``), trained once and cached.

Byte-level BPE never meets an unknown character and decodes cleaned text back exactly, so
references can be recovered from token ids. The special tokens take the reserved ids
PAD=0, BOS=1, EOS=2 that every model and decoder assume.
"""

from __future__ import annotations

import hashlib
import os
import tempfile
from pathlib import Path

import torch
from torch import Tensor

from tasks.base import BOS, EOS, PAD

SPECIALS = ("<pad>", "<s>", "</s>")  # ids PAD, BOS, EOS
RECIPE = "bytelevel-bpe-v1"  # bump when training changes: old cached tokenisers stop matching


def train_bpe(texts: list[str], vocab_size: int):  # noqa: ANN201 (tokenizers.Tokenizer)
    """A byte-level BPE tokeniser with at most ``vocab_size`` ids, trained on ``texts``."""
    from tokenizers import Tokenizer, decoders, models, pre_tokenizers, trainers

    tok = Tokenizer(models.BPE())
    tok.pre_tokenizer = pre_tokenizers.ByteLevel(add_prefix_space=True)
    tok.decoder = decoders.ByteLevel()
    trainer = trainers.BpeTrainer(
        vocab_size=vocab_size,
        special_tokens=list(SPECIALS),
        initial_alphabet=pre_tokenizers.ByteLevel.alphabet(),
        show_progress=False,
    )
    tok.train_from_iterator(texts, trainer)
    ids = [tok.token_to_id(s) for s in SPECIALS]
    if ids != [PAD, BOS, EOS]:
        raise RuntimeError(f"special tokens {SPECIALS} got ids {ids}, expected [0, 1, 2]")
    return tok


def cached_bpe(texts: list[str], vocab_size: int, cache_dir: Path):  # noqa: ANN201
    """:func:`train_bpe`, saved under ``cache_dir`` keyed by the texts and the vocabulary size."""
    from tokenizers import Tokenizer

    h = hashlib.sha256(f"{RECIPE}\n{vocab_size}\n".encode())
    for text in texts:
        h.update(text.encode())
        h.update(b"\n")
    path = Path(cache_dir) / f"bpe-{vocab_size}-{h.hexdigest()[:16]}.json"
    if path.is_file():
        return Tokenizer.from_file(str(path))
    tok = train_bpe(texts, vocab_size)
    path.parent.mkdir(parents=True, exist_ok=True)
    with tempfile.NamedTemporaryFile("w", dir=path.parent, suffix=".json", delete=False) as f:
        f.write(tok.to_str())
    os.replace(f.name, path)  # atomic: concurrent cells never read half a file
    return tok


def encode(tok, texts: list[str]) -> tuple[Tensor, Tensor]:  # noqa: ANN001
    """Token ids (N, L) PAD-padded to the longest text, and lengths (N,); no BOS/EOS."""
    ids = [torch.tensor(e.ids, dtype=torch.long) for e in tok.encode_batch(texts)]
    lengths = torch.tensor([len(x) for x in ids], dtype=torch.long)
    if not ids:
        return torch.zeros(0, 1, dtype=torch.long), lengths
    return torch.nn.utils.rnn.pad_sequence(ids, batch_first=True, padding_value=PAD), lengths


def decode(tok, ids: Tensor) -> list[str]:  # noqa: ANN001
    """Text of each row of ``ids`` (B, L), stopping at the first EOS; specials dropped."""
    ids = ids.masked_fill(ids.eq(EOS).cumsum(1) > 0, PAD)  # everything from the first EOS
    texts = tok.decode_batch(ids.tolist(), skip_special_tokens=True)
    return [t.strip() for t in texts]
