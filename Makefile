# pnav — `make run` serves on http://127.0.0.1:8000 (SQLite under var/, in-process broker); `make test` runs it all.
PYTHON ?= python3
VENV ?= .venv
BIN := $(VENV)/bin
HOST ?= 127.0.0.1
PORT ?= 8000

.PHONY: run install assets migrate demo test lint unit browser loadtest bench clean

$(BIN)/.installed: pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	$(BIN)/pip install --quiet -e '.[dev]'
	touch $@

node_modules/.installed: package.json package-lock.json
	@command -v npm >/dev/null 2>&1 || { \
	  if [ "$$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; then \
	    apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq npm >/dev/null; \
	  else echo "pnav needs npm to install the French State design system: sudo apt-get install npm"; exit 1; fi; }
	npm ci --no-audit --no-fund --loglevel=error
	touch $@

install: $(BIN)/.installed assets

assets: node_modules/.installed

migrate: install
	$(BIN)/pnav migrate

demo: migrate
	$(BIN)/pnav demo

run: migrate
	$(BIN)/pnav serve --host $(HOST) --port $(PORT)

lint: install
	$(BIN)/ruff check .
	$(BIN)/mypy

test: lint
	$(BIN)/pytest

unit: install
	$(BIN)/pytest -m "not browser"

browser: install
	$(BIN)/pytest -m browser

loadtest: install
	$(BIN)/python -m loadtests.run_locust

bench: install
	$(BIN)/python -m loadtests.bench

clean:
	rm -rf $(VENV) node_modules var .mypy_cache .ruff_cache .pytest_cache
