# The README's two commands: `make serve` and `make test`. Both install first when needed.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed
ASSETS := server/static/graphiql/graphiql.js

.PHONY: install serve test check bench bench-http bench-scale clean

install: $(STAMP) $(ASSETS)

# The editable install maps each top-level package: a new one (editorial/, catalog/) needs a
# reinstall, so the stamp depends on the packages too.
$(STAMP): pyproject.toml $(wildcard */__init__.py)
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	$(BIN)/pip install --quiet -e '.[dev]'
	touch $(STAMP)

# GraphiQL's JavaScript and CSS, built from pinned npm packages and served by us (no CDN).
node_modules/.package-lock.json: package.json package-lock.json
	npm ci --no-audit --no-fund --loglevel=error

$(ASSETS): node_modules/.package-lock.json web/graphiql.jsx web/build.mjs web/page.css
	npm run --silent build

# Migrates, loads the demo catalog when the database is empty, then serves on :8000.
serve: install
	$(BIN)/compendium db upgrade
	$(BIN)/compendium demo --if-empty
	$(BIN)/compendium serve

# The whole suite twice: on SQLite, then on PostgreSQL (COMPENDIUM_TEST_POSTGRES_URL,
# default postgres@127.0.0.1:5432; skipped with a reason when unreachable, except under CI).
test: install
	$(BIN)/pytest
	COMPENDIUM_TEST_BACKEND=postgresql $(BIN)/pytest

check: install
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/mypy config.py content db catalog resolvers editorial schema server
	$(BIN)/python -m tests.check_migrations
	$(BIN)/compendium export-schema --stdout | diff -u schema.graphql -

bench: install
	$(BIN)/python bench/generate.py

bench-http: install
	$(BIN)/python bench/http.py

# 200,000 reviews on SQLite and PostgreSQL against the demo catalog (several minutes).
bench-scale: install
	$(BIN)/python bench/scale.py

clean:
	rm -rf $(VENV) node_modules server/static .pytest_cache .mypy_cache .ruff_cache
