# pnav — `make run` serves on http://127.0.0.1:8000 (SQLite under var/, in-process broker); `make test` runs it all.
PYTHON ?= python3
VENV ?= .venv
BIN := $(VENV)/bin
HOST ?= 127.0.0.1
PORT ?= 8000

.PHONY: run install assets messages translations migrate demo test lint unit browser loadtest bench dist upgrade lock clean

# Dependencies come from the hashed lock (requirements-dev.txt: runtime + dev tools, pip and setuptools included);
# pnav itself is installed editable on top, without resolving anything again.
$(BIN)/.installed: pyproject.toml requirements-dev.txt
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --require-hashes -r requirements-dev.txt
	$(BIN)/pip install --quiet --no-deps --no-build-isolation -e .
	touch $@

node_modules/.installed: package.json package-lock.json
	@command -v npm >/dev/null 2>&1 || { \
	  if [ "$$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; then \
	    apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq npm >/dev/null; \
	  else echo "pnav needs npm to install the French State design system: sudo apt-get install npm"; exit 1; fi; }
	npm ci --no-audit --no-fund --loglevel=error
	touch $@

install: $(BIN)/.installed assets translations

# The static files pnav serves, built from the pinned npm package into the package (chat/assets.py): the DSFR
# subset of the visitor pages (cut from their templates and scripts), Marianne split by Unicode range, brotli and
# gzip copies. Needs the venv (fontTools and brotli are pinned development dependencies).
ASSET_SOURCES := chat/assets.py chat/css_subset.py chat/fonts.py $(wildcard pnav/templates/*.html chat/static/js/*.js) \
  chat/static/pnav.css
chat/static/dsfr/VERSION: $(BIN)/.installed node_modules/.installed $(ASSET_SOURCES)
	$(BIN)/python -m chat.assets

assets: chat/static/dsfr/VERSION

# Translations of the visitor's side (README: adding a language). `make messages` extracts the French strings of the
# templates (babel.cfg) and of the scripts (babel-js.cfg) and merges them into every language's .po files, to be
# translated; `make translations` compiles them (.mo for the server, js.json for the scripts): `make install` runs
# it, and the wheel carries what it made.
LOCALES := pnav/locales
LANGS := en ar es pt uk
messages: $(BIN)/.installed
	$(BIN)/pybabel -q extract --no-location --sort-output --no-wrap -F babel.cfg -o $(LOCALES)/messages.pot \
	  --project=pnav --copyright-holder=pnav --msgid-bugs-address=- --ignore-dirs=".* _* node_modules dsfr var build dist" .
	$(BIN)/pybabel -q extract --no-location --sort-output --no-wrap -F babel-js.cfg -o $(LOCALES)/js.pot \
	  --project=pnav --copyright-holder=pnav --msgid-bugs-address=- --ignore-dirs=".* _* node_modules dsfr var build dist" .
	for lang in $(LANGS); do for domain in messages js; do \
	  $(BIN)/pybabel -q update --init-missing --no-fuzzy-matching --ignore-obsolete --no-wrap -D $$domain -l $$lang \
	    -i $(LOCALES)/$$domain.pot -d $(LOCALES) || exit 1; \
	done; done

translations: $(BIN)/.installed
	$(BIN)/pybabel -q compile -D messages -d $(LOCALES)
	$(BIN)/pybabel -q compile -D js -d $(LOCALES)
	$(BIN)/python -m pnav.catalogues

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

# A wheel and an sdist under dist/ carrying migrations, templates, routing data and the DSFR files.
dist: install
	rm -rf dist build
	$(BIN)/python -m build --no-isolation --outdir dist

# Refresh the locks to the newest versions pyproject.toml allows, then reinstall (README: checking an upgrade).
upgrade: install
	$(MAKE) lock UPGRADE=--upgrade

# Recompile the locks after a change of pyproject.toml (a new dependency), keeping every other pin, and reinstall.
lock:
	$(BIN)/pip-compile --quiet $(UPGRADE) --extra dev $(LOCK_FLAGS) --output-file requirements-dev.txt pyproject.toml
	$(BIN)/pip-compile --quiet $(UPGRADE) $(LOCK_FLAGS) --constraint requirements-dev.txt \
	  --output-file requirements.txt pyproject.toml
	$(BIN)/pip install --quiet --require-hashes -r requirements-dev.txt
	$(BIN)/pip install --quiet --no-deps --no-build-isolation -e .
	touch $(BIN)/.installed

LOCK_FLAGS := --generate-hashes --allow-unsafe --strip-extras --no-emit-index-url --no-emit-find-links

clean:
	rm -rf $(VENV) node_modules var .mypy_cache .ruff_cache .pytest_cache dist build chat/static/dsfr \
	  chat/static/built
