"""Bounds every model config shares (checked with checks.check_values)."""

MAX_LAYERS = 1000  # deeper stacks take minutes just to size on the meta device (10 s per 1000)
