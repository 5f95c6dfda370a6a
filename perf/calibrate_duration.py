"""Refit bench/matrix/duration.py's step constants to measured rows (ok rows of run directories).

    python perf/calibrate_duration.py results/quick-cpu [runs/claims ...]

Per model: least squares of the measured seconds per training step against the training
FLOPs of one step at the task's longest lengths (the estimator's own inputs): the intercept
is the per-step overhead, 1 / slope the effective FLOP rate. Prints each row's fit.
"""

from __future__ import annotations

import json
import sys

import numpy as np

from bench.cell.spec import spec_from_dict
from bench.rundir.layout import results_path


def fit(dirs: list[str]) -> None:
    by_model: dict[str, list[tuple[float, float, str]]] = {}
    for d in dirs:
        for line in results_path(d).read_text().splitlines():
            row = json.loads(line)
            if row["status"] != "ok" or row.get("train_step_s") is None:
                continue
            if (row.get("parallel_cells") or 1) > 1:  # shared the cores: not one cell's speed
                continue
            spec = spec_from_dict(row)
            src, tgt = spec.task_cfg.max_lengths()
            vocab = getattr(spec.task_cfg, "vocab_size", 32)
            flops = 3 * spec.model_cfg.forward_flops(src, tgt, vocab, spec.train.batch_size)
            where = f"{row['task']} d={row.get('distance')} steps={spec.train.steps}"
            by_model.setdefault(spec.model, []).append((flops, row["train_step_s"], where))
    for model, points in sorted(by_model.items()):
        x = np.array([[1.0, f] for f, _, _ in points])
        y = np.array([t for _, t, _ in points])
        (overhead, per_flop), *_ = np.linalg.lstsq(x, y, rcond=None)
        rate = 1 / per_flop if per_flop > 0 else float("nan")
        print(f"{model}: step overhead {overhead:.4f} s, rate {rate / 1e9:.0f} GFLOP/s, n={len(y)}")
        for (_, t, where), pred in zip(points, x @ [overhead, per_flop], strict=True):
            print(f"  {where:32s} measured {t:.4f} s/step, fitted {pred:.4f}")


if __name__ == "__main__":
    fit(sys.argv[1:])
