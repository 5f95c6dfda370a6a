"""Re-key a run directory after a change that moved code but computes nothing differently.

The cell key hashes a cell's config with the benchmark version (bench.cell.key), so a pure
refactor of bench/cell, models/ or tasks/ gives every cell a new key: ``matrix status``
would call the directory's cells stale and ``matrix run`` would run them again. This
rewrites the keys of the rows made under ``from_version``, after checking that each old key
is exactly what that version gives the row's config (so nothing else is re-keyed). Sweep
rows go first: a tuned seed cell's config names its sweep's keys. Each rewritten row keeps
its ``bench_version`` (the code that produced it) and gains ``rekeyed``.

    python -m bench.matrix.rekey DIR FROM_VERSION

Only for changes that move code: a changed result needs a new run, not a new key.
"""

from __future__ import annotations

import copy
import json
import sys
from pathlib import Path
from typing import Any

from bench.cell.key import bench_version, cell_key
from bench.rundir.atomic import atomic_write_text
from bench.rundir.layout import cell_dir, read_matrix_meta, results_path, write_matrix_meta
from bench.rundir.rows import read_rows

SPEC_FIELDS = ("model", "task", "seed", "device", "equal_params", "mode", "config")


def spec_of(row: dict[str, Any]) -> dict[str, Any]:
    """The ``CellSpec.to_dict()`` a row was made from."""
    spec = {k: row.get(k) for k in SPEC_FIELDS}
    spec.update({k: row[k] for k in ("sweep", "tuned") if row.get(k) is not None})
    return spec


def version_of(row: dict[str, Any]) -> str | None:
    """The code version a row's key belongs to: the last re-key's, else the run's own."""
    return (row.get("rekeyed") or {}).get("to_version", row.get("bench_version"))


def rekey(directory: Path, from_version: str) -> dict[str, str]:
    """Give the rows of ``from_version`` their keys under today's code; return old -> new."""
    directory = Path(directory)
    rows = read_rows(results_path(directory))
    to_version = bench_version()
    mapping: dict[str, str] = {}
    order = sorted(range(len(rows)), key=lambda i: rows[i].get("tuned") is not None)
    for i in order:  # sweep and plain cells first, tuned seed cells after
        row = rows[i]
        if version_of(row) != from_version:
            continue  # made (or already re-keyed) under another version
        spec = spec_of(row)
        if cell_key(spec, from_version) != row["key"]:
            raise ValueError(
                f"{results_path(directory)}: row {row['key']} does not hash to its key under "
                f"{from_version}: not re-keyed (was it edited?)"
            )
        new_spec = copy.deepcopy(spec)
        for point in (new_spec.get("tuned") or {}).get("dev_metric", []):
            point["key"] = mapping.get(point.get("key"), point.get("key"))
        new = cell_key(new_spec, to_version)
        mapping[row["key"]] = new
        rows[i] = {
            **row, **new_spec, "key": new,
            "rekeyed": {"from_key": row["key"], "from_version": from_version,
                        "to_version": to_version},
        }  # fmt: skip
    if not mapping:
        return mapping
    for old, new in mapping.items():
        if cell_dir(directory, old).is_dir() and old != new:
            cell_dir(directory, old).rename(cell_dir(directory, new))
    text = "".join(json.dumps(r, sort_keys=True, default=str) + "\n" for r in rows)
    atomic_write_text(results_path(directory), text)
    meta = read_matrix_meta(directory)
    if meta is not None:
        write_matrix_meta(directory, {**meta, "keys": [mapping.get(k, k) for k in meta["keys"]]})
    return mapping


def main(argv: list[str]) -> int:
    if len(argv) != 2:
        print(__doc__.strip().split("\n\n")[2].strip(), file=sys.stderr)
        return 2
    mapping = rekey(Path(argv[0]), argv[1])
    print(f"{argv[0]}: {len(mapping)} rows re-keyed from {argv[1]} to {bench_version()}")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
