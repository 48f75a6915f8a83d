# Two commands on a fresh machine with Python 3.11+:  `make serve`  and  `make check`.
# Each creates .venv on first use (and refreshes it when pyproject.toml changes). Where Node and
# npm are, `make check` also installs the client setups of docs/clients.md (clients/, pinned by
# its package-lock.json) that tests/test_clients.py and tests/test_supergraph.py run.

PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed

NODE_STAMP := clients/node_modules/.installed

# `make test` runs pytest-xdist workers (one more than the cores: a test often waits on a server,
# a database or a subprocess, and the extra worker fills that time; PYTEST_WORKERS=0 for one
# process), each with its own databases, servers and ports; a test file stays on one worker, so
# its module's servers start once. The slowest tests are listed at the end (the suite's time is
# everyone's).
PYTEST_WORKERS ?= $(shell $(PYTHON) -c 'import os; print(len(os.sched_getaffinity(0)) + 1)')

.PHONY: serve check test lint format types layers schema readme clean

# The project installs with uv (from PyPI, into the venv): it resolves and installs what pip
# does, from the same pyproject.toml, and compiles the bytecode on both cores: 14 s from a
# clean clone with nothing cached, against pip's 27 s.
$(STAMP): pyproject.toml
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --disable-pip-version-check uv
	$(BIN)/uv pip install --quiet --python $(BIN)/python --compile-bytecode -e '.[dev]'
	touch $(STAMP)

# The lock file pins every package by its integrity hash, so what npm has cached is taken
# without asking the registry again (`--prefer-offline`: ~10.7 s of CPU instead of ~16).
$(NODE_STAMP): clients/package.json clients/package-lock.json
	@if command -v npm >/dev/null 2>&1; then \
	  cd clients && npm ci --no-audit --no-fund --prefer-offline --loglevel=error && touch node_modules/.installed; \
	else \
	  echo "npm not found: the client tests (tests/test_clients.py, tests/test_supergraph.py) will skip"; \
	fi

serve: $(STAMP)  ## run the gateway on the embedded default (SQLite, in-process broker, sandbox)
	$(BIN)/ordergate serve $(ARGS)

# The venv and the client setups are installed side by side (uv is busy with the CPU while npm
# mostly waits on the network), then the gates run one after another. (Running the gates beside
# the tests bought nothing measurable: the tests keep both cores busy, and mypy's ~18 s of CPU
# only moved into their time; docs/benchmarks.md.)
check:  ## every gate: format, lint, types, layers, tests
	$(MAKE) --no-print-directory -j2 --output-sync=target $(STAMP) $(NODE_STAMP)
	$(MAKE) --no-print-directory lint types layers test

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

test: $(STAMP) $(NODE_STAMP)
	$(BIN)/pytest -n $(PYTEST_WORKERS) --dist loadfile --durations=15 --durations-min=3 $(PYTEST_ARGS)

schema: $(STAMP)  ## rewrite the committed SDL after a deliberate schema change
	$(BIN)/ordergate export-schema --output ordergate/schema/schema.graphql

readme: $(STAMP)  ## rewrite the README's table of settings from ordergate/settings.py
	$(BIN)/ordergate settings --write-readme README.md

clean:
	rm -rf $(VENV) .mypy_cache .pytest_cache .ruff_cache ordergate.db ordergate.db-* ordergate.sandbox clients/node_modules
