"""Calibration and quantization parameters."""

from __future__ import annotations

from .base import QAT_MODES, QUANT, Param, declare

PARAMS: list[Param] = [
    declare(
        "weight_precision",
        "int",
        8,
        QUANT,
        "Weight bits (signed).",
        unit="bit",
        minimum=2,
        maximum=16,
        train_modes=QAT_MODES,
    ),
    declare(
        "input_precision",
        "int",
        8,
        QUANT,
        "Input (activation) bits.",
        unit="bit",
        minimum=1,
        maximum=16,
        train_modes=QAT_MODES,
    ),
    declare(
        "input_calib_method",
        "str",
        "percentile",
        "calib",
        "How activation ranges are chosen (histogram: TensorRT entropy/KL calibration).",
        choices=("max", "percentile", "mse", "histogram"),
        train_modes=QAT_MODES,
    ),
    declare(
        "weight_calib_method",
        "str",
        "max",
        "calib",
        "How weight ranges are chosen (histogram: TensorRT entropy/KL calibration).",
        choices=("max", "percentile", "mse", "histogram"),
        train_modes=QAT_MODES,
    ),
    declare(
        "calib_percentile",
        "float",
        99.99,
        "calib",
        "Percentile of |x| used by the percentile method.",
        unit="%",
        minimum=50.0,
        maximum=100.0,
        train_modes=QAT_MODES,
    ),
    declare(
        "calib_samples",
        "int",
        256,
        "calib",
        "Training samples used for calibration.",
        minimum=1,
    ),
    declare(
        "infer_samples",
        "int",
        0,
        "infer",
        "Test samples evaluated by inference: the first N of a deterministic class-stratified "
        "order (the same samples at every grid point); 0 = the whole test set.",
        minimum=0,
    ),
    declare(
        "digital_layers",
        "str",
        "none",
        QUANT,
        "Conv2d/Linear layers kept digital (not mapped onto crossbars).",
        choices=("none", "first", "last", "first_last"),
        train_modes=QAT_MODES,
    ),
]
