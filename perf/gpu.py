"""Helpers of ``perf/gpu_check.sh``: a bf16 copy of a matrix, our timer against
``torch.utils.benchmark`` on a large matmul, and one summary file of every GPU number.

    python -m perf.gpu bf16-matrix quick OUT/quick-bf16.yaml
    python -m perf.gpu timer --out OUT/timer.json [--size 8192]
    python -m perf.gpu summarise OUT          # -> OUT/gpu_numbers.json and .md
"""

from __future__ import annotations

import argparse
import json
import statistics
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import torch
import yaml

from bench.rundir.layout import results_path
from perf.display import section_markdown

TIMER_TOLERANCE = 0.10  # our block timer within 10% of torch.utils.benchmark


def bf16_matrix(ref: str, out: Path) -> Path:
    """Write a copy of matrix ``ref`` (preset or file) whose every cell trains in bf16-mixed."""
    from bench.matrix.load import PRESETS_DIR

    path = Path(ref) if Path(ref).exists() else PRESETS_DIR / f"{ref}.yaml"
    data = yaml.safe_load(path.read_text(encoding="utf-8"))
    data["name"] = f"{data.get('name', path.stem)}-bf16"
    data["train"] = {**(data.get("train") or {}), "precision": "bf16-mixed"}
    for block in data.get("tasks", []):  # a block's own train values must not undo it
        if isinstance(block.get("train"), dict):
            block["train"].pop("precision", None)
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(yaml.safe_dump(data, sort_keys=False), encoding="utf-8")
    return out


def timer_check(
    size: int = 8192, device: str = "cuda", blocks: int = 10, block_steps: int = 5
) -> dict[str, Any]:
    """Time ``a @ b`` with the StepTimer the cells use and with torch.utils.benchmark."""
    from torch.utils import benchmark

    from bench.cell.measure import StepTimer

    dev = torch.device(device)
    dtype = torch.bfloat16 if dev.type == "cuda" else torch.float32
    a = torch.randn(size, size, device=dev, dtype=dtype)
    b = torch.randn(size, size, device=dev, dtype=dtype)
    warmup = 3
    steps = warmup + blocks * block_steps
    timer = StepTimer(steps, warmup, blocks)
    fake_batch = SimpleNamespace(n_src_tokens=1, n_tgt_tokens=1, src=a[:1, :1], tgt_out=a[:1, :1])
    trainer, module = SimpleNamespace(global_step=0), SimpleNamespace(device=dev)
    for step in range(steps):
        trainer.global_step = step
        timer.on_train_batch_start(trainer, module, fake_batch, step)
        a @ b
    timer.on_train_end(trainer, module)
    ours = timer.summary()["train_step_s"]
    ref = (
        benchmark.Timer("a @ b", globals={"a": a, "b": b})
        .blocked_autorange(min_run_time=1.0 if dev.type == "cuda" else 0.2)
        .median
    )
    flops = 2.0 * size**3
    return {
        "size": size,
        "dtype": str(dtype).replace("torch.", ""),
        "device": torch.cuda.get_device_name(dev) if dev.type == "cuda" else "cpu",
        "ours_s": ours,
        "torch_benchmark_s": ref,
        "ratio": ours / ref,
        "met": abs(ours / ref - 1.0) <= TIMER_TOLERANCE,
        "tflops_ours": flops / ours / 1e12,
        "tflops_torch_benchmark": flops / ref / 1e12,
    }


def _median(rows: list[dict[str, Any]], key: str) -> float | None:
    xs = [r[key] for r in rows if isinstance(r.get(key), (int, float))]
    return statistics.median(xs) if xs else None


def matrix_summary(results: Path) -> dict[str, Any]:
    """Per model: cells ok / failed, median training tokens/s and MFU of a matrix run."""
    from bench.rundir.rows import read_rows

    rows = list(read_rows(results)) if results.exists() else []
    out: dict[str, Any] = {"cells": len(rows), "models": {}}
    for model in sorted({r["model"] for r in rows}):
        mine = [r for r in rows if r["model"] == model]
        ok = [r for r in mine if r.get("status") == "ok"]
        out["models"][model] = {
            "ok": len(ok),
            "failed": len(mine) - len(ok),
            "train_tgt_tokens_per_s_median": _median(ok, "train_tgt_tokens_per_s"),
            "mfu_median": _median(ok, "mfu"),
            "mfu_max": max((r["mfu"] for r in ok if r.get("mfu") is not None), default=None),
        }
    return out


def summarise(out_dir: Path) -> dict[str, Any]:
    """Gather every number gpu_check.sh produced into OUT/gpu_numbers.json and .md."""
    from perf.machine import machine

    def load(name: str) -> Any:
        path = out_dir / name
        return json.loads(path.read_text()) if path.exists() else None

    status = out_dir / "status.txt"
    data = {
        "machine": machine(),
        "steps": status.read_text().split("\n") if status.exists() else [],
        "timer": load("timer.json"),
        "quick_bf16": matrix_summary(results_path(out_dir / "quick")),
        "perf": load("perf.json"),
        "scaling": load("scaling.json"),
    }
    (out_dir / "gpu_numbers.json").write_text(json.dumps(data, indent=1, default=str))
    (out_dir / "gpu_numbers.md").write_text(markdown(data))
    return data


def markdown(data: dict[str, Any]) -> str:
    """The summary as Markdown that docs/performance.md can quote."""
    m = data["machine"]
    lines = [
        "# GPU check",
        "",
        f"{m.get('gpu', 'no GPU')}, torch {m['torch']}, CUDA {m.get('cuda')}, "
        f"Lightning {m['lightning']}, Python {m['python']}",
        "",
        "Steps (exit status; 124 = ran past its time limit): "
        + ", ".join(s for s in data["steps"] if s),
    ]
    t = data.get("timer")
    if t:
        lines += [
            "",
            f"Timer: {t['size']}^3 {t['dtype']} matmul, StepTimer {t['ours_s'] * 1e3:.3f} ms vs "
            f"torch.utils.benchmark {t['torch_benchmark_s'] * 1e3:.3f} ms: ratio "
            f"{t['ratio']:.3f} ({'within' if t['met'] else 'outside'} 10%), "
            f"{t['tflops_torch_benchmark']:.0f} TFLOP/s",
        ]
    q = data["quick_bf16"]
    lines += ["", f"Quick matrix in bf16 ({q['cells']} cells):", ""]
    lines += ["| model | ok | failed | train tgt tok/s (median) | MFU median | MFU max |"]
    lines += ["|---|---|---|---|---|---|"]
    for model, s in q["models"].items():
        lines.append(
            f"| {model} | {s['ok']} | {s['failed']} | {_num(s['train_tgt_tokens_per_s_median'])}"
            f" | {_pct(s['mfu_median'])} | {_pct(s['mfu_max'])} |"
        )
    for key in ("perf", "scaling"):
        for sec in ((data.get(key) or {}).get("sections") or {}).values():
            lines += ["", *section_markdown(sec)]
    return "\n".join(lines) + "\n"


def _num(x: Any) -> str:
    if x is None:
        return "-"
    if isinstance(x, bool):
        return "yes" if x else "no"
    if isinstance(x, float):
        return f"{x:,.0f}" if abs(x) >= 100 else f"{x:.3g}"
    return str(x)


def _pct(x: float | None) -> str:
    return "-" if x is None else f"{x:.1%}"


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="python -m perf.gpu")
    sub = parser.add_subparsers(dest="cmd", required=True)
    p = sub.add_parser("bf16-matrix", help="write a bf16 copy of a matrix")
    p.add_argument("ref")
    p.add_argument("out", type=Path)
    p = sub.add_parser("timer", help="our timer vs torch.utils.benchmark on a matmul")
    p.add_argument("--out", type=Path, required=True)
    p.add_argument("--size", type=int, default=8192)
    p.add_argument("--device", default="cuda")
    p = sub.add_parser("summarise", help="OUT/gpu_numbers.json and .md")
    p.add_argument("out_dir", type=Path)
    args = parser.parse_args(argv)
    if args.cmd == "bf16-matrix":
        print(bf16_matrix(args.ref, args.out))
    elif args.cmd == "timer":
        result = timer_check(args.size, args.device)
        args.out.parent.mkdir(parents=True, exist_ok=True)
        args.out.write_text(json.dumps(result, indent=1))
        print(json.dumps(result))
    else:
        summarise(args.out_dir)
        print((args.out_dir / "gpu_numbers.md").read_text())


if __name__ == "__main__":
    main()
