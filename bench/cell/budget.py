"""Size before building: a cell's memory estimate against the device's free memory.

Estimate = weights + gradients (fp32, 8 bytes/parameter) + AdamW state (8 bytes/parameter)
+ activations kept for backward at the batch size and the task's longest lengths + the
held-out set's tensors. The parameter count comes from the meta-device sizing code (no
memory used). Activations are traced on the meta device: every tensor autograd saves in one
forward and loss is summed (saved-tensor hooks), so no per-model formula is needed; a model
whose forward cannot run on meta tensors (the LSTM's packing) gives its count through its
config's ``activation_floats(batch, src_len, tgt_len, vocab)``. A task config tells its
longest lengths through ``max_lengths()``; without it activations are not counted.
"""

from __future__ import annotations

import dataclasses
import os
import subprocess
import sys
from dataclasses import dataclass
from functools import cache
from pathlib import Path
from typing import Any

import torch
import torch.nn.functional as F
from torch.overrides import TorchFunctionMode

from bench.cell.config import ConfigError
from bench.rundir.diskfull import human_bytes
from models import build_model
from models.sizing import count_params

FLOAT = 4  # bytes: fp32 weights, gradients, optimiser moments and (upper bound) activations
TOKEN = 8  # bytes: int64 token ids
FILL = 4  # a non-special token id for the traced batch


@dataclass(frozen=True)
class Estimate:
    """Bytes one training cell needs, by part."""

    n_params: int
    weights_and_grads: int
    optimizer: int
    activations: int | None  # None: the task does not tell its lengths
    data: int

    @property
    def total(self) -> int:
        return self.weights_and_grads + self.optimizer + (self.activations or 0) + self.data

    def describe(self) -> str:
        acts = "not estimated" if self.activations is None else human_bytes(self.activations)
        return (
            f"{human_bytes(self.total)} ({self.n_params:,} parameters: "
            f"{human_bytes(self.weights_and_grads)} weights+gradients, "
            f"{human_bytes(self.optimizer)} AdamW state; activations {acts}; "
            f"data {human_bytes(self.data)})"
        )


def estimate(spec: Any, vocab: int) -> Estimate:
    """Memory estimate of cell ``spec`` (a bench.cell.spec.CellSpec) with vocabulary ``vocab``."""
    try:
        n = count_params(spec.model, spec.model_cfg, vocab)
    except (RuntimeError, OverflowError, ValueError) as err:  # sizes past int64
        raise ConfigError(
            f"model {spec.model} is too large to build even on the meta device ({err}); "
            f"choose smaller model sizes than {_largest_sizes(spec.model_cfg)}"
        ) from err
    lengths = getattr(spec.task_cfg, "max_lengths", None)
    acts, data = None, 0
    if lengths is not None:
        src_len, tgt_len = lengths()
        acts = activation_bytes(
            spec.model, spec.model_cfg, vocab, spec.train.batch_size, src_len, tgt_len, spec.device
        )
        eval_size = getattr(spec.task_cfg, "eval_size", 0)
        data = eval_size * (src_len + 2 * tgt_len) * TOKEN
    return Estimate(n, 2 * FLOAT * n, 2 * FLOAT * n, acts, data)


def activation_bytes(
    model: str, cfg: Any, vocab: int, batch: int, src_len: int, tgt_len: int, device: str = "cpu"
) -> int | None:
    """Bytes autograd keeps for backward in one step (None if it cannot be estimated)."""
    hook = getattr(cfg, "activation_floats", None)
    if hook is not None:
        return FLOAT * hook(batch, src_len, tgt_len, vocab)
    return _traced_activation_bytes(model, cfg, vocab, batch, src_len, tgt_len, device)


class _FusedAttention(TorchFunctionMode):
    """Count ``F.scaled_dot_product_attention`` as the fused kernels keep it for backward
    (q, k, v, output, log-sum-exp: O(n)), not as the meta device's math fallback, which keeps
    the (B, h, T, S) weights. The CPU flash kernel has no dropout: with dropout on CPU the
    math kernel runs, and is traced as is."""

    def __init__(self, on_cpu: bool) -> None:
        super().__init__()
        self.on_cpu, self.saved = on_cpu, 0

    def __torch_function__(self, func, types, args=(), kwargs=None):  # noqa: ANN001, ANN204
        kwargs = kwargs or {}
        if func is F.scaled_dot_product_attention:
            q, k, v = args[:3]
            if not (self.on_cpu and kwargs.get("dropout_p", 0.0) > 0):
                out = q.new_empty((*q.shape[:-1], v.shape[-1]))  # (B, h, T, dv)
                lse = q.numel() // q.shape[-1] * FLOAT  # (B, h, T) float32
                self.saved += sum(t.numel() * t.element_size() for t in (q, k, v, out)) + lse
                return out
        return func(*args, **kwargs)


@cache
def _traced_activation_bytes(
    model: str, cfg: Any, vocab: int, batch: int, src_len: int, tgt_len: int, device: str
) -> int | None:
    """One forward + loss on the meta device, summing the tensors autograd saves."""
    saved = 0

    def pack(t: torch.Tensor) -> torch.Tensor:
        nonlocal saved
        if id(t) not in params:
            saved += t.numel() * t.element_size()
        return t

    try:
        with torch.device("meta"):
            net = build_model(model, cfg, vocab)
        params = {id(p) for p in net.parameters()}
        net.train()
        src = torch.full((batch, src_len), FILL, dtype=torch.long, device="meta")
        tgt = torch.full((batch, tgt_len), FILL, dtype=torch.long, device="meta")
        attention = _FusedAttention(on_cpu=device == "cpu")
        with torch.autograd.graph.saved_tensors_hooks(pack, lambda t: t), attention:
            logits = net(src, tgt)  # (B, T, V)
            F.cross_entropy(logits.reshape(-1, logits.size(-1)), tgt.reshape(-1))
    except ValueError as err:  # the model refuses these sizes (e.g. lengths past its table)
        raise ConfigError(f"model {model}: {err}") from err
    except Exception:  # noqa: BLE001 - an op without a meta kernel: no estimate, no refusal
        return None
    return saved + attention.saved + logits.numel() * logits.element_size()


def device_limit(device: str) -> tuple[int | None, str]:
    """(bytes a cell may use on ``device``, where that number comes from)."""
    if device == "cuda":
        free = _cuda_free_bytes()
        return free, "free CUDA memory (torch.cuda.mem_get_info)"
    return _cpu_available_bytes(), "available RAM (MemAvailable, cgroup limit)"


def _cpu_available_bytes() -> int | None:
    avail = None
    try:
        for line in Path("/proc/meminfo").read_text().splitlines():
            if line.startswith("MemAvailable:"):
                avail = int(line.split()[1]) * 1024
    except (OSError, ValueError):
        pass
    if avail is None:
        try:
            avail = os.sysconf("SC_AVPHYS_PAGES") * os.sysconf("SC_PAGE_SIZE")
        except (OSError, ValueError):
            return None
    cg = Path("/sys/fs/cgroup")
    try:  # a container's own limit, when tighter than the machine's
        limit = (cg / "memory.max").read_text().strip()
        if limit != "max":
            used = int((cg / "memory.current").read_text())
            avail = min(avail, int(limit) - used)
    except (OSError, ValueError):
        pass
    return avail


@cache
def _cuda_free_bytes() -> int | None:
    """Free memory of CUDA device 0, asked in a child process so the runner holds no CUDA
    context (that would take memory from every cell it starts)."""
    code = "import torch; print(torch.cuda.mem_get_info()[0])"
    try:
        out = subprocess.run(
            [sys.executable, "-c", code], capture_output=True, text=True, timeout=120
        )
        return int(out.stdout.strip().splitlines()[-1])
    except (OSError, subprocess.TimeoutExpired, ValueError, IndexError):
        return None


def over_budget(specs: list[Any]) -> list[str]:
    """One line per cell whose estimate exceeds its device's memory (empty: all fit).

    Reads no data and builds nothing but meta tensors; bad sizes raise ConfigError.
    """
    from bench.cell.spec import vocab_size

    problems = []
    for spec in specs:
        est = estimate(spec, vocab_size(spec.task, spec.task_cfg, spec.seed))
        limit, source = device_limit(spec.device)
        if limit is not None and est.total > limit:
            lengths = getattr(spec.task_cfg, "max_lengths", None)
            shape = f", source/target length {'/'.join(map(str, lengths()))}" if lengths else ""
            problems.append(
                f"{spec.model} on {spec.task} (seed {spec.seed}; width {spec.model_cfg.width}, "
                f"batch {spec.train.batch_size}{shape}) needs about {est.describe()}: more than "
                f"the {human_bytes(limit)} of {source} on {spec.device}"
            )
    return problems


def _largest_sizes(cfg: Any) -> str:
    """The model config's integer sizes, largest first (the ones to shrink), as key=value."""
    sizes = {
        f.name: getattr(cfg, f.name)
        for f in dataclasses.fields(cfg)
        if isinstance(getattr(cfg, f.name), int) and not isinstance(getattr(cfg, f.name), bool)
    }
    top = sorted(sizes.items(), key=lambda kv: -kv[1])[:3]
    return ", ".join(f"model.{k}={v:,}" for k, v in top)
