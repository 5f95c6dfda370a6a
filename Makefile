# The README's two commands: `make bench` (quick benchmark + report) and `make test`.
PY      ?= python3
VENV    ?= .venv
BIN     := $(VENV)/bin
OUT     ?= runs/quick
export WANDB_MODE ?= offline

.PHONY: bench claims test lint clean corpus-packages

$(BIN)/attnbench: pyproject.toml
	test -x $(BIN)/python || $(PY) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	$(BIN)/pip install --quiet torch==2.13.0
	$(BIN)/pip install --quiet -e '.[dev,ray]'
	touch $@

# The translation corpus (KJV English + Reina-Valera 1909 Spanish) comes from Debian packages.
corpus-packages:
	@if dpkg -s sword-text-kjv sword-text-sparv >/dev/null 2>&1; then :; \
	elif command -v apt-get >/dev/null 2>&1 && [ "$$(id -u)" = 0 ]; then \
	  apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq \
	    --no-install-recommends sword-text-kjv sword-text-sparv >/dev/null; \
	else echo "note: install sword-text-kjv sword-text-sparv (apt) for the translate task"; fi

bench: $(BIN)/attnbench corpus-packages
	$(BIN)/attnbench matrix run quick --out $(OUT)
	$(BIN)/attnbench report $(OUT)

# Do the paper's claims hold on this machine? The claims preset (1 h 33 min on 2 CPU cores;
# resumable), its report and the verdicts. CLAIMS_OUT=... to write elsewhere.
CLAIMS_OUT ?= runs/claims
claims: $(BIN)/attnbench corpus-packages
	$(BIN)/attnbench matrix run claims --out $(CLAIMS_OUT)
	$(BIN)/attnbench report $(CLAIMS_OUT)
	$(BIN)/attnbench claims $(CLAIMS_OUT)
	$(BIN)/attnbench compare $(CLAIMS_OUT) results/claims-cpu

# Every test, slow ones too, on TEST_JOBS processes (pytest-xdist) of one thread each: the
# suite is mostly single-threaded numpy/scipy and subprocess waits, so 2 processes on 2 cores
# take about half the time of one (torch threads beside each other would slow both).
TEST_JOBS ?= 2
test: $(BIN)/attnbench
	$(BIN)/ruff check .
	WANDB_MODE=disabled OMP_NUM_THREADS=1 MKL_NUM_THREADS=1 \
	  $(BIN)/pytest -q -m '' -n $(TEST_JOBS) --dist worksteal

clean:
	rm -rf $(VENV) runs
