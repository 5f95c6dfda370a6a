"""Bounds every model config shares."""

MAX_LAYERS = 1000  # deeper stacks take minutes just to size on the meta device (10 s per 1000)


def check_depth(cfg: object, prefix: str, names: tuple[str, ...]) -> None:
    """ValueError naming the first layer count of ``cfg`` above MAX_LAYERS."""
    for name in names:
        if getattr(cfg, name) > MAX_LAYERS:
            raise ValueError(f"{prefix}.{name} must be <= {MAX_LAYERS}, got {getattr(cfg, name)}")
