"""The one registry type of models/ and tasks/: ``name -> Entry(cls, config, description)``.

Registries are plain dicts (``models.MODELS``, ``tasks.TASKS``); a plugin adds an entry with
``MODELS["name"] = Entry(MyModel, MyConfig, "one line")``. Standard library only.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Entry:
    """A registered model or task: the class that builds it, its config class and one line."""

    cls: type
    config: type
    description: str


def lookup(registry: dict[str, Entry], kind: str, name: str) -> Entry:
    """``registry[name]``; an unknown name lists the valid choices, and a value that is not
    an ``Entry`` says what it must be (``kind``: "model" or "task")."""
    if name not in registry:
        raise ValueError(f"unknown {kind} {name!r}; choose one of: {', '.join(sorted(registry))}")
    entry = registry[name]
    if not isinstance(entry, Entry):
        raise ValueError(
            f"{kind}s.{kind.upper()}S[{name!r}] must be an Entry(cls, config, description) "
            f"(registry.Entry, also models.Entry and tasks.Entry), got {type(entry).__name__}"
        )
    return entry
