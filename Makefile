# liuray developer commands. Each target builds its own virtual environment (.venv) from
# pyproject.toml, so nothing depends on what happens to be installed on the machine.
PYTHON ?= python3
VENV ?= .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed
# A second environment with liuray's core only (no extra) plus the test tools: the suite
# must pass there too, the tests of the extras skipping themselves.
CORE_VENV ?= .venv-core
CORE_STAMP := $(CORE_VENV)/.installed
TEST_TOOLS := 'pytest>=8' 'pytest-timeout>=2.3' 'hypothesis>=6.100'

.PHONY: demo test lint typecheck unit test-core browser bench clean

$(STAMP): pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e '.[dev]'
	touch $(STAMP)

$(CORE_STAMP): pyproject.toml
	$(PYTHON) -m venv $(CORE_VENV)
	$(CORE_VENV)/bin/python -m pip install --quiet --upgrade pip
	$(CORE_VENV)/bin/python -m pip install --quiet -e . $(TEST_TOOLS)
	touch $(CORE_STAMP)

## demo: set up and run the example pipeline locally (no cluster needed)
demo: $(STAMP)
	$(BIN)/liuray run examples/channel_average/graph.json

## test: set up and run the whole test suite (lint, types, tests, Ray tests included),
## then the tests again with the core only (no extra installed)
test: $(STAMP) lint typecheck browser unit test-core

lint: $(STAMP)
	$(BIN)/ruff check src tests bench examples
	$(BIN)/ruff format --check src tests bench examples
	$(BIN)/lint-imports

## browser: Debian's Chromium for the browser tests (tests/web/), if it is missing.
## Playwright cannot download its own browsers here; without one the tests skip (and
## fail under CI, which must run them), so an apt-get failure only warns.
CHROMIUM ?= /usr/bin/chromium
browser:
	@if [ -x $(CHROMIUM) ]; then :; \
	elif [ "$$(id -u)" = 0 ] && command -v apt-get >/dev/null; then \
		echo "installing chromium for the browser tests (apt-get)"; \
		(apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium >/dev/null) \
			|| echo "warning: could not install chromium; tests/web will not run"; \
	else echo "warning: no $(CHROMIUM) and no root apt-get: tests/web will skip (install chromium)"; fi

typecheck: $(STAMP)
	$(BIN)/mypy

unit: $(STAMP)
	$(BIN)/python -m pytest

## test-core: the tests with liuray's core only, in $(CORE_VENV): no extra may be needed
test-core: $(CORE_STAMP)
	$(CORE_VENV)/bin/python -m pytest -q -p no:cacheprovider

## bench: liuray vs DALiuGE 6.6.0 side by side (installs the peer into bench/.peer-venv)
bench: $(STAMP)
	$(BIN)/python bench/run.py

clean:
	rm -rf $(VENV) $(CORE_VENV) .mypy_cache .ruff_cache .pytest_cache
