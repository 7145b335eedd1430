"""Every sweep parameter, declared once.

Each :class:`Param` states its type, default, allowed range, unit and the workflow stages that
read it. The JSON schema (``config/schema.yaml``), the per-stage result paths and the per-stage
parameter dictionaries handed to the library are all derived from :data:`PARAMS`.

Parameter names and meanings follow DNN+NeuroSim V1.5 where it has one (``sub_array``,
``parallel_read``, ``bitcell``, ``adc_precision``, ``read_noise``, ``rate_stuck_0``, retention
``t``/``v``/``detect``/``target``).
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from functools import cache
from typing import Any

# Workflow stages, in data-flow order. A stage's result path nests under its parent's.
STAGES = ("data", "train", "calib", "infer", "ppa")
STAGE_PARENT = {"data": None, "train": "data", "calib": "train", "infer": "calib", "ppa": None}

Value = Any


@dataclass(frozen=True)
class Param:
    """Declaration of one sweep parameter.

    kind: ``int``, ``float``, ``str`` (one of ``choices``), ``shape`` (rows x cols) or ``path``
    (free text: a file, folder or ``module:Name``; never a grid axis).
    stages: the workflow stages whose result depends on this parameter.
    """

    name: str
    kind: str
    default: Value
    stages: frozenset[str]
    doc: str
    unit: str = ""
    minimum: float | None = None
    maximum: float | None = None
    exclusive_minimum: bool = False
    choices: tuple[Any, ...] = field(default=())

    def json_schema(self) -> dict[str, Any]:
        """JSON-schema fragment accepting one value of this parameter."""
        if self.kind == "str":
            return {"type": "string", "enum": list(self.choices)}
        if self.kind == "path":
            return {"type": "string"}
        if self.kind == "shape":
            return {
                "oneOf": [
                    {"type": "integer", "minimum": 1},
                    {
                        "type": "array",
                        "items": {"type": "integer", "minimum": 1},
                        "minItems": 2,
                        "maxItems": 2,
                    },
                ]
            }
        schema: dict[str, Any] = {"type": "integer" if self.kind == "int" else "number"}
        if self.choices:
            schema["enum"] = list(self.choices)
        if self.minimum is not None:
            key = "exclusiveMinimum" if self.exclusive_minimum else "minimum"
            schema[key] = self.minimum
        if self.maximum is not None:
            schema["maximum"] = self.maximum
        return schema


def _p(name: str, kind: str, default: Value, stages: str, doc: str, **kw: Any) -> Param:
    return Param(name, kind, default, frozenset(stages.split()), doc, **kw)


_SIM = "infer"
_HW = "infer ppa"
_QUANT = "calib infer ppa"

PARAMS: dict[str, Param] = {
    p.name: p
    for p in [
        # --- data -------------------------------------------------------------------------
        _p(
            "dataset",
            "str",
            "digits",
            "data",
            "Data set name.",
            choices=("digits", "mnist", "fashion_mnist", "cifar10", "cifar100", "imagefolder"),
        ),
        _p(
            "data_dir",
            "path",
            "data",
            "",
            "Folder holding the data sets' files (fetch with `python -m cimsweep.download "
            "<dataset> <data_dir>`); a run-time setting, not part of any result path or seed.",
        ),
        _p(
            "image_size",
            "int",
            32,
            "data",
            "Side of the square images the imagefolder reader resizes to.",
            unit="px",
            minimum=8,
            maximum=1024,
        ),
        _p(
            "test_fraction",
            "float",
            0.2,
            "data",
            "Fraction of samples held out for testing (stratified).",
            minimum=0.0,
            maximum=0.9,
            exclusive_minimum=True,
        ),
        _p("seed", "int", 0, "data", "Root seed of every random stream.", minimum=0),
        # --- training ---------------------------------------------------------------------
        _p(
            "model",
            "str",
            "mlp",
            "train",
            "Network architecture (user: see user_model).",
            choices=("mlp", "cnn", "vgg8", "resnet18", "resnet20", "lenet5", "user"),
        ),
        _p(
            "user_model",
            "path",
            "",
            "train",
            "Network class or factory of model = user, as 'package.module:Name'.",
        ),
        _p(
            "user_checkpoint",
            "path",
            "",
            "train",
            "Optional state_dict loaded into the user model before training ('' for none).",
        ),
        _p("epochs", "int", 40, "train", "Training epochs.", minimum=1, maximum=10000),
        _p(
            "lr",
            "float",
            2e-3,
            "train",
            "Adam learning rate.",
            minimum=0.0,
            exclusive_minimum=True,
            maximum=10.0,
        ),
        _p("batch_size", "int", 64, "train", "Training mini-batch size.", minimum=1),
        _p("weight_decay", "float", 1e-4, "train", "Adam weight decay.", minimum=0.0),
        _p(
            "optimizer",
            "str",
            "adam",
            "train",
            "Optimizer (all with a per-epoch cosine learning-rate schedule).",
            choices=("adam", "adamw", "sgd"),
        ),
        _p(
            "momentum",
            "float",
            0.9,
            "train",
            "SGD (Nesterov) momentum.",
            minimum=0.0,
            maximum=0.999,
        ),
        _p(
            "augment",
            "str",
            "auto",
            "train",
            "Training augmentation: random crop (4-px padding) + horizontal flip; auto = on "
            "for cifar10, cifar100 and imagefolder.",
            choices=("auto", "none", "crop_flip"),
        ),
        _p(
            "amp",
            "int",
            1,
            "train",
            "Mixed-precision training on CUDA (1 on, 0 off).",
            minimum=0,
            maximum=1,
        ),
        _p(
            "device",
            "str",
            "auto",
            "",
            "Training device (auto: CUDA when available); a run-time setting, not part of any "
            "result path or seed.",
            choices=("auto", "cpu", "cuda"),
        ),
        # --- calibration / quantization ---------------------------------------------------
        _p(
            "weight_precision",
            "int",
            8,
            _QUANT,
            "Weight bits (signed).",
            unit="bit",
            minimum=2,
            maximum=16,
        ),
        _p(
            "input_precision",
            "int",
            8,
            _QUANT,
            "Input (activation) bits.",
            unit="bit",
            minimum=1,
            maximum=16,
        ),
        _p(
            "input_calib_method",
            "str",
            "percentile",
            "calib",
            "How activation ranges are chosen (histogram: TensorRT entropy/KL calibration).",
            choices=("max", "percentile", "mse", "histogram"),
        ),
        _p(
            "weight_calib_method",
            "str",
            "max",
            "calib",
            "How weight ranges are chosen (histogram: TensorRT entropy/KL calibration).",
            choices=("max", "percentile", "mse", "histogram"),
        ),
        _p(
            "calib_percentile",
            "float",
            99.99,
            "calib",
            "Percentile of |x| used by the percentile method.",
            unit="%",
            minimum=50.0,
            maximum=100.0,
        ),
        _p(
            "calib_samples",
            "int",
            256,
            "calib",
            "Training samples used for calibration.",
            minimum=1,
        ),
        _p(
            "digital_layers",
            "str",
            "none",
            _QUANT,
            "Conv2d/Linear layers kept digital (not mapped onto crossbars).",
            choices=("none", "first", "last", "first_last"),
        ),
        # --- crossbar mapping and converters (simulator and PPA) --------------------------
        _p(
            "sub_array",
            "shape",
            (128, 128),
            _HW,
            "Subarray size: rows x cols (a single integer means square).",
        ),
        _p(
            "parallel_read",
            "int",
            0,
            _HW,
            "Rows activated at once per ADC read; 0 means all rows of the subarray.",
            minimum=0,
        ),
        _p(
            "bitcell",
            "int",
            1,
            _HW,
            "Bits stored per memory cell.",
            unit="bit",
            minimum=1,
            maximum=8,
        ),
        _p(
            "dac_precision",
            "int",
            1,
            _HW,
            "Input bits applied per cycle (1 = bit-serial).",
            unit="bit",
            minimum=1,
            maximum=16,
        ),
        _p("adc_precision", "int", 5, _HW, "ADC resolution.", unit="bit", minimum=1, maximum=16),
        _p(
            "signed_mapping",
            "str",
            "differential",
            _HW,
            "Signed weights: differential array pair, or offset mapping with a reference column.",
            choices=("differential", "offset"),
        ),
        _p(
            "mem_type",
            "str",
            "resistive",
            _HW,
            "Cell kind: resistive (conductance, S) or capacitive (capacitance, F).",
            choices=("resistive", "capacitive"),
        ),
        _p(
            "on_state",
            "float",
            1e-4,
            _HW,
            "Highest cell level (S or F).",
            unit="S|F",
            minimum=0.0,
            exclusive_minimum=True,
        ),
        _p("off_state", "float", 1e-6, _HW, "Lowest cell level (S or F).", unit="S|F", minimum=0.0),
        # --- simulator-only non-idealities ------------------------------------------------
        _p(
            "adc_range",
            "str",
            "full",
            _SIM,
            "ADC input range: full scale of the column, calibrated (clipped) range, or tuned "
            "(calibrated range scaled per layer to minimise its output error).",
            choices=("full", "calibrated", "tuned"),
        ),
        _p(
            "read_noise",
            "float",
            0.0,
            _SIM,
            "Std of conductance read noise, relative to the level range (fresh every read).",
            minimum=0.0,
        ),
        _p(
            "output_noise",
            "float",
            0.0,
            _SIM,
            "Std of column-output noise before the ADC, in ADC LSB.",
            unit="LSB",
            minimum=0.0,
        ),
        _p(
            "prog_noise",
            "float",
            0.0,
            _SIM,
            "Std of programming variation, relative to the level range (fixed per chip).",
            minimum=0.0,
        ),
        _p(
            "rate_stuck_0",
            "float",
            0.0,
            _SIM,
            "Fraction of cells stuck at the off state.",
            minimum=0.0,
            maximum=1.0,
        ),
        _p(
            "rate_stuck_1",
            "float",
            0.0,
            _SIM,
            "Fraction of cells stuck at the on state.",
            minimum=0.0,
            maximum=1.0,
        ),
        _p(
            "t",
            "float",
            1.0,
            _SIM,
            "Retention time since programming (t0 = 1 s).",
            unit="s",
            minimum=1.0,
        ),
        _p("v", "float", 0.0, _SIM, "Retention drift coefficient.", minimum=0.0),
        _p(
            "detect",
            "int",
            0,
            _SIM,
            "Drift direction: 0 random (+1/0/-1 per cell), 1 toward target.",
            minimum=0,
            maximum=1,
        ),
        _p(
            "target",
            "float",
            0.0,
            _SIM,
            "Normalised target level for detect = 1.",
            minimum=0.0,
            maximum=1.0,
        ),
        _p(
            "mc_runs",
            "int",
            3,
            _SIM,
            "Monte-Carlo chip instances per grid point.",
            minimum=1,
            maximum=1000,
        ),
        # --- PPA-only hardware ------------------------------------------------------------
        _p(
            "tech_node",
            "int",
            22,
            "ppa",
            "Technology node.",
            unit="nm",
            choices=(130, 65, 45, 32, 22, 14, 7),
        ),
        _p("adc_type", "str", "sar", "ppa", "ADC architecture.", choices=("sar", "flash")),
        _p("column_mux", "int", 8, "ppa", "Columns sharing one ADC.", minimum=1),
        _p(
            "cell_type",
            "str",
            "1T1R",
            "ppa",
            "Memory-cell circuit (sets the footprint in F^2).",
            choices=("1T1R", "SRAM6T", "SRAM8T"),
        ),
        _p(
            "ppa_mode",
            "str",
            "layer",
            "ppa",
            "Latency model: layer-by-layer or pipelined across layers.",
            choices=("layer", "pipeline"),
        ),
    ]
}


@cache
def stage_params(stage: str) -> tuple[str, ...]:
    """Names of the parameters a stage reads, in declaration order."""
    return tuple(name for name, p in PARAMS.items() if stage in p.stages)


@cache
def stage_own_params(stage: str) -> tuple[str, ...]:
    """Parameters a stage reads that its ancestors (path parents) do not already hold."""
    inherited: set[str] = set()
    parent = STAGE_PARENT[stage]
    while parent is not None:
        inherited.update(stage_params(parent))
        parent = STAGE_PARENT[parent]
    return tuple(name for name in stage_params(stage) if name not in inherited)


@cache
def stage_all_params(stage: str) -> tuple[str, ...]:
    """Parameters a stage's result depends on: its own plus every ancestor's."""
    names: set[str] = set()
    current: str | None = stage
    while current is not None:
        names.update(stage_params(current))
        current = STAGE_PARENT[current]
    return tuple(n for n in PARAMS if n in names)


def canonical(name: str, value: Value) -> Value:
    """Normalise a validated value: shapes become (rows, cols), ints stay ints, floats floats."""
    p = PARAMS[name]
    if p.kind == "shape":
        if isinstance(value, int):
            return (value, value)
        return (int(value[0]), int(value[1]))
    if p.kind == "float":
        return float(value)
    if p.kind == "int":
        return int(value)
    return value


def token(name: str, value: Value) -> str:
    """Path token for one canonical value: round-trips through :func:`parse_token`."""
    p = PARAMS[name]
    if p.kind == "shape":
        return f"{value[0]}x{value[1]}"
    if p.kind == "float":
        return repr(float(value))
    return str(value)


def parse_token(name: str, text: str) -> Value:
    """Inverse of :func:`token`."""
    p = PARAMS[name]
    if p.kind == "shape":
        rows, cols = text.split("x")
        return (int(rows), int(cols))
    if p.kind == "float":
        return float(text)
    if p.kind == "int":
        return int(text)
    return text


def is_finite_number(value: Value) -> bool:
    """True for an int or float that is neither NaN nor infinite (bools excluded)."""
    return (
        isinstance(value, (int, float))
        and not isinstance(value, bool)
        and math.isfinite(float(value))
    )
