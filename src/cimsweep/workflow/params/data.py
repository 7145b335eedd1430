"""Data-set parameters."""

from __future__ import annotations

from .base import Param, declare

PARAMS: list[Param] = [
    declare(
        "dataset",
        "str",
        "digits",
        "data",
        "Data set name.",
        choices=("digits", "mnist", "fashion_mnist", "cifar10", "cifar100", "imagefolder"),
    ),
    declare(
        "data_dir",
        "path",
        "data",
        "",
        "Folder holding the data sets' files (fetch with `python -m cimsweep.download "
        "<dataset> <data_dir>`); a run-time setting, not part of any result path or seed.",
    ),
    declare(
        "image_size",
        "int",
        32,
        "data",
        "Side of the square images the imagefolder reader resizes to.",
        unit="px",
        minimum=8,
        maximum=1024,
    ),
    declare(
        "test_fraction",
        "float",
        0.2,
        "data",
        "Fraction of samples held out for testing (stratified).",
        minimum=0.0,
        maximum=0.9,
        exclusive_minimum=True,
    ),
    declare(
        "seed",
        "int",
        0,
        "data",
        "Root seed of every random stream.",
        minimum=0,
        maximum=2**63 - 1,
    ),
    declare(
        "max_points",
        "int",
        20_000,
        "",
        "Largest grid (points = product of the grid's list lengths) the workflow plans; a "
        "bigger one is refused before planning (which takes ~10-30 KB of memory per point). "
        "Raise it for a deliberate large sweep; a run-time setting, not part of any result.",
        minimum=1,
    ),
    declare(
        "points_per_job",
        "int",
        0,
        "",
        "Grid points per inference or PPA job. 1: one job per point; N > 1: the points sharing "
        "a calibration (inference) or a model (PPA) run as chunk jobs of about N/2 to N points, "
        "each writing the same per-point result files; 0 (default): 1 up to 1,000 jobs of a "
        "stage, 100 above (planning costs ~4 ms and ~40 KB per job). A run-time setting, not "
        "part of any result.",
        minimum=0,
    ),
]
