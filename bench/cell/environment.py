"""The environment stamped on every row: library versions and the git state. Standard library
only."""

from __future__ import annotations

import platform
import subprocess
from functools import cache
from importlib import metadata
from typing import Any

from bench.cell.key import ROOT


@cache
def git_state() -> dict[str, Any]:
    """Commit sha and whether tracked files differ from it (None outside a git checkout)."""

    def git(*args: str) -> str | None:
        try:
            out = subprocess.run(
                ["git", *args], cwd=ROOT, capture_output=True, text=True, timeout=10
            )
        except (OSError, subprocess.TimeoutExpired):
            return None
        return out.stdout.strip() if out.returncode == 0 else None

    sha = git("rev-parse", "HEAD")
    dirty = git("status", "--porcelain", "--untracked-files=no")
    return {"git_sha": sha, "git_dirty": None if dirty is None else bool(dirty)}


@cache
def versions() -> dict[str, str]:
    """Versions of Python and the libraries a result depends on."""
    out = {"python": platform.python_version()}
    for pkg in ("torch", "lightning", "wandb", "sacrebleu", "pandas", "attnbench"):
        try:
            out[pkg] = metadata.version(pkg)
        except metadata.PackageNotFoundError:
            out[pkg] = "absent"
    return out
