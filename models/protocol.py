"""What every model config offers ``bench/`` (a named protocol), so bench never asks a model's name.

A config is a frozen dataclass. Sizing (``models.sizing``, equal-parameter comparisons) moves
only its width: ``width``, the step between valid widths ``width_step`` and ``with_width``.
Cost: ``forward_flops`` is the analytic forward pass of a batch (``bench.cell.flops`` makes it
training FLOPs per token), ``flops_countable`` says whether ``torch.utils.flop_counter`` can
count the model too, and ``math_attention_on_cpu`` whether this configuration sends
attention to PyTorch's slow O(n^2)-memory math kernel on CPU (recorded on every row).
"""

from __future__ import annotations

from typing import Protocol, runtime_checkable


@runtime_checkable
class ModelConfig(Protocol):
    """The sizing and cost hooks every registered model's config implements."""

    @property
    def width(self) -> int:
        """The width sizing scales (e.g. d_model)."""
        ...

    @property
    def width_step(self) -> int:
        """Valid widths are multiples of this (e.g. 2 x heads)."""
        ...

    def with_width(self, width: int) -> ModelConfig:
        """This config at ``width``, depth and width ratios kept."""
        ...

    def forward_flops(self, src_len: int, tgt_len: int, vocab_size: int, batch: int = 1) -> float:
        """FLOPs of one forward pass of a (batch, src_len) -> (batch, tgt_len) batch: the
        matmuls that dominate; a multiply-add is 2 FLOPs."""
        ...

    @property
    def flops_countable(self) -> bool:
        """Whether ``torch.utils.flop_counter`` sees every matmul of the model."""
        ...

    @property
    def math_attention_on_cpu(self) -> bool:
        """Whether attention runs PyTorch's O(n^2)-memory math kernel on CPU."""
        ...


def missing_hooks(cfg_cls: type) -> list[str]:
    """The protocol members config class ``cfg_cls`` lacks (empty: it implements them all)."""
    names = ("width", "width_step", "with_width", "forward_flops", "flops_countable")
    return [n for n in (*names, "math_attention_on_cpu") if not hasattr(cfg_cls, n)]
