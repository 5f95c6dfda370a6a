"""Reports from results rows: pandas only (no torch, no wandb)."""
