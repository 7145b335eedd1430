# Shared helpers: config validation, the sweep's grid and per-stage path patterns.
import math
from pathlib import Path

from snakemake.utils import validate

from cimsweep.workflow import config as sweep_config
from cimsweep.workflow.figspec import check_options, diagnostics_point, figure_options
from cimsweep.workflow.figspec import figures_to_draw
from cimsweep.layout import chip_memory_mb
from cimsweep.workflow.params import PARAMS
from cimsweep.workflow.provenance import code_hash
from cimsweep.workflow import plan, yaml12

# Snakemake parsed the config files as YAML 1.1 (`032` octal, `1e-4` a string): plan with
# their YAML 1.2 values, `--config key=value` overrides on top.
try:
    yaml12.reload(config, workflow.configfiles, workflow.config_settings.config)
except yaml12.ConfigFileError as exc:
    raise sweep_config.ConfigError(str(exc)) from None

# Names first (with "did you mean"), then types and ranges, then cross-parameter rules:
# all before any job is planned.
sweep_config.check_keys(config)
check_options(config.get("figures"))


validate(config, "../schemas/config.schema.yaml")


SWEEP = sweep_config.load(config)
# Size of the plan, printed (and refused above params.max_points) before Snakemake plans it.
plan.check_size(SWEEP)
plan.warn(SWEEP)
# A user model imports, builds with its kwargs, loads its checkpoint and fits the data's shape.
plan.check_user_model(SWEEP)

RESULTS = "results"
# Relative to the working directory where it can be, so that moving the project reruns nothing.
TECH_DIR = plan.portable_path(Path(workflow.basedir).parent / "config" / "tech")
# Hash of the cimsweep source each stage runs: a `params` entry, so editing a stage's code
# reruns that stage (Snakemake's params trigger) and what depends on it.
CODE = {stage: code_hash(stage) for stage in plan.CODE_STAGES}
TABLE_CSV = f"{RESULTS}/tables/sweep.csv"
TABLE_PARQUET = f"{RESULTS}/tables/sweep.parquet"
SWEEP_CONFIG = f"{RESULTS}/tables/config.yaml"
FIGURE_CONFIG = config.get("figures") or {}
FIGURES = figures_to_draw(FIGURE_CONFIG, SWEEP)
FIGURE_FILES = expand(
    f"{RESULTS}/figures/{{figure}}.{{ext}}", figure=FIGURES, ext=["pdf", "png"]
)


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


def device_files(wildcards):
    """Measured device profiles an inference job reads: editing one reruns that job."""
    values = SWEEP.stage_values("infer", wildcards)
    files = [values["mem_states_file"]]
    if values["output_noise"] == -1:
        files.append(values["output_noise_file"])
    return [f for f in files if f]


def user_model_files(wildcards):
    """A user model's module file and checkpoint: editing or replacing one retrains it."""
    if wildcards.model != "user":
        return []
    return plan.user_model_files(SWEEP)


# Without measured device profiles the inference jobs have no such inputs: a constant saves
# calling the input function once per grid point while planning.
DEVICE_FILES = (
    device_files
    if SWEEP.values["mem_states_file"] or SWEEP.values["output_noise_file"]
    else []
)


def tech_path(wildcards):
    """Technology file of the grid point's node."""
    node = SWEEP.stage_values("ppa", wildcards)["tech_node"]
    return f"{TECH_DIR}/{node}nm.yaml"


# Cluster resources of each step at the first attempt, memory (MB) and runtime (min). Each retry
# multiplies both by the attempt number, so a job killed for memory or time comes back bigger.
# A site can override any of them in its profile (set-resources, expressions may use `attempt`).
BASE_RESOURCES = {
    "prepare_data": {"mem_mb": 2000, "runtime": 10},
    "train": {"mem_mb": 4000, "runtime": 120},
    "model_geometry": {"mem_mb": 1000, "runtime": 5},
    "calibrate": {"mem_mb": 2000, "runtime": 15},
    "infer": {"mem_mb": 2000, "runtime": 20},
    "ppa": {"mem_mb": 500, "runtime": 5},
    "aggregate": {"mem_mb": 2000, "runtime": 15},
    "plot": {"mem_mb": 2000, "runtime": 10},
    "sweep_config": {"mem_mb": 500, "runtime": 5},
}


def mem_mb(rule_name):
    """Memory request (MB) growing with the attempt number."""
    base = BASE_RESOURCES[rule_name]["mem_mb"]
    return lambda wildcards, attempt: base * attempt


def infer_mem_mb(wildcards, input, attempt):
    """Inference memory (MB): the base plus programming one chip of this model, by attempt."""
    base = BASE_RESOURCES["infer"]["mem_mb"]
    model = Path(input.model)
    if not model.exists():  # planning: the model is not trained yet
        return base * attempt
    values = SWEEP.stage_values("infer", wildcards)
    chip = chip_memory_mb(
        model.stat().st_size,
        values["weight_precision"],
        values["bitcell"],
        values["signed_mapping"],
    )
    return math.ceil(base + chip) * attempt


def runtime(rule_name):
    """Runtime request (min) growing with the attempt number."""
    base = BASE_RESOURCES[rule_name]["runtime"]
    return lambda wildcards, attempt: base * attempt
