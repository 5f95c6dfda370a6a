"""catalog.py: one place for model and task facts, matching the registries, read by reports/,
and giving a plugin model an order and a colour without editing reports/."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import catalog
from bench.attention.alignment import GOLD_TASKS
from models import CONTROLS, MODELS
from reports.build import write_report
from reports.document import Table
from reports.render.plots import color
from reports.rows import primary_metric, sort_models
from tasks import TASKS
from tests.fixtures.report_rows import row, write_run

ROOT = Path(__file__).resolve().parent.parent
PLUGIN = "gru_plugin"  # a model the catalog does not list, as ATTNBENCH_PLUGINS would add


def test_the_catalog_names_exactly_the_registered_models_and_tasks():
    assert set(catalog.MODEL_FACTS) == set(MODELS)
    assert set(catalog.TASK_FACTS) == set(TASKS)
    assert CONTROLS is catalog.CONTROL_MODELS and GOLD_TASKS is catalog.GOLD_TASKS  # read there
    assert catalog.SUBJECT_MODEL == "transformer" and catalog.BASELINES == ("lstm", "convs2s")
    orders = [f.order for f in catalog.MODEL_FACTS.values()]
    colours = [f.colour for f in catalog.MODEL_FACTS.values()]
    assert len(set(orders)) == len(orders) and len(set(colours)) == len(colours)


def test_the_catalog_imports_without_torch():
    code = "import sys, catalog; assert 'torch' not in sys.modules and 'pandas' not in sys.modules"
    subprocess.run([sys.executable, "-c", code], cwd=ROOT, check=True)


def test_reports_read_the_catalog():
    assert sort_models(["convs2s", "lstm_uni", "transformer", "lstm"]) == [
        "transformer", "lstm", "lstm_uni", "convs2s",
    ]  # fmt: skip
    assert color("lstm") == catalog.MODEL_FACTS["lstm"].colour
    assert [primary_metric(t) for t in ("translate", "match", "copy")] == [
        "bleu", "answer_acc", "token_acc",
    ]  # fmt: skip


def test_a_plugin_model_gets_an_order_and_a_colour_in_a_report(tmp_path):
    facts = catalog.model_facts(PLUGIN)
    assert facts == catalog.model_facts(PLUGIN)  # stable
    assert facts.order > max(f.order for f in catalog.MODEL_FACTS.values())
    assert facts.colour in catalog.PLUGIN_COLOURS and color(PLUGIN) == facts.colour
    rows = [
        row(m, "copy", seed, length=n, steps=13, mode="speed")
        for m in (PLUGIN, "lstm", "transformer")
        for n in (32, 64)
        for seed in (0, 1)
    ]
    written = write_report(write_run(tmp_path / "run", rows, attention=False))
    tables = [b for s in written.sections for b in s.blocks if isinstance(b, Table)]
    sizes = next(t for t in tables if t.name == "sizes")
    assert list(dict.fromkeys(sizes.frame["model"])) == ["transformer", "lstm", PLUGIN]
