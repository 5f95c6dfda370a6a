"""The README's examples are checked against the parsers, so docs and code cannot drift:
every YAML matrix block parses and expands, every ``attnbench`` command parses."""

from __future__ import annotations

import re
import shlex
from pathlib import Path

import pytest
import typer

from bench.matrix import parse_matrix
from bench.strict_yaml import load
from cli import app

USAGE_ERROR = typer.BadParameter.__mro__[1]  # click's UsageError, as Typer (vendoring it) raises
README = Path(__file__).resolve().parent.parent / "README.md"
BLOCK = re.compile(r"```(\w*)\n(.*?)```", re.S)


def _blocks(lang: str) -> list[str]:
    return [body for kind, body in BLOCK.findall(README.read_text()) if kind == lang]


def _commands() -> list[str]:
    """Every `attnbench ...` line of the README's bash blocks (continuations joined)."""
    out = []
    for body in _blocks("bash"):
        for line in body.replace("\\\n", " ").splitlines():
            words = shlex.split(line, comments=True)
            for i, word in enumerate(words):
                if word.endswith("attnbench") and not word.endswith(".sh"):
                    out.append(shlex.join(words[i + 1 :]))
                    break
    return out


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


def test_readme_command_parser_rejects_drift():
    with pytest.raises(USAGE_ERROR):
        _parse(["matrix", "run", "quick", "--no-such-option"])
    with pytest.raises(USAGE_ERROR):
        _parse(["run", "transformer", "copy", "--device", "tpu"])
