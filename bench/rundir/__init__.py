"""The run directory: its layout (the one place that spells its paths), append-only rows,
atomic writes, the disk-full stop and the one-runner lock. Standard library only."""
