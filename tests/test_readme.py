"""README.md's and docs/*.md's examples are checked against the parsers, so docs and code
cannot drift: every YAML matrix block parses and expands, every ``attnbench`` command parses
(the listings run), every other shell line names a make target, script or module that
exists, every relative link resolves, and the layout block names every package. README
stays a five-minute read (at most 200 lines)."""

from __future__ import annotations

import importlib.util
import re
import shlex
import subprocess
from pathlib import Path

import pytest
import typer

from bench.matrix.load import parse_matrix
from bench.matrix.strict_yaml import load
from cli import app

USAGE_ERROR = typer.BadParameter.__mro__[1]  # click's UsageError, as Typer (vendoring it) raises
ROOT = Path(__file__).resolve().parent.parent
README = ROOT / "README.md"
DOCS = (README, *sorted((ROOT / "docs").glob("*.md")))
BLOCK = re.compile(r"```(\w*)\n(.*?)```", re.S)
EXTERNAL = ("ray", "wandb")  # other programs' commands the docs show (cluster, W&B sync)
README_MAX_LINES = 200


def _ids(docs: tuple[Path, ...]) -> list[str]:
    return [str(d.relative_to(ROOT)) for d in docs]


def _blocks(lang: str, docs: tuple[Path, ...] = DOCS) -> list[str]:
    return [body for doc in docs for kind, body in BLOCK.findall(doc.read_text()) if kind == lang]


def _shell_lines(docs: tuple[Path, ...] = DOCS) -> list[list[str]]:
    """The words of every command line in the bash blocks (continuations joined)."""
    lines = []
    for body in _blocks("bash", docs):
        for line in body.replace("\\\n", " ").splitlines():
            if words := shlex.split(line, comments=True):
                lines.append(words)
    return lines


def _attnbench(words: list[str]) -> list[str] | None:
    """The arguments of an `attnbench` command line (also behind srun), else None."""
    for i, word in enumerate(words):
        if word.endswith("attnbench") and not word.endswith(".sh"):
            return words[i + 1 :]
    return None


def _commands() -> list[str]:
    """Every `attnbench ...` line of the README's and docs' bash blocks."""
    return [shlex.join(args) for w in _shell_lines() if (args := _attnbench(w)) is not None]


def test_docs_are_readme_and_every_page_under_docs():
    assert {"README.md", "docs/matrices.md", "docs/claims.md", "docs/layout.md"} <= set(_ids(DOCS))


@pytest.mark.parametrize("doc", DOCS, ids=_ids(DOCS))
def test_yaml_matrix_blocks_parse(doc):
    for body in _blocks("yaml", (doc,)):
        matrix = parse_matrix(load(body), doc.name)
        assert matrix.cells("cpu")


def test_the_docs_show_a_matrix():
    assert _blocks("yaml"), "some page shows a matrix YAML block"


def _parse(args: list[str]) -> None:
    """Parse ``args`` as the CLI would (options, choices, types), without running anything."""
    command = typer.main.get_command(app)
    ctx = command.make_context("attnbench", list(args))
    while hasattr(command, "resolve_command"):  # a group: descend into the subcommand
        rest = [*getattr(ctx, "_protected_args", getattr(ctx, "protected_args", [])), *ctx.args]
        name, command, rest = command.resolve_command(ctx, rest)
        ctx = command.make_context(name, rest, parent=ctx)


COMMANDS = _commands()


def test_docs_have_command_examples():
    assert len(COMMANDS) >= 15
    assert any(c.startswith("matrix run") for c in COMMANDS)


@pytest.mark.parametrize("command", COMMANDS)
def test_docs_command_parses(command):
    _parse(shlex.split(command))


@pytest.mark.parametrize("command", sorted({c for c in COMMANDS if c in ("models", "tasks")}))
def test_docs_listing_commands_run(command):
    from typer.testing import CliRunner

    result = CliRunner().invoke(app, [command])
    assert result.exit_code == 0, result.output


def _make_targets() -> set[str]:
    text = (ROOT / "Makefile").read_text()
    return {m.group(1) for m in re.finditer(r"^([\w.-]+):", text, re.M)}


def _check_shell_line(words: list[str]) -> None:
    """An AssertionError naming what a non-attnbench line refers to that does not exist."""
    head = words[0]
    if head == "make":
        missing = set(words[1:]) - _make_targets()
        assert not missing, f"make targets not in the Makefile: {missing}"
    elif head == "bash":
        script = ROOT / words[1]
        assert script.is_file(), f"no script {words[1]}"
        subprocess.run(["bash", "-n", str(script)], check=True)
    elif Path(head).name.startswith("python") and words[1] == "-m":
        assert importlib.util.find_spec(words[2]), f"no module {words[2]}"
    elif Path(head).name.startswith("python"):
        script = ROOT / words[1]
        assert script.is_file() and script.suffix == ".py", f"no script {words[1]}"
        compile(script.read_text(encoding="utf-8"), str(script), "exec")
    else:
        assert head in EXTERNAL, f"a docs command of unknown kind: {shlex.join(words)}"


@pytest.mark.parametrize(
    "words", [w for w in _shell_lines() if _attnbench(w) is None], ids=shlex.join
)
def test_docs_other_shell_lines_refer_to_what_exists(words):
    _check_shell_line(words)


def test_shell_line_check_rejects_drift():
    for words in (["make", "no-such-target"], ["bash", "perf/none.sh"]):
        with pytest.raises(AssertionError):
            _check_shell_line(words)
    with pytest.raises(AssertionError, match="no module"):
        _check_shell_line(["python", "-m", "bench.perf_gpu"])  # moved to perf.gpu
    with pytest.raises(AssertionError, match="no script"):
        _check_shell_line(["python", "bench/calibrate_duration.py"])  # moved to perf/
    with pytest.raises(AssertionError, match="unknown kind"):
        _check_shell_line(["rm", "-rf", "runs"])


def test_docs_command_parser_rejects_drift():
    with pytest.raises(USAGE_ERROR):
        _parse(["matrix", "run", "quick", "--no-such-option"])
    with pytest.raises(USAGE_ERROR):
        _parse(["run", "transformer", "copy", "--device", "tpu"])


# --- links ---------------------------------------------------------------------------------

LINK = re.compile(r"!?\[[^\]]*\]\(([^)\s]+)\)")


def _prose(text: str) -> str:
    """``text`` without fenced blocks and inline code, where link syntax is only an example."""
    return re.sub(r"`[^`]*`", "", BLOCK.sub("", text))


def _slug(heading: str) -> str:
    """GitHub's anchor for a heading: lower case, punctuation dropped, spaces to hyphens."""
    text = re.sub(r"[^\w\- ]", "", heading.strip().lower())
    return text.replace(" ", "-")


def _anchors(doc: Path) -> set[str]:
    text = BLOCK.sub("", doc.read_text(encoding="utf-8"))
    return {_slug(m.group(1)) for m in re.finditer(r"^#{1,6}\s+(.+?)\s*#*$", text, re.M)}


def _broken_links(doc: Path) -> list[str]:
    """Relative links (and #anchors into Markdown files) of ``doc`` that point nowhere."""
    broken = []
    for target in LINK.findall(_prose(doc.read_text(encoding="utf-8"))):
        if re.match(r"[a-z][a-z0-9+.-]*:", target):  # https:, mailto: ...
            continue
        path, _, anchor = target.partition("#")
        dest = (doc.parent / path).resolve() if path else doc
        if not dest.exists():
            broken.append(target)
        elif anchor and dest.suffix == ".md" and anchor not in _anchors(dest):
            broken.append(target)
    return broken


@pytest.mark.parametrize("doc", DOCS, ids=_ids(DOCS))
def test_every_relative_link_resolves(doc):
    assert _broken_links(doc) == []


def test_link_check_rejects_drift(tmp_path):
    (tmp_path / "page.md").write_text("# A page\n\n## Some `code` (here)\n")
    doc = tmp_path / "doc.md"
    doc.write_text(
        "[ok](page.md) [ok](page.md#some-code-here) [ok](#title) ![fig](none.png)\n"
        "[gone](docs/none.md) [bad anchor](page.md#nowhere) `[code](skipped.md)`\n"
        "[web](https://example.org/x.md)\n\n# Title\n"
    )
    assert _broken_links(doc) == ["none.png", "docs/none.md", "page.md#nowhere"]


# --- README: a five-minute read ------------------------------------------------------------


def test_readme_is_short():
    n = len(README.read_text(encoding="utf-8").splitlines())
    assert n <= README_MAX_LINES, f"README.md has {n} lines; move detail to docs/"


def test_readme_opens_with_the_two_commands_and_shows_a_figure():
    text = README.read_text(encoding="utf-8")
    (first, *_) = _blocks("bash", (README,))
    assert [w[:2] for w in _shell_lines((README,))[:2]] == [["make", "bench"], ["make", "test"]]
    assert first in "\n".join(text.splitlines()[:40]), "the two commands come near the top"
    figures = re.findall(r"!\[[^\]]*\]\((results/[^)]+\.png)\)", text)
    assert figures, "README shows a figure of a committed reference report"


def test_readme_links_every_docs_page():
    linked = {Path(t.partition("#")[0]) for t in LINK.findall(_prose(README.read_text()))}
    pages = {d.relative_to(ROOT) for d in DOCS if d != README}
    assert pages <= linked, f"not linked from README.md: {sorted(map(str, pages - linked))}"


# --- the layout block ----------------------------------------------------------------------


def _layout_block() -> str:
    (block,) = [b for lang in ("", "text") for b in _blocks(lang) if b.startswith("cli.py")]
    return block


def _layout_paths(block: str) -> list[str]:
    """Paths a layout block names: the first word of each line, indented by two spaces per
    level inside the folder above it (``bench/`` then ``  cell/`` names ``bench/cell/``)."""
    paths: list[str] = []
    parents: list[str] = []  # the folder open at each depth
    for line in block.splitlines():
        if not line.strip():
            continue
        depth = (len(line) - len(line.lstrip(" "))) // 2
        name = line.split()[0]
        parents = parents[:depth]
        path = "".join(parents) + name
        paths.append(path)
        if name.endswith("/"):
            parents.append(name)
    return paths


def _code_packages() -> set[str]:
    """Every folder holding Python code, as ``pkg/`` or ``pkg/sub/`` (tests/ as one)."""
    found = set()
    for py in ROOT.rglob("*.py"):
        parts = py.relative_to(ROOT).parts[:-1]
        if not parts or parts[0].startswith(".") or "__pycache__" in parts:
            continue
        parts = parts[:1] if parts[0] == "tests" else parts
        found.add("/".join(parts) + "/")
    return found


def test_layout_paths_parse_nesting():
    block = "cli.py  x\nbench/  y\n  cell/  z\n  tracking.py  w\nmodels/  v\n"
    assert _layout_paths(block) == [
        "cli.py", "bench/", "bench/cell/", "bench/tracking.py", "models/"
    ]  # fmt: skip


def test_layout_names_every_code_package():
    named = set(_layout_paths(_layout_block()))
    assert {"cli.py", "bench/", "bench/tracking.py", "reports/claims/", "results/"} <= named
    missing = _code_packages() - named
    assert not missing, f"not in the docs' layout: {sorted(missing)}"


def test_layout_names_only_what_exists():
    named = _layout_paths(_layout_block())
    assert [n for n in named if not (ROOT / n).exists()] == []
