"""Which process owns the results: global rank 0, read from the environment (no imports).

Lightning's DDP launcher re-runs the command in one process per extra device (setting
LOCAL_RANK/NODE_RANK); torchrun sets RANK; SLURM sets SLURM_PROCID. Only global rank 0
writes the results row and the W&B run.
"""

from __future__ import annotations

import os


def is_rank_zero() -> bool:
    """True in the process that owns results (also in every single-device run)."""
    for var in ("RANK", "SLURM_PROCID"):
        if var in os.environ:
            return int(os.environ[var]) == 0
    return int(os.environ.get("LOCAL_RANK", 0)) == 0 and int(os.environ.get("NODE_RANK", 0)) == 0
