"""YAML that refuses what PyYAML lets through: a key given twice in one mapping, at any depth.

PyYAML keeps the last of two equal keys silently (``name: m`` twice, or the same task knob
twice in one block); a matrix must not run with a value its author did not mean.
"""

from __future__ import annotations

from typing import Any

import yaml


class DuplicateKeyError(yaml.YAMLError):
    """A mapping holds one key twice; the message names the key and both line numbers."""


class StrictLoader(yaml.SafeLoader):
    """``yaml.SafeLoader`` whose mappings refuse duplicate keys."""

    def construct_mapping(self, node: yaml.MappingNode, deep: bool = False) -> dict[Any, Any]:
        seen: dict[Any, yaml.Mark] = {}
        for key_node, _ in node.value:
            if key_node.tag == "tag:yaml.org,2002:merge":  # `<<: *anchor` may be overridden
                continue
            key = self.construct_object(key_node, deep=True)
            try:
                first = seen.get(key)
            except TypeError:  # an unhashable key: SafeLoader's own error names it
                break
            if first is not None:
                raise DuplicateKeyError(
                    f"duplicate key {key!r} at {_place(key_node.start_mark, first)} "
                    f"(first given at {_place(first, key_node.start_mark)})"
                )
            seen[key] = key_node.start_mark
        return super().construct_mapping(node, deep=deep)


def _place(mark: yaml.Mark, other: yaml.Mark) -> str:
    """``line N`` (1-based), with the column when ``other`` is on the same line."""
    where = f"line {mark.line + 1}"
    return where + f", column {mark.column + 1}" if mark.line == other.line else where


def load(text: str) -> Any:
    """Parse one YAML document strictly (safe types only, no duplicate keys)."""
    return yaml.load(text, Loader=StrictLoader)  # noqa: S506 - a SafeLoader subclass
