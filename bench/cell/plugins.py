"""Optional extra models/tasks named by ATTNBENCH_PLUGINS (comma-separated module names).

Each module adds ``models.Entry`` / ``tasks.Entry`` values to ``models.MODELS`` /
``tasks.TASKS`` when imported. Loaded explicitly by the CLI and by cell workers, never by
import-time scans. The test suite uses it for its fault-injecting models.
"""

from __future__ import annotations

import importlib
import os

ENV = "ATTNBENCH_PLUGINS"


def load_plugins() -> list[str]:
    names = [n.strip() for n in os.environ.get(ENV, "").split(",") if n.strip()]
    for name in names:
        try:
            importlib.import_module(name)
        except ImportError as err:
            raise ImportError(f"{ENV}: cannot import plugin module {name!r}: {err}") from err
    return names
