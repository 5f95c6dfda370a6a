"""Training behaviour: overfitting, determinism for a seed, failure rows, measurement."""

from __future__ import annotations

import json

import pytest
import torch

from bench.cell.config import TrainConfig
from bench.cell.execute import execute_cell, run_cell
from bench.cell.measure import StepTimer
from bench.cell.module import Seq2SeqModule
from bench.cell.spec import make_spec
from models import build_model, greedy_decode
from tasks import BOS, EOS
from tasks.copy import CopyConfig, CopyTask
from tests.conftest import TINY

TINY_SETS = {
    "transformer": ["model.d_model=32", "model.n_heads=2", "model.d_ff=64"],
    "lstm": ["model.d_model=32", "model.n_layers=1"],
    "lstm_uni": ["model.d_model=32", "model.n_layers=1"],
    "convs2s": [
        "model.d_embed=16",
        "model.d_hidden=32",
        "model.n_enc_layers=2",
        "model.n_dec_layers=2",
    ],
}
TINY_SETS["convs2s_last"] = TINY_SETS["convs2s"]  # the control: the same sizes
QUICK = [
    "task.length=6",
    "task.min_length=3",
    "task.n_symbols=6",
    "task.eval_size=64",
    "train.steps=24",
    "train.batch_size=16",
    "train.timing_warmup=4",
    "train.timing_blocks=5",
    "train.log_every=4",
]


@pytest.mark.parametrize("name", sorted(TINY))
def test_model_overfits_a_small_copy_batch(name):
    torch.manual_seed(0)
    task = CopyTask(CopyConfig(length=6, min_length=3, n_symbols=6), seed=0)
    batch = task.sample(8, torch.Generator().manual_seed(0))
    model = build_model(name, TINY[name], task.vocab_size)
    module = Seq2SeqModule(model, TrainConfig())
    opt = torch.optim.Adam(model.parameters(), lr=3e-3)
    for _ in range(1000):
        opt.zero_grad()
        loss = module.loss(batch)
        if loss.item() < 0.02:
            break
        loss.backward()
        opt.step()
    assert loss.item() < 0.02
    model.eval()
    hyp = greedy_decode(model, batch.src, task.max_output_len(batch.src), BOS, EOS)
    assert task.summarise([task.score(hyp, batch)])["seq_acc"] == 1.0


@pytest.mark.parametrize("name", sorted(TINY))
def test_same_seed_same_losses(name, tmp_path):
    spec = make_spec(name, "copy", TINY_SETS[name] + QUICK, seed=7, device="cpu")
    a = run_cell(spec, tmp_path / "a", "disabled", progress=False)
    b = run_cell(spec, tmp_path / "b", "disabled", progress=False)
    assert a["status"] == b["status"] == "ok", a.get("error")
    assert a["curve"]["loss"] == b["curve"]["loss"] and len(a["curve"]["loss"]) == 6
    assert a["curve"]["step"] == [4, 8, 12, 16, 20, 24]
    assert a["token_acc"] == b["token_acc"]
    c = run_cell(
        make_spec(name, "copy", TINY_SETS[name] + QUICK, seed=8, device="cpu"),
        tmp_path / "c",
        "disabled",
        progress=False,
    )
    assert c["curve"]["loss"] != a["curve"]["loss"]


def test_row_contents(tmp_path):
    spec = make_spec("lstm", "copy", TINY_SETS["lstm"] + QUICK, seed=1, device="cpu")
    row = run_cell(spec, tmp_path, "disabled", progress=False)
    saved = [json.loads(line) for line in (tmp_path / "results.jsonl").read_text().splitlines()]
    assert len(saved) == 1 and saved[0]["key"] == row["key"] == spec.key
    for field in (
        "model",
        "task",
        "config",
        "seed",
        "n_params",
        "train_tgt_tokens_per_s",
        "train_tgt_tokens_per_s_q1",
        "train_tgt_tokens_per_s_q3",
        "timing_n_blocks",
        "peak_mem_mb",
        "token_acc",
        "seq_acc",
        "status",
        "versions",
        "git_sha",
        "bench_version",
        "infer_tgt_tokens_per_s",
        "started_utc",
        "threads",
    ):
        assert field in saved[0], field
    assert saved[0]["status"] == "ok"
    assert saved[0]["config"]["train"]["steps"] == 24
    assert saved[0]["timing_n_blocks"] == 5 and saved[0]["timing_block_steps"] == 4
    assert saved[0]["train_tgt_tokens_per_s"] > 0 and saved[0]["peak_mem_mb"] >= 0
    assert not (tmp_path / "wandb").exists()  # disabled: no W&B files


def test_failed_cell_writes_a_failed_row(tmp_path, monkeypatch):
    def explode(*args, **kwargs):
        raise RuntimeError("boom in model construction")

    monkeypatch.setattr("bench.cell.execute.build_model", explode)
    spec = make_spec("lstm", "copy", QUICK, device="cpu")
    row = run_cell(spec, tmp_path, "disabled", progress=False)
    assert row["status"] == "failed:exception"
    assert row["error_class"] == "RuntimeError" and "boom" in row["error"]
    assert len((tmp_path / "results.jsonl").read_text().splitlines()) == 1


def test_nan_loss_is_failed_nan(tmp_path, monkeypatch):
    original = Seq2SeqModule._loss_and_logits

    def nan_loss(self, batch):
        loss, logits = original(self, batch)
        return loss * float("nan"), logits

    monkeypatch.setattr(Seq2SeqModule, "_loss_and_logits", nan_loss)
    spec = make_spec("lstm", "copy", TINY_SETS["lstm"] + QUICK, device="cpu")
    assert run_cell(spec, tmp_path, "disabled", progress=False)["status"] == "failed:nan"


class _FakeBatch:
    def __init__(self):
        self.n_src_tokens, self.n_tgt_tokens = 10, 12
        self.src, self.tgt_out = torch.zeros(2, 6), torch.zeros(2, 7)


def test_step_timer_excludes_warmup_and_counts_blocks(monkeypatch):
    clock = iter(range(1000))
    monkeypatch.setattr("bench.cell.measure.time.perf_counter", lambda: float(next(clock)))

    class Trainer:
        global_step = 0

    class Module:
        device = torch.device("cpu")

    timer = StepTimer(total_steps=25, warmup=5, blocks=4)
    for step in range(25):
        Trainer.global_step = step
        timer.on_train_batch_start(Trainer, Module, _FakeBatch(), step)
    timer.on_train_end(Trainer, Module)
    s = timer.summary()
    assert s["timing_block_steps"] == 5 and s["timing_n_blocks"] == 4
    assert s["timing_warmup_steps"] == 5
    assert s["train_tgt_tokens_per_s"] > 0 and s["train_speed_enough_blocks"] is False


def test_step_timer_last_block_ends_with_its_last_step(monkeypatch):
    """Teardown after the last step (here 100 clock ticks) stays out of the last block."""
    now = [0.0]
    monkeypatch.setattr("bench.cell.measure.time.perf_counter", lambda: now[0])

    class Trainer:
        global_step, max_steps = 0, 12

    class Module:
        device = torch.device("cpu")

    timer = StepTimer(total_steps=12, warmup=2, blocks=5)
    for step in range(12):
        Trainer.global_step = step
        timer.on_train_batch_start(Trainer, Module, _FakeBatch(), step)
        now[0] += 1.0  # every step takes one second
        Trainer.global_step = step + 1
        timer.on_train_batch_end(Trainer, Module, None, _FakeBatch(), step)
    now[0] += 100.0
    timer.on_train_end(Trainer, Module)
    s = timer.summary()
    assert s["timing_n_blocks"] == 5 and s["train_step_s"] == pytest.approx(1.0)
    assert s["train_tgt_tokens_per_s_blocks"] == [12.0] * 5
    assert s["train_speed_noisy"] is False


def test_step_timer_pauses_the_garbage_collector_while_training_only():
    """A collection inside a short block made it 10-30% slow: paused from the start of
    training to its end or its failure, and left as it was found."""
    import gc

    class Trainer:
        global_step, max_steps = 0, 4

    class Module:
        device = torch.device("cpu")

    try:
        gc.enable()
        timer = StepTimer(total_steps=4, warmup=1, blocks=1)
        timer.on_train_start(Trainer, Module)
        assert not gc.isenabled()
        timer.on_train_end(Trainer, Module)
        assert gc.isenabled()
        timer.on_train_start(Trainer, Module)
        timer.on_exception(Trainer, Module, RuntimeError("NaN"))
        assert gc.isenabled()
        gc.disable()  # a caller that paused it itself keeps it paused
        timer.on_train_start(Trainer, Module)
        timer.on_train_end(Trainer, Module)
        assert not gc.isenabled()
    finally:
        gc.enable()


@pytest.mark.slow
def test_ddp_two_cpu_processes_write_exactly_one_row(tmp_path):
    """Lightning DDP on the gloo backend: 2 processes train, rank 0 alone writes."""
    import subprocess
    import sys

    out = tmp_path / "ddp"
    cmd = [
        sys.executable,
        "-m",
        "cli",
        "run",
        "lstm",
        "copy",
        "--device",
        "cpu",
        "--out",
        str(out),
        "--wandb",
        "disabled",
        "--no-progress",
        "--set",
        "trainer.devices=2",
        "--set",
        "trainer.strategy=ddp",
        *[a for s in TINY_SETS["lstm"] + QUICK for a in ("--set", s)],
    ]
    done = subprocess.run(
        cmd,
        capture_output=True,
        text=True,
        timeout=300,
        cwd=__import__("pathlib").Path(__file__).resolve().parent.parent,
    )
    assert done.returncode == 0, done.stdout + done.stderr
    lines = (out / "results.jsonl").read_text().splitlines()
    assert len(lines) == 1
    row = json.loads(lines[0])
    assert row["status"] == "ok" and row["world_size"] == 2
    assert row["train_tgt_tokens_per_s_global"] > row["train_tgt_tokens_per_s_per_device"] > 0
    assert row["config"]["trainer"] == {"devices": 2, "num_nodes": 1, "strategy": "ddp"}


def test_multi_device_needs_ddp():
    from bench.cell.config import ConfigError

    with pytest.raises(ConfigError, match="more than one device needs trainer.strategy=ddp"):
        make_spec("lstm", "copy", ["trainer.devices=2"])


def test_subnormals_are_flushed_during_a_cell_and_restored_after(tmp_path):
    tiny = 1e-39  # a subnormal float32
    during = []
    spec = make_spec("lstm", "copy", TINY_SETS["lstm"] + QUICK, seed=1, device="cpu")
    row = execute_cell(
        spec, tmp_path, "disabled", progress=False,
        on_timer=lambda timer: during.append((torch.tensor([tiny]) * 0.5).item()),
    )  # fmt: skip
    assert row["status"] == "ok"
    if row["flush_denormal"]:  # the CPU can flush (x86 with SSE3, arm64)
        assert during == [0.0]
    assert (torch.tensor([tiny]) * 0.5).item() > 0.0  # other code in this process is unaffected
