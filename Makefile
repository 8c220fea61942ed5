# Lakeforge: `make demo` runs the main job, `make test` runs the test suite.
# Both create .venv and install what they need on a fresh machine.

PYTHON ?= $(shell command -v python3.11 || command -v python3)
VENV := .venv
BIN := $(VENV)/bin
PIP := $(BIN)/python -m pip
PYTEST_WORKERS ?= auto
DEMO_ARGS ?=

.PHONY: demo test bench lint format clean venv venv-dev venv-bench vendor-js

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
