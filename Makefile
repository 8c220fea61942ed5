# Lakeforge: `make demo` runs the main job, `make test` runs the test suite.
# Both create .venv and install what they need on a fresh machine.

PYTHON ?= $(shell command -v python3.11 || command -v python3)
VENV := .venv
BIN := $(VENV)/bin
PIP := $(BIN)/python -m pip
PYTEST_WORKERS ?= auto
DEMO_ARGS ?=

.PHONY: demo test bench bench-anchors lint format clean venv venv-dev venv-bench venv-anchors vendor-js

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)
	$(PIP) install --quiet --upgrade pip

$(VENV)/.installed: pyproject.toml | $(BIN)/python
	$(PIP) install --quiet -e ".[forecast,recommend,synth]"
	touch $@

$(VENV)/.installed-dev: pyproject.toml | $(BIN)/python
	$(PIP) install --quiet -e ".[dev]"
	@# the browser test drives Debian's chromium (never `playwright install`: offline)
	command -v chromium >/dev/null || (apt-get update -qq && apt-get install -y -qq chromium >/dev/null) || true
	touch $(VENV)/.installed $@

$(VENV)/.installed-bench: pyproject.toml | $(BIN)/python
	$(PIP) install --quiet -e ".[dev,bench]"
	touch $(VENV)/.installed $@

venv: $(VENV)/.installed
venv-dev: $(VENV)/.installed-dev
venv-bench: $(VENV)/.installed-bench

demo: venv
	$(BIN)/lakeforge demo $(DEMO_ARGS)

test: venv-dev
	$(BIN)/python -m pytest -n $(PYTEST_WORKERS) -q

bench: venv-bench
	$(BIN)/python -m benchmarks

# Optional anchors for the synthetic benchmark (SDV: BSL, never a Lakeforge dependency; mostlyai-
# engine: Apache-2.0) in their own .venv-anchors; about 45 minutes on a quiet 2-core machine.
.venv-anchors/.installed: pyproject.toml benchmarks/anchors-requirements.txt
	scripts/bench-anchors-venv.sh
	touch $@

venv-anchors: .venv-anchors/.installed

bench-anchors: venv-anchors
	nice -n 5 .venv-anchors/bin/python -m benchmarks.bench_synthetic --part adult --slow-anchors

lint: venv-dev
	$(BIN)/ruff check src tests benchmarks
	$(BIN)/ruff format --check src tests benchmarks
	$(BIN)/mypy

format: venv-dev
	$(BIN)/ruff format src tests benchmarks
	$(BIN)/ruff check --fix src tests benchmarks

vendor-js:
	scripts/vendor-chartjs.sh

clean:
	rm -rf $(VENV) .pytest_cache .mypy_cache .ruff_cache demo-workspace tests/artifacts
