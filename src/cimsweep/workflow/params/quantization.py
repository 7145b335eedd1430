"""Calibration and quantization parameters."""

from __future__ import annotations

from .base import QAT_MODES, QUANT, Param, declare

PARAMS: list[Param] = [
    declare(
        "preset",
        "str",
        "cimsweep",
        QUANT,
        "Semantics preset: cimsweep (this tool's defaults) or neurosim_v1.5 (DNN+NeuroSim "
        "V1.5's meanings: adc_range unit, multiplicative read noise per DAC cycle, offset "
        "mapping with a layer dummy column, dummy-row inputs, symmetric inputs, per-channel "
        "weights, max calibration, first layer digital, off current subtracted, drift per "
        "read, exclusive output noise). Keys given explicitly override it; the effective "
        "values are recorded (cimsweep.workflow.presets).",
        choices=("cimsweep", "neurosim_v1.5"),
        train_modes=QAT_MODES,
    ),
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
        "input_quant",
        "str",
        "asymmetric",
        QUANT,
        "Input quantization: asymmetric, 2**input_precision codes over [input_min, "
        "input_max] with a zero point; symmetric (NeuroSim V1.5), signed codes of "
        "+-(2**(input_precision - 1) - 1) steps of max(|input_min|, |input_max|), shifted "
        "by the range's lowest code (0 after a ReLU: one bit fewer).",
        choices=("asymmetric", "symmetric"),
        train_modes=QAT_MODES,
    ),
    declare(
        "weight_quant_axis",
        "str",
        "tensor",
        QUANT,
        "Weight scale: tensor, one per layer (weight_max); channel (NeuroSim V1.5), one per "
        "output channel, each at its own max |w| times weight_max / max |w| of the layer (so "
        "weight_calib_method = max gives each channel its max).",
        choices=("tensor", "channel"),
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
