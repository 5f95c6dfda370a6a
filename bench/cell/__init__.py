"""One cell: what it is (spec, config, key), the checks before it trains (preflight), and how
it runs in its own process (execute, module, dev, measure, flops, worker). The cell key
hashes this package, bench/attention, models/ and tasks/ (bench.cell.key.CODE_DIRS)."""
