"""bench/rundir/rows.py: the one list of row statuses, checked against the code and the README."""

from __future__ import annotations

import re
from pathlib import Path

from bench.rundir.layout import EVAL_FILE, RESULTS_FILE
from bench.rundir.rows import STATUSES

ROOT = Path(__file__).resolve().parent.parent
STATUS = re.compile(r"failed:[a-z]+")


def test_every_status_the_code_writes_is_listed():
    written = {
        m.group(0)
        for p in sorted((ROOT / "bench").rglob("*.py"))
        for m in STATUS.finditer(p.read_text(encoding="utf-8"))
    }
    assert written and written <= set(STATUSES), written - set(STATUSES)


def test_the_readme_names_exactly_the_statuses():
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    named = set(STATUS.findall(readme)) | ({"ok"} if "`ok`" in readme else set())
    assert named == set(STATUSES)


CODE = ("bench", "reports", "perf", "ui")
LAYOUT_NAMES = (
    "results.jsonl",
    "eval.jsonl",
    "matrix.json",
    "runner.lock",
    "job.json",
    "attention.npz",
    "intervention.json",
    "cells",
)


def test_run_directory_paths_are_spelled_once():
    """bench/rundir/layout.py is the only module that spells the run directory's names (a
    dict key such as ``{"cells": n}`` or ``row["cells"]`` is not a path)."""
    assert RESULTS_FILE in LAYOUT_NAMES and EVAL_FILE in LAYOUT_NAMES
    hits = [
        f"{p.relative_to(ROOT)}: {name}"
        for p in [ROOT / "cli.py", *(q for d in CODE for q in sorted((ROOT / d).rglob("*.py")))]
        if p.name != "layout.py"
        for name in LAYOUT_NAMES
        if re.search(rf"(?<!\[)[\"']{re.escape(name)}[\"'](?![:\]])", p.read_text(encoding="utf-8"))
    ]
    assert hits == []
