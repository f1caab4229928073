# Runway: `make run` serves the app on the built-in QuickBooks sandbox; `make test` runs every check.
SHELL := /bin/bash
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
UV := $(PYTHON) -m uv
HOST ?= 127.0.0.1
PORT ?= 8000
export UV_PYTHON_DOWNLOADS := never

.PHONY: install run test lint typecheck bench clean

# Bytecode is compiled once here: every process Runway starts (the server's sync, writer and mapping
# processes, each test's server) then imports in about 0.6 s of CPU instead of 1.8 s.
$(BIN)/.installed: pyproject.toml uv.lock
	@$(UV) --version >/dev/null 2>&1 || $(PYTHON) -m pip install --quiet --disable-pip-version-check 'uv>=0.8,<1'
	$(UV) sync --frozen --all-extras --compile-bytecode --python $(PYTHON)
	@touch $@

install: $(BIN)/.installed

run: install
	$(BIN)/runway migrate
	$(BIN)/runway demo --url http://$(HOST):$(PORT)/
	$(BIN)/runway serve --host $(HOST) --port $(PORT)

lint: install
	$(BIN)/lint-imports
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .

typecheck: install
	$(BIN)/mypy

test: lint typecheck
	$(BIN)/pytest

bench: install
	$(BIN)/python -m bench

clean:
	rm -rf $(VENV) .mypy_cache .ruff_cache test-results
