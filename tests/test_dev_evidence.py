"""bench/matrix/dev_evidence.py: a sweep row's dev interval and floor from its cell's files."""

from __future__ import annotations

import json

import pytest

from bench.matrix.dev_evidence import dev_evidence
from bench.rundir.layout import DEV_EVAL_FILE, DEV_RUNGS_FILE, cell_file


def _write(tmp_path, key, name, lines):  # noqa: ANN001, ANN202
    path = cell_file(tmp_path, key, name)
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text("".join(json.dumps(x) + "\n" for x in lines))


def test_accuracy_interval_and_floor_from_the_dev_decode(tmp_path):
    examples = [{"correct": float(i % 4 != 0), "total": 1.0, "floor_chance": 0.25}
                for i in range(400)]  # fmt: skip
    _write(tmp_path, "k", DEV_EVAL_FILE, examples)
    row = {"key": "k", "status": "ok", "floor_metric": "answer_acc"}
    ev = dev_evidence(tmp_path, row, "dev_acc")
    lo, hi = ev["interval"]
    assert lo < 0.75 < hi and hi - lo < 0.1 and ev["floor"] == pytest.approx(0.25)
    assert dev_evidence(tmp_path, row, "dev_token_acc") is None  # not this task's floor metric
    assert dev_evidence(tmp_path, {**row, "key": "none"}, "dev_acc") is None  # no outcomes


def test_loss_interval_from_the_last_rung(tmp_path):
    rungs = [{"step": s, "i": i, "tokens": 10, "correct": 5, "loss": 10.0 * (s == 8) + i % 2}
             for s in (4, 8) for i in range(100)]  # fmt: skip
    _write(tmp_path, "k", DEV_RUNGS_FILE, rungs)
    ev = dev_evidence(tmp_path, {"key": "k", "status": "ok"}, "dev_loss")
    assert ev["interval"][0] < 1.05 < ev["interval"][1] and ev["floor"] is None


def test_bleu_interval_is_recomputed_from_sentences(tmp_path):
    refs = [f"the cat number {i} sat on the mat" for i in range(60)]
    hyps = [r if i % 2 else "a dog" for i, r in enumerate(refs)]
    _write(tmp_path, "k", DEV_EVAL_FILE, [{"src": "x", "ref": r, "hyp": h}
                                           for r, h in zip(refs, hyps, strict=True)])  # fmt: skip
    row = {"key": "k", "status": "ok", "dev_copy_source_bleu": 0.3}
    lo, hi = dev_evidence(tmp_path, row, "dev_bleu")["interval"]
    assert 0 < lo < hi < 100 and dev_evidence(tmp_path, row, "dev_bleu")["floor"] == 0.3
