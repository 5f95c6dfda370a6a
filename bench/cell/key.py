"""The cell key: a hash of a cell's canonical config and the benchmark version, where the
version hashes exactly the code that decides a cell's result (``CODE_DIRS``). Orchestration
(bench/matrix, bench/rundir, bench/tracking, ui, perf, reports) is not in it, so editing a
runner or a report never re-keys a cell. Standard library only."""

from __future__ import annotations

import hashlib
import json
from functools import cache
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[2]
CODE_DIRS = ("bench/cell", "bench/attention", "models", "tasks")  # what decides a result


def cell_key(spec: dict[str, Any], version: str | None = None) -> str:
    """Stable key of a cell: hash of its canonical config and the benchmark version
    (``version`` recomputes the key a row got under another version, see bench.rundir.rekey)."""
    canon = json.dumps(spec, sort_keys=True, default=str)
    return hashlib.sha256(f"{canon}|{version or bench_version()}".encode()).hexdigest()[:16]


@cache
def bench_version() -> str:
    """Hash of the code that produces results (the ``CODE_DIRS`` sources)."""
    h = hashlib.sha256()
    for d in CODE_DIRS:
        for p in sorted((ROOT / d).rglob("*.py")):
            h.update(str(p.relative_to(ROOT)).encode())
            h.update(p.read_bytes())
    return h.hexdigest()[:12]
