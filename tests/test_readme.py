"""The README's examples are checked against the parsers, so docs and code cannot drift:
every YAML matrix block parses and expands, every ``attnbench`` command parses (the listings
run), every other shell line names a make target, script or module that exists, and the
layout block names every package."""

from __future__ import annotations

import importlib.util
import re
import shlex
import subprocess
from pathlib import Path

import pytest
import typer

from bench.matrix import parse_matrix
from bench.strict_yaml import load
from cli import app

USAGE_ERROR = typer.BadParameter.__mro__[1]  # click's UsageError, as Typer (vendoring it) raises
ROOT = Path(__file__).resolve().parent.parent
README = ROOT / "README.md"
DOCS = (README, ROOT / "docs" / "performance.md")
BLOCK = re.compile(r"```(\w*)\n(.*?)```", re.S)
EXTERNAL = ("ray", "wandb")  # other programs' commands the README shows (cluster, W&B sync)


def _blocks(lang: str, docs: tuple[Path, ...] = (README,)) -> list[str]:
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


def test_yaml_readme_matrix_blocks_parse():
    blocks = _blocks("yaml")
    assert blocks, "the README shows a matrix"
    for body in blocks:
        matrix = parse_matrix(load(body), "README.md")
        assert matrix.cells("cpu")


def _parse(args: list[str]) -> None:
    """Parse ``args`` as the CLI would (options, choices, types), without running anything."""
    command = typer.main.get_command(app)
    ctx = command.make_context("attnbench", list(args))
    while hasattr(command, "resolve_command"):  # a group: descend into the subcommand
        rest = [*getattr(ctx, "_protected_args", getattr(ctx, "protected_args", [])), *ctx.args]
        name, command, rest = command.resolve_command(ctx, rest)
        ctx = command.make_context(name, rest, parent=ctx)


COMMANDS = _commands()


def test_readme_has_command_examples():
    assert len(COMMANDS) >= 15
    assert any(c.startswith("matrix run") for c in COMMANDS)


@pytest.mark.parametrize("command", COMMANDS)
def test_readme_command_parses(command):
    _parse(shlex.split(command))


@pytest.mark.parametrize("command", sorted({c for c in COMMANDS if c in ("models", "tasks")}))
def test_readme_listing_commands_run(command):
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
    else:
        assert head in EXTERNAL, f"a README command of unknown kind: {shlex.join(words)}"


@pytest.mark.parametrize(
    "words", [w for w in _shell_lines() if _attnbench(w) is None], ids=shlex.join
)
def test_readme_other_shell_lines_refer_to_what_exists(words):
    _check_shell_line(words)


def test_shell_line_check_rejects_drift():
    for words in (["make", "no-such-target"], ["bash", "perf/none.sh"]):
        with pytest.raises(AssertionError):
            _check_shell_line(words)
    with pytest.raises(AssertionError, match="no module"):
        _check_shell_line(["python", "-m", "bench.perf_gpu"])  # moved to perf.gpu
    with pytest.raises(AssertionError, match="unknown kind"):
        _check_shell_line(["rm", "-rf", "runs"])


def _layout_paths() -> list[str]:
    """Paths the README's layout block names: top-level entries at the start of a line,
    entries indented by two spaces inside the top-level folder above them."""
    (block,) = [b for b in _blocks("") if b.startswith("cli.py")]
    paths, parent = [], ""
    for line in block.splitlines():
        if m := re.match(r"(\S+?\.py|\S+/)[, ]", line + " "):
            parent = m.group(1) if m.group(1).endswith("/") else ""
            paths += re.findall(r"([\w/]+\.py|[\w]+/)(?=[, ]|$)", line.split("  ")[0])
        elif m := re.match(r"  (\w+\.py|\w+/) ", line):
            paths.append(parent + m.group(1))
    return paths


def test_readme_layout_names_every_package_and_only_what_exists():
    named = _layout_paths()
    assert {"cli.py", "bench/", "bench/attention.py", "reports/claims/"} <= set(named)
    code_dirs = {
        f"{d.name}/" for d in ROOT.iterdir() if d.is_dir() and not d.name.startswith(".")
        and any(d.glob("*.py"))
    }  # fmt: skip
    assert code_dirs <= set(named), f"not in the README's layout: {code_dirs - set(named)}"
    assert [n for n in named if not (ROOT / n).exists()] == []


def test_readme_command_parser_rejects_drift():
    with pytest.raises(USAGE_ERROR):
        _parse(["matrix", "run", "quick", "--no-such-option"])
    with pytest.raises(USAGE_ERROR):
        _parse(["run", "transformer", "copy", "--device", "tpu"])
