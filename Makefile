# Two commands on a fresh machine: `make run` and `make test` (see docs/contract.md).
PYTHON ?= python3
VENV ?= .venv
BIN := $(VENV)/bin
PORT ?= 8080
WORKERS ?=
PYTEST_ARGS ?=
# Test processes (pytest-xdist): two, for a two-core machine; each test module stays in one process
# (its module-scoped sandboxes with it). TEST_WORKERS=0 runs everything in this one.
TEST_WORKERS ?= 2

.PHONY: run test lint bench clean lock

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip

# Installs are reproducible: exactly the versions in the lock files (pyproject.toml keeps the
# ranges); `make lock` refreshes them. Reinstall when either changes.
$(VENV)/.installed-run: pyproject.toml requirements.lock | $(BIN)/python
	$(BIN)/python -m pip install --quiet -r requirements.lock
	$(BIN)/python -m pip install --quiet --no-deps -e .
	touch $@

$(VENV)/.installed-test: pyproject.toml requirements-test.lock | $(BIN)/python
	$(BIN)/python -m pip install --quiet -r requirements-test.lock
	$(BIN)/python -m pip install --quiet --no-deps -e '.[test]'
	touch $@ $(VENV)/.installed-run

# Refresh the lock files from pyproject.toml's ranges, each in a fresh virtual environment.
lock:
	rm -rf .lock-venv && $(PYTHON) -m venv .lock-venv && .lock-venv/bin/pip install --quiet .
	(sed -n 1,2p requirements.lock; .lock-venv/bin/pip freeze --exclude tongban) > requirements.lock.new
	rm -rf .lock-venv && $(PYTHON) -m venv .lock-venv && .lock-venv/bin/pip install --quiet '.[test]'
	(sed -n 1,2p requirements-test.lock; .lock-venv/bin/pip freeze --exclude tongban) > requirements-test.lock.new
	mv requirements.lock.new requirements.lock && mv requirements-test.lock.new requirements-test.lock
	rm -rf .lock-venv

run: $(VENV)/.installed-run
	$(BIN)/tongban run --port $(PORT) $(if $(WORKERS),--workers $(WORKERS),)

test: $(VENV)/.installed-test
	$(BIN)/python -m pytest -n $(TEST_WORKERS) --dist loadfile $(PYTEST_ARGS)

lint: $(VENV)/.installed-test
	$(BIN)/ruff check gateway trust adapters catalogs tests bench examples
	$(BIN)/ruff format --check gateway trust adapters catalogs tests bench examples
	$(BIN)/mypy

# The relay under load beside a bare proxy, the audit log, recognition, credit and evaluation fan-out;
# writes bench/results.json.
# TONGBAN_BENCH_POSTGRES_URL adds the gateway on PostgreSQL. Needs wrk (installed when missing, as root).
bench: $(VENV)/.installed-test
	$(BIN)/python -m bench

clean:
	rm -rf $(VENV) .pytest_cache
