"""``attnbench perf``: the benchmark's own speed checks (is the harness free, are the models
as fast as they should be?). Sits above ``bench/``: nothing here is part of the cell key.

Modules: ``options`` (what to measure, a section's result), ``timing`` (interleaving, ratios,
a bare training step), ``machine`` (machine and load notes), the sections (``harness``,
``architecture``, ``scaling``), ``run`` (the section table and the runner), ``display``
(tables for people) and ``gpu`` (the glue of ``perf/gpu_check.sh``).
"""
