# The README's two commands: `make serve` and `make test`. Both install first when needed.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed

.PHONY: install serve test check bench clean

install: $(STAMP)

$(STAMP): pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	$(BIN)/pip install --quiet -e '.[dev]'
	touch $(STAMP)

# Migrates, loads the demo catalog when the database is empty, then serves.
serve: install
	$(BIN)/compendium db upgrade
	$(BIN)/compendium demo --if-empty
	$(BIN)/compendium serve

test: install
	$(BIN)/pytest

check: install
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/mypy schema db resolvers server
	COMPENDIUM_DATABASE_URL=sqlite:///$(CURDIR)/.check.db $(BIN)/alembic upgrade head
	COMPENDIUM_DATABASE_URL=sqlite:///$(CURDIR)/.check.db $(BIN)/alembic check
	rm -f .check.db .check.db-wal .check.db-shm

bench: install
	$(BIN)/python bench/generate.py

clean:
	rm -rf $(VENV) .pytest_cache .mypy_cache .ruff_cache
