# Shared helpers: config validation, the sweep's grid and per-stage path patterns.
from pathlib import Path

from snakemake.utils import validate

from cimsweep import config as sweep_config
from cimsweep.params import PARAMS

# Names first (with "did you mean"), then types and ranges, then cross-parameter rules:
# all before any job is planned.
sweep_config.check_keys(config)


validate(config, "../../config/schema.yaml")


SWEEP = sweep_config.load(config)

RESULTS = "results"
TECH_DIR = str(Path(workflow.basedir) / "config" / "tech")
TABLE_CSV = f"{RESULTS}/tables/sweep.csv"
TABLE_PARQUET = f"{RESULTS}/tables/sweep.parquet"
FIGURES = expand(f"{RESULTS}/figures/accuracy_vs_energy.{{ext}}", ext=["pdf", "png"])


wildcard_constraints:
    **{name: "[^/]+" for name in PARAMS},


def stage_path(stage, filename):
    """Result path pattern of a stage's file."""
    return f"{RESULTS}/{SWEEP.stage_dir(stage)}/{filename}"


def stage_log(stage, rule_name):
    """Log path pattern matching a stage's result path."""
    return f"{RESULTS}/logs/{SWEEP.stage_dir(stage)}/{rule_name}.log"


def stage_benchmark(stage, rule_name):
    """Benchmark (time/memory) path pattern matching a stage's result path."""
    return f"{RESULTS}/benchmarks/{SWEEP.stage_dir(stage)}/{rule_name}.tsv"


def stage_values(stage):
    """Params function: every value a stage reads, from the config and the path's wildcards."""
    return lambda wildcards: SWEEP.stage_values(stage, wildcards)


def tech_path(wildcards):
    """Technology file of the grid point's node."""
    node = SWEEP.stage_values("ppa", wildcards)["tech_node"]
    return f"{TECH_DIR}/{node}nm.yaml"
