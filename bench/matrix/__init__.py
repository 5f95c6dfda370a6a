"""Many cells: strict YAML (load, strict_yaml), tuning on dev (tuning), the matrix run
(run.MatrixRun: lock, plan, sweep, re-plan, seeds, status), its launchers (local, ray) and the
duration estimate. Orchestration only: not in the cell key, and bench.cell never imports it."""
