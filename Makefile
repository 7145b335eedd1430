# Two commands for a fresh machine (see README.md):
#   make run    set up .venv and run the default sweep to the figures
#   make test   set up .venv and run the test suite
PYTHON ?= python3
VENV ?= .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.cimsweep-installed
CORES ?= 2

.PHONY: setup run test lint dry-run report clean

# Snakemake looks up `--profile NAME` in the working directory and in
# $XDG_CONFIG_HOME/snakemake (default ~/.config/snakemake): link the repo's Slurm profile there
# so that `snakemake --profile slurm` works (README: "Running on a Slurm cluster").
SNAKEMAKE_CONFIG_DIR = $${XDG_CONFIG_HOME:-$$HOME/.config}/snakemake
.PHONY: slurm-profile test-slurm
slurm-profile:
	@mkdir -p "$(SNAKEMAKE_CONFIG_DIR)"
	@if [ -e "$(SNAKEMAKE_CONFIG_DIR)/slurm" ] && [ ! -L "$(SNAKEMAKE_CONFIG_DIR)/slurm" ]; then \
		echo "$(SNAKEMAKE_CONFIG_DIR)/slurm exists and is not a link: move it away first" >&2; \
		exit 1; fi
	ln -sfn "$(CURDIR)/profiles/slurm" "$(SNAKEMAKE_CONFIG_DIR)/slurm"

# Slurm tests against the local single-node cluster (root: installs and starts it).
test-slurm: $(STAMP)
	tests/slurm/start_cluster.sh
	REQUIRE_SLURM=1 $(BIN)/python -m pytest -q tests/test_slurm.py

$(STAMP): pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet torch==2.13.0
	$(BIN)/python -m pip install --quiet -e ".[dev]"
	touch $(STAMP)

setup: $(STAMP)

# A hard kill (SIGKILL, lost node) leaves Snakemake's directory lock behind: drop it when no
# Snakemake process of this user is alive, so that the same command resumes the sweep.
# ('[s]' keeps the pattern from matching this shell's own command line.)
run: $(STAMP)
	@if ! pgrep -u "$$(id -u)" -f 'bin/[s]nakemake' >/dev/null; then \
		$(BIN)/snakemake --profile profiles/default --unlock >/dev/null 2>&1 || true; fi
	$(BIN)/snakemake --profile profiles/default --cores $(CORES)

dry-run: $(STAMP)
	$(BIN)/snakemake --profile profiles/default --dry-run

test: $(STAMP)
	$(BIN)/python -m pytest -q

report: $(STAMP)
	$(BIN)/snakemake --profile profiles/default --report results/report.html

lint: $(STAMP)
	$(BIN)/ruff check .
	$(BIN)/snakefmt --check Snakefile workflow/rules
	$(BIN)/snakemake --lint --configfile config/config.yaml

clean:
	rm -rf results .snakemake

# Adaptive multi-objective search instead of the full grid (docs/search.md). Needs the
# `search` extra (Optuna): $(BIN)/pip install -e ".[search]". SEARCH_CONFIG picks the config.
SEARCH_CONFIG ?= config/sweeps/search_digits.yaml
.PHONY: search
search: $(STAMP)
	@$(BIN)/python -c "import optuna" 2>/dev/null || $(BIN)/python -m pip install --quiet -e ".[search]"
	@if ! pgrep -u "$$(id -u)" -f 'bin/[s]nakemake' >/dev/null; then \
		$(BIN)/snakemake --profile profiles/default --configfile $(SEARCH_CONFIG) --unlock \
		>/dev/null 2>&1 || true; fi
	$(BIN)/snakemake --profile profiles/default --configfile $(SEARCH_CONFIG) --cores $(CORES) search
