"""bench/results.py: the one list of row statuses, checked against the code and the README."""

from __future__ import annotations

import re
from pathlib import Path

from bench.results import EVAL_FILE, RESULTS_FILE, STATUSES

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


def test_file_names_are_declared_once():
    hits = [
        str(p.relative_to(ROOT))
        for d in ("bench", "reports", "perf", "ui")
        for p in sorted((ROOT / d).rglob("*.py"))
        if p.name != "results.py"
        for name in (RESULTS_FILE, EVAL_FILE)
        if re.search(rf"= \"{re.escape(name)}\"", p.read_text(encoding="utf-8"))
    ]
    assert hits == []
