PYTHON ?= python3
VENV ?= .venv
BIN = $(VENV)/bin

CHROMIUM = /usr/lib/chromium/chromium

.PHONY: install browser run test bench screenshots lint fmt clean

install: $(VENV)/.installed

$(VENV)/.installed: pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e '.[embedded,dev]'
	touch $@

# The browser tests drive Debian's chromium through Playwright (executable_path); browsers are
# never downloaded (no `playwright install`). Installed like the bench's wrk: apt, as root.
browser:  ## Debian's chromium and a font for the browser tests, when missing
	@test -x $(CHROMIUM) && test -d /usr/share/fonts/truetype/dejavu || { \
	  apt-get update -qq && \
	  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium fonts-dejavu-core; }
	@test -x $(CHROMIUM) || { echo "$(CHROMIUM) is missing: the browser tests cannot run" >&2; exit 1; }

run: install  ## the whole shop on embedded PostgreSQL and Redis, seeded, on :8080
	$(BIN)/shopflow dev

test: install browser  ## the type check (mypy --strict) and the test suite
	$(BIN)/mypy
	$(BIN)/pytest

bench: install browser  ## load benchmarks (the storefront's in chromium too); ratios against baselines of the same run
	$(BIN)/python -m bench

screenshots: install browser  ## the README's pictures of the shop (docs/screenshots/), by the tests' chromium
	SHOPFLOW_SCREENSHOTS=1 $(BIN)/pytest -q -p no:cacheprovider tests/web/test_screenshots.py

lint: install
	$(BIN)/ruff check .
	$(BIN)/mypy
	$(BIN)/hadolint Dockerfile

fmt: install
	$(BIN)/ruff format .
	$(BIN)/ruff check --fix .

clean:
	rm -rf $(VENV) .shopflow .pytest_cache .mypy_cache .ruff_cache
