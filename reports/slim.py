"""A run directory cut to what its verdicts and report read (``attnbench slim DIR``), so a
reference run can be committed small. Per cell:

- ``eval.jsonl``, ``dev_eval.jsonl``, ``dev_rungs.jsonl`` → the same lines gzipped
  (``*.jsonl.gz``; bench.rundir.layout reads either form);
- ``attention.npz`` of a copy/reverse/recall cell → ``attention_summary.json`` (its
  per-example sums: everything the Attention verdict and tables read, exactly);
- ``attention.npz`` itself kept only where the report draws an example map, cut to the
  examples up to the last one drawn (indices unchanged) — every other one is removed.

Nothing the claims read changes: ``attnbench claims`` gives the same verdicts and intervals
before and after (tests/test_slim.py). Slimming twice changes nothing more. The full files
come back by rerunning the matrix (docs/layout.md).
"""

from __future__ import annotations

import gzip
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from bench.attention.alignment import load_npz, save_npz
from bench.rundir.atomic import atomic_write_bytes
from bench.rundir.layout import (
    ATTENTION_FILE,
    ATTENTION_SUMMARY_FILE,
    GZIP_SUFFIX,
    LOCK_FILE,
    PER_EXAMPLE_FILES,
    cell_dir,
)
from bench.rundir.lock import LockedError, run_lock
from reports.attention_files import cell_summary, write_summary
from reports.rows import load_results
from reports.sections.attention_section import heatmap_examples, trained_rows


@dataclass(frozen=True)
class Slimmed:
    """What ``slim`` did: bytes of the directory before and after, files changed."""

    before: int
    after: int
    gzipped: int
    summarised: int
    maps_kept: int
    maps_removed: int

    def text(self) -> str:
        return (
            f"{self.before / 1e6:.1f} MB → {self.after / 1e6:.1f} MB ({self.gzipped} "
            f"per-example files gzipped, {self.summarised} attention files summarised, "
            f"{self.maps_kept} kept for the report's maps, {self.maps_removed} removed)"
        )


def slim(directory: Path) -> Slimmed:
    """Slim the run directory ``directory`` in place (see the module docstring), holding its
    runner lock; ValueError when a runner holds it."""
    directory = Path(directory)
    had_lock = (directory / LOCK_FILE).exists()
    try:
        with run_lock(directory):
            return _slim(directory)
    except LockedError as err:
        raise ValueError(str(err)) from None
    finally:
        if not had_lock:
            (directory / LOCK_FILE).unlink(missing_ok=True)


def _slim(directory: Path) -> Slimmed:
    before = _size(directory)
    drawn = drawn_examples(directory)
    cells = sorted(p for p in cell_dir(directory, "_").parent.glob("*") if p.is_dir())
    gzipped = summarised = kept = removed = 0
    for cell in cells:
        gzipped += sum(_gzip(cell / name) for name in PER_EXAMPLE_FILES)
        npz = cell / ATTENTION_FILE
        if not npz.is_file():
            continue
        if not (cell / ATTENTION_SUMMARY_FILE).is_file():
            summary = cell_summary(cell)
            if summary is not None:
                write_summary(cell / ATTENTION_SUMMARY_FILE, summary)
                summarised += 1
        if cell.name in drawn:
            _cut(npz, drawn[cell.name])
            kept += 1
        else:
            npz.unlink()
            removed += 1
    return Slimmed(before, _size(directory), gzipped, summarised, kept, removed)


def drawn_examples(directory: Path) -> dict[str, int]:
    """{cell key: number of leading examples to keep} for the example maps the report draws."""
    out: dict[str, int] = {}
    for art, _ in heatmap_examples(directory, trained_rows(load_results(directory))):
        if art.example is not None:
            out[art.key] = max(out.get(art.key, 0), art.example + 1)
    return out


def _gzip(path: Path) -> bool:
    """``path`` replaced by ``path.gz`` (same lines; mtime 0, so the bytes are reproducible)."""
    if not path.is_file():
        return False
    atomic_write_bytes(
        path.with_name(path.name + GZIP_SUFFIX), gzip.compress(path.read_bytes(), mtime=0)
    )
    path.unlink()
    return True


def _cut(npz: Path, keep: int) -> None:
    """Keep the first ``keep`` examples of every per-example array (maps stay float16)."""
    data = load_npz(npz)
    if data is None:
        return
    n = len(data["correct"])
    if keep >= n:
        return
    maps = {k: v[:keep] for k, v in data.pop("maps").items()}
    fields = {  # load_npz moved every map under "maps": the rest are the fields
        k: v[:keep] if isinstance(v, np.ndarray) and v.ndim and len(v) == n else v
        for k, v in data.items()
    }
    save_npz(npz, maps, **fields)


def _size(directory: Path) -> int:
    return sum(p.stat().st_size for p in directory.rglob("*") if p.is_file())
