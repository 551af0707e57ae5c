# Two commands on a fresh machine: `make run` and `make test` (see docs/contract.md).
PYTHON ?= python3
VENV ?= .venv
BIN := $(VENV)/bin
PORT ?= 8080
WORKERS ?=
PYTEST_ARGS ?=

.PHONY: run test lint bench clean

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip

# Reinstall when the project's requirements change.
$(VENV)/.installed-run: pyproject.toml | $(BIN)/python
	$(BIN)/python -m pip install --quiet -e .
	touch $@

$(VENV)/.installed-test: pyproject.toml | $(BIN)/python
	$(BIN)/python -m pip install --quiet -e '.[test]'
	touch $@ $(VENV)/.installed-run

run: $(VENV)/.installed-run
	$(BIN)/tongban run --port $(PORT) $(if $(WORKERS),--workers $(WORKERS),)

test: $(VENV)/.installed-test
	$(BIN)/python -m pytest $(PYTEST_ARGS)

lint: $(VENV)/.installed-test
	$(BIN)/ruff check gateway trust adapters catalogs tests bench examples
	$(BIN)/ruff format --check gateway trust adapters catalogs tests bench examples
	$(BIN)/mypy

bench: $(VENV)/.installed-test
	$(BIN)/python -m bench
	$(BIN)/python -m bench recognition

clean:
	rm -rf $(VENV) .pytest_cache
