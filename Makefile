# liuray developer commands. Each target builds its own virtual environment (.venv) from
# pyproject.toml, so nothing depends on what happens to be installed on the machine.
PYTHON ?= python3
VENV ?= .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed

.PHONY: demo test lint typecheck unit bench clean

$(STAMP): pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e '.[dev]'
	touch $(STAMP)

## demo: set up and run the example pipeline locally (no cluster needed)
demo: $(STAMP)
	$(BIN)/liuray run examples/channel_average/graph.json

## test: set up and run the whole test suite (lint, types, tests, Ray tests included)
test: $(STAMP) lint typecheck unit

lint: $(STAMP)
	$(BIN)/ruff check src tests bench examples
	$(BIN)/ruff format --check src tests bench examples
	$(BIN)/lint-imports

typecheck: $(STAMP)
	$(BIN)/mypy

unit: $(STAMP)
	$(BIN)/python -m pytest

## bench: liuray vs DALiuGE 6.6.0 side by side (installs the peer into bench/.peer-venv)
bench: $(STAMP)
	$(BIN)/python bench/run.py

clean:
	rm -rf $(VENV) .mypy_cache .ruff_cache .pytest_cache
