# The README's two commands: `make bench` (quick benchmark + report) and `make test`.
PY      ?= python3
VENV    ?= .venv
BIN     := $(VENV)/bin
OUT     ?= runs/quick
MODELS  ?= transformer lstm convs2s
export WANDB_MODE ?= offline

.PHONY: bench test lint clean

$(BIN)/attnbench: pyproject.toml
	test -x $(BIN)/python || $(PY) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	$(BIN)/pip install --quiet torch==2.13.0
	$(BIN)/pip install --quiet -e '.[dev,ray]'
	touch $@

bench: $(BIN)/attnbench
	for m in $(MODELS); do \
	  $(BIN)/attnbench run $$m copy --out $(OUT) --progress || echo "cell $$m failed (row recorded)"; \
	done
	$(BIN)/attnbench report $(OUT)

test: $(BIN)/attnbench
	$(BIN)/ruff check .
	WANDB_MODE=disabled $(BIN)/pytest -q

clean:
	rm -rf $(VENV) runs
