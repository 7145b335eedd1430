# Two commands for a fresh machine (see README.md):
#   make run    set up .venv and run the default sweep to the figures
#   make test   set up .venv and run the test suite
PYTHON ?= python3
VENV ?= .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.cimsweep-installed
CORES ?= 2

.PHONY: setup run test lint dry-run report clean

$(STAMP): pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet torch==2.13.0
	$(BIN)/python -m pip install --quiet -e ".[dev]"
	touch $(STAMP)

setup: $(STAMP)

run: $(STAMP)
	$(BIN)/snakemake --profile profiles/default --cores $(CORES)

dry-run: $(STAMP)
	$(BIN)/snakemake --profile profiles/default --dry-run

test: $(STAMP)
	$(BIN)/python -m pytest -q

lint: $(STAMP)
	$(BIN)/ruff check .
	$(BIN)/snakefmt --check Snakefile workflow/rules
	$(BIN)/snakemake --lint --configfile config/config.yaml

clean:
	rm -rf results .snakemake
