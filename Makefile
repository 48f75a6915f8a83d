# Two commands on a fresh machine with Python 3.11+:  `make serve`  and  `make check`.
# Each creates .venv on first use (and refreshes it when pyproject.toml changes).

PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed

.PHONY: serve check test lint format types layers schema clean

$(STAMP): pyproject.toml
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e '.[dev]'
	touch $(STAMP)

serve: $(STAMP)  ## run the gateway on the embedded default (SQLite, in-process broker, sandbox)
	$(BIN)/ordergate serve $(ARGS)

check: $(STAMP) lint types layers test  ## every gate: format, lint, types, layers, tests

lint: $(STAMP)
	$(BIN)/ruff format --check .
	$(BIN)/ruff check .

format: $(STAMP)
	$(BIN)/ruff format .
	$(BIN)/ruff check --fix .

types: $(STAMP)
	$(BIN)/mypy

layers: $(STAMP)
	$(BIN)/lint-imports

test: $(STAMP)
	$(BIN)/pytest $(PYTEST_ARGS)

schema: $(STAMP)  ## rewrite the committed SDL after a deliberate schema change
	$(BIN)/ordergate export-schema --output ordergate/schema/schema.graphql

clean:
	rm -rf $(VENV) .mypy_cache .pytest_cache .ruff_cache ordergate.db ordergate.db-*
