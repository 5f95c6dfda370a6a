"""The shape of the code: import direction, no import circles, what the cell key hashes."""

from __future__ import annotations

import ast
import json
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

import bench.cell.key
from bench.cell.key import bench_version, cell_key

ROOT = Path(__file__).resolve().parents[1]
PACKAGES = ("bench", "perf", "ui", "models", "tasks", "reports")
FIRST_PARTY = (*PACKAGES, "cli", "registry", "catalog", "checks")


def module_name(path: Path) -> str:
    parts = list(path.relative_to(ROOT).with_suffix("").parts)
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def all_modules() -> dict[str, Path]:
    mods = {module_name(p): p for pkg in PACKAGES for p in sorted((ROOT / pkg).rglob("*.py"))}
    mods["cli"] = ROOT / "cli.py"
    mods["registry"] = ROOT / "registry.py"
    mods["catalog"] = ROOT / "catalog.py"
    mods["checks"] = ROOT / "checks.py"
    return mods


def imports_of(path: Path, name: str, known: set[str]) -> set[str]:
    """First-party modules ``path`` imports anywhere (module level or inside functions)."""
    package = name if path.name == "__init__.py" else name.rpartition(".")[0]
    out = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Import):
            targets = [a.name for a in node.names]
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:  # relative import
                base = ".".join(package.split(".")[: len(package.split(".")) - node.level + 1])
                base = f"{base}.{node.module}" if node.module else base
            # `from pkg import sub` imports the submodule pkg.sub when there is one
            subs = [f"{base}.{a.name}" for a in node.names]
            targets = [sub if sub in known else base for sub in subs]
        else:
            continue
        out |= {t for t in targets if t.split(".")[0] in FIRST_PARTY and t in known}
    return out - {name}


def import_graph() -> dict[str, set[str]]:
    mods = all_modules()
    return {name: imports_of(path, name, set(mods)) for name, path in mods.items()}


def find_cycle(graph: dict[str, set[str]], nodes: set[str]) -> list[str] | None:
    """A circle of imports through ``nodes`` (depth-first search), or None."""
    state: dict[str, int] = {}  # 1: on the stack, 2: done
    stack: list[str] = []

    def visit(n: str) -> list[str] | None:
        state[n] = 1
        stack.append(n)
        for m in sorted(graph.get(n, ())):
            if m not in nodes:
                continue
            if state.get(m) == 1:
                return stack[stack.index(m) :] + [m]
            if m not in state and (found := visit(m)):
                return found
        stack.pop()
        state[n] = 2
        return None

    for n in sorted(nodes):
        if n not in state and (found := visit(n)):
            return found
    return None


def test_the_import_walk_sees_a_circle():
    graph = {"perf.a": {"perf.b"}, "perf.b": {"perf.a"}, "perf.c": set()}
    assert find_cycle(graph, set(graph)) == ["perf.a", "perf.b", "perf.a"]
    assert find_cycle({"a": {"b"}, "b": set()}, {"a", "b"}) is None


def test_the_import_walk_sees_function_level_imports():
    graph = import_graph()
    assert "perf.harness" in graph["perf.run"]  # the section table
    assert "bench.cell.module" in graph["bench.cell.execute"]  # imported inside _train_and_evaluate


def test_no_import_circle_anywhere():
    """No circle in the whole project, reports/ included, imports inside functions too."""
    graph = import_graph()
    assert {"reports.rows", "reports.attention_files", "cli"} <= set(graph)
    assert find_cycle(graph, set(graph)) is None


@pytest.mark.parametrize(
    ("package", "forbidden"),
    [
        ("bench", ("perf", "ui", "reports", "cli")),
        ("models", ("bench", "perf", "reports", "tasks", "cli")),
        ("tasks", ("bench", "perf", "reports", "models", "cli")),
        ("reports", ("perf", "ui", "cli")),
        ("perf", ("cli", "ui")),
        ("ui", ("cli", "perf")),
    ],
)
def test_imports_point_down(package, forbidden):
    """cli -> reports / perf -> bench -> models / tasks: nothing imports upwards."""
    bad = sorted(
        f"{name} imports {dep}"
        for name, deps in import_graph().items()
        if name.split(".")[0] == package
        for dep in deps
        if dep.split(".")[0] in forbidden
    )
    assert bad == []


def test_spec_and_matrix_import_no_lightning():
    code = (
        "import sys, bench.cell.spec, bench.matrix.load, bench.rundir.rows\n"
        "print(sorted(m for m in sys.modules if m.split('.')[0] in "
        "('lightning', 'pytorch_lightning', 'lightning_fabric')))"
    )
    done = subprocess.run(
        [sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True, check=True
    )
    assert done.stdout.strip() == "[]"


def test_matrix_validate_and_status_load_no_lightning(tmp_path):
    """The commands that only look at cells never import the training stack."""
    matrix = tmp_path / "m.yaml"
    matrix.write_text(
        "name: m\nmodels: [transformer, lstm]\nseeds: [0]\n"
        "tasks:\n  - name: copy\n    task: {length: [8, 16]}\n"
    )
    out = tmp_path / "out"
    out.mkdir()
    meta = {"ref": str(matrix), "device": "cpu", "name": "m", "keys": []}
    (out / "matrix.json").write_text(json.dumps(meta))
    code = (
        "import sys\n"
        "from typer.testing import CliRunner\n"
        "from cli import app\n"
        f"validate = ['matrix', 'validate', {str(matrix)!r}]\n"
        f"status = ['matrix', 'status', {str(out)!r}]\n"
        "for args in (validate, status):\n"
        "    result = CliRunner().invoke(app, args)\n"
        "    assert result.exit_code == 0, result.output\n"
        "print(sorted(m for m in sys.modules if m.split('.')[0] in "
        "('lightning', 'pytorch_lightning', 'lightning_fabric')))"
    )
    done = subprocess.run(
        [sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True, timeout=300
    )
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip().splitlines()[-1] == "[]"


def test_results_imports_no_torch():
    code = "import sys, bench.rundir.rows; print('torch' in sys.modules)"
    done = subprocess.run(
        [sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True, check=True
    )
    assert done.stdout.strip() == "False"


def test_bench_asks_no_model_by_name():
    """What a model knows lives on its config: bench/ never branches on a model's name."""
    pattern = re.compile(r"if .*model == \"")
    hits = [
        f"{p.relative_to(ROOT)}:{n}"
        for p in sorted((ROOT / "bench").rglob("*.py"))
        for n, line in enumerate(p.read_text(encoding="utf-8").splitlines(), 1)
        if pattern.search(line)
    ]
    assert hits == []


def test_production_code_never_patches_itself():
    hits = [
        str(p.relative_to(ROOT))
        for p in all_modules().values()
        if re.search(r"unittest\.mock|from unittest import mock", p.read_text(encoding="utf-8"))
    ]
    assert hits == []


@pytest.fixture
def code_copy(tmp_path, monkeypatch):
    """A copy of the code tree whose benchmark version ``bench_version`` computes."""
    for d in (*PACKAGES,):
        shutil.copytree(ROOT / d, tmp_path / d, ignore=shutil.ignore_patterns("__pycache__"))
    monkeypatch.setattr(bench.cell.key, "ROOT", tmp_path)
    bench_version.cache_clear()
    yield tmp_path
    monkeypatch.undo()
    bench_version.cache_clear()


def _key_after(root: Path, rel: str) -> str:
    path = root / rel
    path.write_text(path.read_text(encoding="utf-8") + "\n# an edit\n", encoding="utf-8")
    bench_version.cache_clear()
    return cell_key({"model": "transformer", "task": "copy", "seed": 0})


def test_editing_orchestration_keeps_the_cell_key(code_copy):
    """Only what decides a result is in the key: not the matrix, the run directory, the
    tracker, perf, ui or reports."""
    before = cell_key({"model": "transformer", "task": "copy", "seed": 0})
    orchestration = [
        *(str(p.relative_to(ROOT)) for p in sorted((ROOT / "bench").glob("[mr]*/*.py"))),
        "bench/tracking.py", "perf/run.py", "perf/harness.py", "ui/display.py", "reports/build.py",
    ]  # fmt: skip
    assert "bench/matrix/run.py" in orchestration and "bench/rundir/layout.py" in orchestration
    for rel in orchestration:
        assert _key_after(code_copy, rel) == before, rel


@pytest.mark.parametrize(
    "rel", ["bench/cell/execute.py", "bench/attention/record.py", "models/lstm.py", "tasks/copy.py"]
)
def test_editing_the_cell_pipeline_changes_the_cell_key(code_copy, rel):
    before = cell_key({"model": "transformer", "task": "copy", "seed": 0})
    assert _key_after(code_copy, rel) != before


def test_make_test_runs_the_slow_tests_too():
    """pytest's addopts skip `slow` tests; `make test` (and so CI) overrides it with -m ''."""
    makefile = (ROOT / "Makefile").read_text(encoding="utf-8")
    recipe = makefile.split("\ntest:", 1)[1].split("\n\n", 1)[0]
    (line,) = [ln for ln in recipe.splitlines() if "pytest" in ln]
    assert "-m ''" in line
    assert "slow:" in (ROOT / "pyproject.toml").read_text(encoding="utf-8")


CODE_PATTERNS = ["bench*", "models*", "tasks*", "reports*", "perf*", "ui*"]


def test_packages_are_code_only():
    """Every discovered package holds Python; run data and YAML live outside them."""
    import setuptools

    packages = setuptools.find_namespace_packages(where=str(ROOT), include=CODE_PATTERNS)
    no_code = [p for p in packages if not list((ROOT / p.replace(".", "/")).glob("*.py"))]
    assert no_code == []


def test_no_run_data_under_a_package():
    """Committed runs (a results.jsonl) live under results/, never inside a code package."""
    found = [p for pkg in PACKAGES for p in (ROOT / pkg).rglob("results.jsonl")]
    hits = [str(p.relative_to(ROOT)) for p in found]
    assert hits == []
    assert (ROOT / "results" / "claims-cpu" / "results.jsonl").is_file()


@pytest.mark.parametrize(
    ("package", "forbidden"),
    [
        ("bench.cell", ("bench.matrix",)),
        ("bench.attention", ("bench.matrix",)),
        ("bench.rundir", ("bench.cell", "bench.attention", "bench.matrix", "bench.tracking")),
        ("bench.tracking", ("bench.matrix",)),
        ("registry", ("bench", "models", "tasks")),
        ("catalog", ("bench", "models", "tasks", "reports", "ui", "perf", "registry", "cli")),
        ("checks", ("bench", "models", "tasks", "reports", "ui", "perf", "registry", "cli")),
    ],
)
def test_inside_bench_imports_point_down(package, forbidden):
    """bench.matrix -> bench.cell -> bench.rundir: a cell never reaches up into the matrix,
    and the run directory is the bottom (standard library only)."""
    bad = sorted(
        f"{name} imports {dep}"
        for name, deps in import_graph().items()
        if name == package or name.startswith(package + ".")
        for dep in deps
        if any(dep == f or dep.startswith(f + ".") for f in forbidden)
    )
    assert bad == []


def _inside(name: str, package: str) -> bool:
    return name == package or name.startswith(package + ".")


REPORT_FILES = ("reports.build", "reports.tables")  # the report as files and W&B tables
PAGES = ("reports.render.markdown", "reports.render.html_page")


@pytest.mark.parametrize(
    ("package", "forbidden"),
    [
        ("reports.render", ("reports.sections", "reports.claims", *REPORT_FILES)),
        ("reports.claims", ("reports.sections", "reports.render", *REPORT_FILES)),
        ("reports.sections", (*PAGES, *REPORT_FILES)),
        ("reports.rows", ("reports.sections", "reports.render")),
        ("reports.document", ("reports.sections", "reports.render")),
    ],
)
def test_inside_reports_imports_point_down(package, forbidden):
    """rows -> sections -> render (markdown, html): render draws what it is given and never
    reaches into sections; a verdict needs no report; sections use render only for figures."""
    bad = sorted(
        f"{name} imports {dep}"
        for name, deps in import_graph().items()
        if _inside(name, package)
        for dep in deps
        if any(_inside(dep, f) for f in forbidden)
    )
    assert bad == []


def test_report_sections_do_not_import_each_other():
    """One module per section; only reports/sections/__init__.py puts them in order."""
    graph = import_graph()
    sections = {n for n in graph if n.startswith("reports.sections.")}
    assert {"reports.sections.tuning", "reports.sections.counts"} <= sections
    inside = sections | {"reports.sections"}
    bad = sorted(f"{n} imports {d}" for n in sections for d in graph[n] & inside)
    assert bad == []


def test_no_two_report_modules_share_a_name():
    """One name per job: reports/x.py and reports/claims/x.py would read as one module."""
    names = [p.name for p in (ROOT / "reports").rglob("*.py") if p.name != "__init__.py"]
    assert sorted(n for n in set(names) if names.count(n) > 1) == []


def test_every_report_module_states_its_job():
    missing = [
        str(p.relative_to(ROOT))
        for p in sorted((ROOT / "reports").rglob("*.py"))
        if not ast.get_docstring(ast.parse(p.read_text(encoding="utf-8")))
    ]
    assert missing == []


def test_the_cli_only_parses_calls_and_prints():
    """cli.py calls MatrixRun; the launchers, tuning and the run directory's files are not its
    business (it only catches the lock's LockedError), and it stays short."""
    cli = ROOT / "cli.py"
    deps = import_graph()["cli"]
    orchestration = {"bench.matrix.local", "bench.matrix.ray", "bench.matrix.tuning",
                     "bench.matrix.load", "bench.rundir.rows", "bench.rundir.atomic"}  # fmt: skip
    assert deps & orchestration == set()
    assert "bench.matrix.run" in deps
    assert len(cli.read_text(encoding="utf-8").splitlines()) < 450


# Where a model or task fact may still be spelled outside catalog.py, and why.
FACT_EXCEPTIONS = {
    "bench/matrix/duration.py": "per-model constants fitted to measured rows "
    "(perf/calibrate_duration.py), not facts of the model",
}


def _spelled_facts(path: Path) -> list[str]:
    """Literals in ``path`` that list ≥ 3 model or ≥ 3 task names, or map ≥ 2 model names
    to numbers or colours: an order, a role list, a rank or a colour table."""
    from catalog import MODEL_FACTS, TASK_FACTS

    where = path.relative_to(ROOT) if path.is_relative_to(ROOT) else path.name
    out = []
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Tuple | ast.List | ast.Set):
            names = [e.value for e in node.elts if isinstance(e, ast.Constant)]
            models, tasks = (sum(n in facts for n in names) for facts in (MODEL_FACTS, TASK_FACTS))
            if models >= 3 or tasks >= 3:
                out.append(f"{where}:{node.lineno} {names}")
        elif isinstance(node, ast.Dict):
            vals = [
                v
                for k, v in zip(node.keys, node.values, strict=True)
                if isinstance(k, ast.Constant) and k.value in MODEL_FACTS
            ]
            if len(vals) >= 2 and all(
                isinstance(v, ast.Constant)
                and (isinstance(v.value, int | float) or str(v.value).startswith("#"))
                for v in vals
            ):
                out.append(f"{where}:{node.lineno} a table keyed by models")
    return out


def test_model_and_task_facts_live_in_the_catalog(tmp_path):
    """An order, a role list, a rank or colour table of models or tasks is catalog.py's."""
    bad = [
        hit
        for name, path in all_modules().items()
        if name != "catalog" and str(path.relative_to(ROOT)) not in FACT_EXCEPTIONS
        for hit in _spelled_facts(path)
    ]
    assert bad == []
    planted = tmp_path / "x.py"  # the check sees an order and a colour table
    planted.write_text(
        'ORDER = ("transformer", "lstm", "convs2s")\nC = {"lstm": "#f00", "convs2s": "#0f0"}\n'
    )
    assert len(_spelled_facts(planted)) == 2


# A value spelled against a fixed numeric bound in an error message ("must be >= 1", "must be
# in [0, 1)"): checks.check_values says it. Bounds relative to another field (``min_length``
# in [0, length], ``beam_size`` <= vocab_size) and call arguments (decoding) stay inline.
INLINE_BOUND = re.compile(r"must be (?:>=|>|<=|<|in [\[(])\s*-?\d[^=]*?(?:\)|\]|,|\s|\{|$)")
VALUE_CHECKED = ("models", "tasks", "bench/cell/config.py")


def test_config_task_and_model_values_use_the_one_check_helper():
    offenders = []
    for where in VALUE_CHECKED:
        path = ROOT / where
        for p in [path] if path.is_file() else sorted(path.rglob("*.py")):
            if p.name == "decoding.py":  # call arguments, not config values
                continue
            for n, line in enumerate(p.read_text(encoding="utf-8").splitlines(), 1):
                if "raise" in line or "ValueError(" in line or line.strip().startswith('f"'):
                    rest = line.split("must be", 1)[-1]
                    if INLINE_BOUND.search(line) and not re.search(r"\w=", rest):
                        offenders.append(f"{p.relative_to(ROOT)}:{n}: {line.strip()}")
    assert offenders == [], "use checks.check_values:\n" + "\n".join(offenders)
