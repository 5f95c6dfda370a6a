"""Parallel corpora for the translate task: where they come from and where they are cached.

``source`` names one of:
  * ``bible``: English KJV -> Spanish Reina-Valera 1909 (public domain, ~31k verse pairs),
    read once from the Debian SWORD modules with ``pysword`` and cached as a TSV file.
  * ``tsv:PATH``: the user's parallel text, one ``source<TAB>target`` pair per line.
  * ``wmt14`` (EN-DE), ``iwslt14`` (DE-EN), ``hf:NAME:CONFIG:SRC-TGT``: Hugging Face
    ``datasets`` (optional extra ``pip install -e '.[hf]'``), fetched once, cached as TSV.

Everything is cached under :func:`data_dir` (``ATTNBENCH_DATA``, default ``data/`` in the
repository root, git-ignored), so a corpus works offline once it has been built.
"""

from __future__ import annotations

import importlib.util
import os
import re
import tempfile
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

SOURCES = ("bible", "wmt14", "iwslt14", "tsv:PATH", "hf:NAME:CONFIG:SRC-TGT")
HF_ALIASES = {  # name -> (dataset, config, source language, target language)
    "wmt14": ("wmt/wmt14", "de-en", "en", "de"),
    "iwslt14": ("bbaaaa/iwslt14-de-en", "de-en", "de", "en"),  # a community upload
}
HF_SPLITS = {"train": "train", "dev": "validation", "test": "test"}
SWORD_MODULES = ("engKJV2006eb", "spaRV1909eb")  # Debian sword-text-kjv, sword-text-sparv
SWORD_INSTALL = "apt-get install sword-text-kjv sword-text-sparv"
BIBLE_FILE = "bible-kjv-rv1909.en-es.tsv"


@dataclass(frozen=True)
class Corpus:
    """Sentence pairs: one pool to split (``pairs``) or official splits (train/dev/test)."""

    name: str
    src_lang: str
    tgt_lang: str
    pairs: list[tuple[str, str]] | None = None
    splits: dict[str, list[tuple[str, str]]] | None = None


def data_dir() -> Path:
    """Cache root: $ATTNBENCH_DATA, else ``data/`` in the repository root."""
    env = os.environ.get("ATTNBENCH_DATA")
    return Path(env) if env else Path(__file__).resolve().parent.parent / "data"


def check_source(source: str) -> None:
    """Reject a malformed ``source`` before anything is loaded."""
    if source in ("bible", *HF_ALIASES):
        return
    if source.startswith("tsv:") and len(source) > 4:
        return
    if source.startswith("hf:") and len(source.split(":")) == 4 and "-" in source.split(":")[3]:
        return
    raise ValueError(f"task.source={source!r} is not one of: {', '.join(SOURCES)}")


def source_problem(source: str) -> str | None:
    """Why ``source`` cannot be loaded on this machine, in one line; None when it can.

    Cheap (reads no downloaded corpus; a ``tsv:`` file, the user's own, is read and checked
    line by line), so a run or a matrix can refuse before anything trains. A
    Hugging Face source that is not cached passes when ``datasets`` is installed: only
    fetching it tells whether the network is there, and that fails with one clear line.
    """
    check_source(source)
    if source == "bible":
        if (data_dir() / "corpora" / BIBLE_FILE).is_file():
            return None
        try:
            sword_modules_present(os.environ.get("SWORD_PATH", "/usr/share/sword"))
        except RuntimeError as err:
            return str(err)
        return None
    if source.startswith("tsv:"):
        path = Path(source[4:]).expanduser()
        if not path.is_file():
            return f"task.source={source!r}: no such file {path}"
        try:  # the user's own file: read it now, so a bad line stops the run before training
            read_tsv(path)
        except (ValueError, UnicodeDecodeError) as err:
            return f"task.source={source!r}: {err}"
        return None
    if importlib.util.find_spec("datasets") is None:
        name = HF_ALIASES[source][0] if source in HF_ALIASES else source.split(":")[1]
        return f"Hugging Face dataset {name} needs the optional extra: pip install -e '.[hf]'"
    return None


def load_corpus(source: str) -> Corpus:
    """The corpus ``source`` names, from the cache when it is there."""
    check_source(source)
    if source == "bible":
        return Corpus("bible", "en", "es", pairs=bible_pairs())
    if source.startswith("tsv:"):
        path = Path(source[4:]).expanduser()
        return Corpus(f"tsv-{path.stem}", "src", "tgt", pairs=read_tsv(path))
    if source in HF_ALIASES:
        name, config, src_lang, tgt_lang = HF_ALIASES[source]
    else:
        _, name, config, langs = source.split(":")
        src_lang, tgt_lang = langs.split("-", 1)
    return Corpus(source, src_lang, tgt_lang, splits=hf_splits(name, config, src_lang, tgt_lang))


def clean(text: str) -> str:
    """One line of plain text: whitespace runs (tabs, newlines) collapsed to one space."""
    return " ".join(text.split())


def read_tsv(path: Path) -> list[tuple[str, str]]:
    """``source<TAB>target`` lines; blank lines are skipped, anything else malformed is an error."""
    if not path.is_file():
        raise ValueError(f"parallel text file {path} does not exist (task.source=tsv:PATH)")
    pairs = []
    with path.open(encoding="utf-8") as f:
        for n, line in enumerate(f, 1):
            if not line.strip():
                continue
            fields = line.rstrip("\n").split("\t")
            if len(fields) != 2:
                raise ValueError(
                    f"{path}:{n}: expected 'source<TAB>target', found {len(fields)} tab-separated "
                    "fields"
                )
            pairs.append((clean(fields[0]), clean(fields[1])))
    if not pairs:
        raise ValueError(f"{path}: no 'source<TAB>target' lines (the file is empty)")
    return pairs


def write_tsv(path: Path, pairs: Iterable[tuple[str, str]]) -> None:
    """Write pairs atomically (a concurrent reader sees the old file or the whole new one)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    text = "".join(f"{clean(s)}\t{clean(t)}\n" for s, t in pairs)
    with tempfile.NamedTemporaryFile("w", dir=path.parent, delete=False, encoding="utf-8") as f:
        f.write(text)
    os.replace(f.name, path)


# -- the Bible: KJV and Reina-Valera 1909 from the Debian SWORD modules ---------------------


def bible_pairs() -> list[tuple[str, str]]:
    """Verse-aligned (English, Spanish) pairs; built from SWORD once, then read from the cache."""
    path = data_dir() / "corpora" / BIBLE_FILE
    if not path.is_file():
        write_tsv(path, read_sword_bibles(os.environ.get("SWORD_PATH", "/usr/share/sword")))
    return read_tsv(path)


def read_sword_bibles(sword_path: str) -> list[tuple[str, str]]:
    """Both modules verse by verse (same KJV versification); verses empty on a side dropped."""
    modules = sword_modules_present(sword_path)
    english, spanish = (list(modules.get_bible_from_module(m).get_iter()) for m in SWORD_MODULES)
    if len(english) != len(spanish):
        raise RuntimeError(f"SWORD modules differ in verse count: {len(english)}, {len(spanish)}")
    pairs = ((clean_kjv(e), clean_rv(s)) for e, s in zip(english, spanish, strict=True))
    return [(e, s) for e, s in pairs if e and s]


def sword_modules_present(sword_path: str) -> Any:
    """pysword's modules in ``sword_path``; RuntimeError naming what is missing and the fix."""
    try:
        from pysword.modules import SwordModules
    except ImportError as err:
        raise RuntimeError("the bible corpus needs pysword: pip install pysword") from err
    modules = SwordModules(sword_path)
    found = modules.parse_modules() if Path(sword_path, "mods.d").is_dir() else {}
    missing = [m for m in SWORD_MODULES if m not in found]
    if missing:
        raise RuntimeError(
            f"the bible corpus needs the SWORD modules {', '.join(missing)} in {sword_path}: "
            f"{SWORD_INSTALL}"
        )
    return modules


def clean_kjv(verse: str) -> str:
    """Drop paragraph marks and left-over OSIS markup (``\\nd``); plain apostrophes."""
    verse = verse.replace("¶", " ").replace("\\nd ", "").replace("’", "'")
    return clean(verse)


def clean_rv(verse: str) -> str:
    """Undo the drop capital that opens each chapter ("EN el principio" -> "En el principio")."""
    verse = clean(verse)
    return re.sub(r"^([^\W\d_])([^\W\d_]+)\b", _drop_capital, verse, count=1)


def _drop_capital(m: re.Match[str]) -> str:
    return m.group(1) + m.group(2).lower() if m.group(2).isupper() else m.group(0)


# -- Hugging Face datasets ------------------------------------------------------------------


def hf_splits(name: str, config: str, src: str, tgt: str) -> dict[str, list[tuple[str, str]]]:
    """train/dev/test of a ``translation``-column dataset; fetched once, then from the cache."""
    folder = data_dir() / "corpora" / re.sub(r"[^\w.-]+", "_", f"hf-{name}-{config}-{src}-{tgt}")
    paths = {split: folder / f"{split}.tsv" for split in HF_SPLITS}
    if not all(p.is_file() for p in paths.values()):
        for split, pairs in fetch_hf(name, config, src, tgt).items():
            write_tsv(paths[split], pairs)
    return {split: read_tsv(p) for split, p in paths.items()}


def fetch_hf(name: str, config: str, src: str, tgt: str) -> dict[str, list[tuple[str, str]]]:
    try:
        import datasets
    except ImportError as err:
        raise RuntimeError(
            f"Hugging Face dataset {name} needs the optional extra: pip install -e '.[hf]'"
        ) from err
    try:
        ds = datasets.load_dataset(name, config)
        return {
            ours: [(ex[src], ex[tgt]) for ex in ds[theirs]["translation"]]
            for ours, theirs in HF_SPLITS.items()
        }
    except Exception as err:  # offline, hub down, no such dataset or split: one clear line
        first = (str(err).strip().splitlines() or [type(err).__name__])[0]
        raise RuntimeError(
            f"cannot load Hugging Face dataset {name} ({config}): no network or no access? "
            f"{type(err).__name__}: {first}"
        ) from err
