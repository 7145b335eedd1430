# Two commands for a fresh machine (see README.md):
#   make run    set up .venv and run the default sweep to the figures
#   make test   set up .venv and run the test suite
PYTHON ?= python3
VENV ?= .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.cimsweep-installed
CORES ?= 2

.PHONY: setup run test lint dry-run report clean docs

# Snakemake looks up `--profile NAME` in the working directory and in
# $XDG_CONFIG_HOME/snakemake (default ~/.config/snakemake): link the repo's Slurm profile there
# so that `snakemake --profile slurm` works (README: "Running on a Slurm cluster").
SNAKEMAKE_CONFIG_DIR = $${XDG_CONFIG_HOME:-$$HOME/.config}/snakemake
.PHONY: slurm-profile test-slurm
SLURM_STAMP := $(VENV)/.cimsweep-slurm-installed
$(SLURM_STAMP): $(STAMP)
	$(BIN)/python -m pip install --quiet -e ".[dev,docs,search,slurm]"
	touch $(SLURM_STAMP)

slurm-profile: $(SLURM_STAMP)
	@mkdir -p "$(SNAKEMAKE_CONFIG_DIR)"
	@if [ -e "$(SNAKEMAKE_CONFIG_DIR)/slurm" ] && [ ! -L "$(SNAKEMAKE_CONFIG_DIR)/slurm" ]; then \
		echo "$(SNAKEMAKE_CONFIG_DIR)/slurm exists and is not a link: move it away first" >&2; \
		exit 1; fi
	ln -sfn "$(CURDIR)/profiles/slurm" "$(SNAKEMAKE_CONFIG_DIR)/slurm"

# Slurm tests against the local single-node cluster (root: installs and starts it).
test-slurm: $(SLURM_STAMP)
	tests/slurm/start_cluster.sh
	REQUIRE_SLURM=1 $(BIN)/python -m pytest -q tests/test_slurm.py

$(STAMP): pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet torch==2.13.0
	$(BIN)/python -m pip install --quiet -e ".[dev,docs,search]"
	touch $(STAMP)

setup: $(STAMP)

# A hard kill (SIGKILL, lost node) leaves Snakemake's directory lock behind: drop this
# directory's lock when no live Snakemake process works here (cimsweep.workflow.unlock), so that
# the same command resumes the sweep. ARGS: extra Snakemake arguments (e.g. a --configfile).
ARGS ?=
# A missing or unreadable --configfile in ARGS stops with one sentence naming it
# (cimsweep.workflow.preflight; Snakemake itself would print a traceback).
run: $(STAMP)
	@$(BIN)/python -m cimsweep.workflow.preflight $(ARGS)
	@$(BIN)/python -m cimsweep.workflow.unlock .
	$(BIN)/snakemake --profile profiles/default --cores $(CORES) $(ARGS)

dry-run: $(STAMP)
	@$(BIN)/python -m cimsweep.workflow.preflight $(ARGS)
	$(BIN)/snakemake --profile profiles/default --dry-run $(ARGS)

# The suite includes the Slurm tests (tests/test_slurm.py): it needs the Slurm executor plugin.
test: $(SLURM_STAMP)
	$(BIN)/python -m pytest -q

report: $(STAMP)
	@$(BIN)/python -m cimsweep.workflow.preflight $(ARGS)
	$(BIN)/snakemake --profile profiles/default --report results/report.html $(ARGS)

lint: $(STAMP)
	$(BIN)/ruff check .
	$(BIN)/snakefmt --check workflow/Snakefile workflow/rules
	$(BIN)/snakemake --lint --configfile config/config.yaml
	$(BIN)/python -m mypy

# Documentation site (mkdocs-material) into site/; the parameter reference is rendered from
# src/cimsweep/workflow/params/ by the hook docs/hooks.py.
docs: $(STAMP)
	NO_MKDOCS_2_WARNING=1 $(BIN)/mkdocs build --strict --site-dir site

clean:
	rm -rf results .snakemake

# Adaptive multi-objective search instead of the full grid (docs/search.md). Needs the
# `search` extra (Optuna): $(BIN)/pip install -e ".[search]". SEARCH_CONFIG picks the config.
SEARCH_CONFIG ?= config/sweeps/search_digits.yaml
.PHONY: search
search: $(STAMP)
	@$(BIN)/python -c "import optuna" 2>/dev/null || $(BIN)/python -m pip install --quiet -e ".[search]"
	@$(BIN)/python -m cimsweep.workflow.preflight --configfile $(SEARCH_CONFIG)
	@$(BIN)/python -m cimsweep.workflow.unlock .
	$(BIN)/snakemake --profile profiles/default --configfile $(SEARCH_CONFIG) --cores $(CORES) search
