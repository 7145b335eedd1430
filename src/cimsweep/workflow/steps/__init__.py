"""One function per workflow step: read input files, call the library, write outputs atomically.

The Snakemake scripts in ``workflow/scripts/`` only translate ``snakemake.input/params/output``
into a call of one of these, so every step can be run and tested without Snakemake. One module
per stage: :mod:`.data` (split), :mod:`.models` (train, geometry), :mod:`.inference`
(calibrate, infer), :mod:`.hardware` (PPA); :mod:`.logs` holds the logging shared by all. The
steps after the grid live in :mod:`cimsweep.workflow.tabulate`; re-exported here.
"""

from cimsweep.workflow.steps.data import load_split, prepare_data, runtime_settings
from cimsweep.workflow.steps.hardware import ppa, tech_file
from cimsweep.workflow.steps.inference import calibrate, infer
from cimsweep.workflow.steps.logs import failure_recorded, log, setup_logging
from cimsweep.workflow.steps.models import _new_model, geometry, load_model, save_checkpoint, train
from cimsweep.workflow.tabulate import (
    COMPONENTS,
    METRICS,
    POINT_KEYS,
    PPA_TOTALS,
    _jsonable,
    aggregate,
    plot_layer_diagnostics,
    plot_table_figure,
    point_record,
    write_sweep_config,
)

__all__ = [
    "COMPONENTS",
    "METRICS",
    "POINT_KEYS",
    "PPA_TOTALS",
    "_jsonable",
    "_new_model",
    "aggregate",
    "calibrate",
    "failure_recorded",
    "geometry",
    "infer",
    "load_model",
    "load_split",
    "log",
    "plot_layer_diagnostics",
    "plot_table_figure",
    "point_record",
    "ppa",
    "prepare_data",
    "runtime_settings",
    "save_checkpoint",
    "setup_logging",
    "tech_file",
    "train",
    "write_sweep_config",
]
