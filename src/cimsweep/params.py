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
    train_modes: ``training`` modes in which the train stage also reads it (QAT precisions,
    the noise-aware training's hardware); other modes' models do not depend on it.
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
    train_modes: tuple[str, ...] = field(default=())

    @property
    def runtime_setting(self) -> bool:
        """True for settings no result depends on (``data_dir``, ``device``)."""
        return not self.stages and not self.train_modes

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


# Training modes (the ``training`` parameter) and the parameters of other stages each reads.
TRAINING_MODES = ("float", "qat", "noise_aware")
_QAT = ("qat", "noise_aware")
_NOISE_AWARE = ("noise_aware",)


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
        _p(
            "user_model_kwargs",
            "path",
            "{}",
            "train",
            "Keyword arguments of the user model's class or factory, as a JSON object, e.g. "
            "'{\"width\": 64}'. Also settable as params.model = {module, kwargs, checkpoint}.",
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
            "training",
            "str",
            "float",
            "train",
            "float: plain training (post-training quantization); qat: quantization-aware "
            "training of weights and inputs at weight_precision / input_precision "
            "(straight-through estimator); noise_aware: qat plus, in every training forward, "
            "output noise of the power the simulated crossbars add (read noise at train_noise, "
            "ADC rounding, from the simulator's mapping) and weight clipping (weight_clip).",
            choices=TRAINING_MODES,
        ),
        _p(
            "train_noise",
            "float",
            0.05,
            "",
            "Read-noise std injected by noise_aware training (same meaning as read_noise).",
            minimum=0.0,
            train_modes=_NOISE_AWARE,
        ),
        _p(
            "weight_clip",
            "float",
            2.5,
            "",
            "noise_aware training clips every crossbar layer's weights to +-weight_clip "
            "standard deviations of the layer's weights after each update (0: off), so the "
            "weights fill the quantization range and outweigh the read noise (Joshi et al. "
            "2020).",
            minimum=0.0,
            train_modes=_NOISE_AWARE,
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
            train_modes=_QAT,
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
            train_modes=_QAT,
        ),
        _p(
            "input_calib_method",
            "str",
            "percentile",
            "calib",
            "How activation ranges are chosen (histogram: TensorRT entropy/KL calibration).",
            choices=("max", "percentile", "mse", "histogram"),
            train_modes=_QAT,
        ),
        _p(
            "weight_calib_method",
            "str",
            "max",
            "calib",
            "How weight ranges are chosen (histogram: TensorRT entropy/KL calibration).",
            choices=("max", "percentile", "mse", "histogram"),
            train_modes=_QAT,
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
            train_modes=_QAT,
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
            "infer_samples",
            "int",
            0,
            "infer",
            "Test samples evaluated by inference: the first N of a deterministic class-stratified "
            "order (the same samples at every grid point); 0 = the whole test set.",
            minimum=0,
        ),
        _p(
            "digital_layers",
            "str",
            "none",
            _QUANT,
            "Conv2d/Linear layers kept digital (not mapped onto crossbars).",
            choices=("none", "first", "last", "first_last"),
            train_modes=_QAT,
        ),
        # --- crossbar mapping and converters (simulator and PPA) --------------------------
        _p(
            "sub_array",
            "shape",
            (128, 128),
            _HW,
            "Subarray size: rows x cols (a single integer means square).",
            train_modes=_NOISE_AWARE,
        ),
        _p(
            "parallel_read",
            "int",
            0,
            _HW,
            "Rows activated at once per ADC read; 0 means all rows of the subarray.",
            minimum=0,
            train_modes=_NOISE_AWARE,
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
            train_modes=_NOISE_AWARE,
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
            train_modes=_NOISE_AWARE,
        ),
        _p(
            "adc_precision",
            "int",
            5,
            _HW,
            "ADC resolution.",
            unit="bit",
            minimum=1,
            maximum=16,
            train_modes=_NOISE_AWARE,
        ),
        _p(
            "signed_mapping",
            "str",
            "differential",
            _HW,
            "Signed weights: differential array pair, or offset mapping with a reference column.",
            choices=("differential", "offset"),
            train_modes=_NOISE_AWARE,
        ),
        _p(
            "mem_type",
            "str",
            "resistive",
            _HW,
            "Cell kind: resistive (conductance, S) or capacitive (capacitance, F).",
            choices=("resistive", "capacitive"),
            train_modes=_NOISE_AWARE,
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
            train_modes=_NOISE_AWARE,
        ),
        _p(
            "off_state",
            "float",
            1e-6,
            _HW,
            "Lowest cell level (S or F).",
            unit="S|F",
            minimum=0.0,
            train_modes=_NOISE_AWARE,
        ),
        _p(
            "mem_states_file",
            "path",
            "",
            _SIM,
            "CSV of the cell's measured levels ('' for none): header mean,std, one row per state "
            "from lowest to highest (S or F), 2**bitcell rows, means strictly increasing, std >= "
            "0. Replaces the evenly spaced levels between off_state and on_state in the "
            "simulator: level i is programmed to mean_i with a per-device deviation std_i "
            "(fixed per chip instance, added in quadrature to prog_noise); the range "
            "mean_0..mean_last takes the place of off_state..on_state. PPA keeps using "
            "off_state/on_state. Editing the file reruns only the inference jobs.",
        ),
        # --- simulator-only non-idealities ------------------------------------------------
        _p(
            "adc_range",
            "str",
            "full",
            _SIM,
            "ADC input range: full scale of the column, calibrated (clipped) range, or tuned "
            "(calibrated range scaled per layer to minimise its output error).",
            choices=("full", "calibrated", "tuned"),
            train_modes=_NOISE_AWARE,
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
            "Std of column-output noise before the ADC, in ADC LSB; -1 takes per-level "
            "statistics from output_noise_file instead (NeuroSim's convention).",
            unit="LSB",
            minimum=-1.0,
        ),
        _p(
            "output_noise_file",
            "path",
            "",
            _SIM,
            "CSV of per-level column-output statistics, used where output_noise = -1: header "
            "level,mean,std, one row per level, levels strictly increasing, std >= 0. level is "
            "the noise-free column output in unit products (one DAC input step times one cell "
            "level step, (on_state - off_state) / (2**bitcell - 1); the off-state baseline "
            "included), mean the measured mean output at that level and std its spread (both "
            "in unit products). Each read gets offset mean - level and Gaussian noise of "
            "std, interpolated linearly on its noise-free value (held constant beyond the "
            "first and last rows), before the ADC.",
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
        _p(
            "v",
            "float",
            0.0,
            _SIM,
            "Retention drift coefficient (drift_model = pcm: the mean drift exponent nu).",
            minimum=0.0,
        ),
        _p(
            "drift_model",
            "str",
            "neurosim",
            _SIM,
            "Retention law. neurosim: normalised level n * t**(v * s) clamped to [0, 1] (see "
            "detect, target); pcm: power law G(t) = G(t0) * (t / t0)**(-nu) on the conductance "
            "(off-state included, t0 = 1 s), nu per device ~ N(v, nu_std) clipped at 0 (Joshi "
            "et al. 2020).",
            choices=("neurosim", "pcm"),
        ),
        _p(
            "nu_std",
            "float",
            0.0,
            _SIM,
            "Device-to-device std of the PCM drift exponent nu (drift_model = pcm).",
            minimum=0.0,
        ),
        _p(
            "drift_compensation",
            "int",
            0,
            _SIM,
            "Global drift compensation (Joshi et al. 2020), 1 on, 0 off: per read group and "
            "weight slice, the digital outputs are scaled by the ratio of the column sums of an "
            "all-ones calibration read at t0 (stored at programming) and at read time t.",
            minimum=0,
            maximum=1,
        ),
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
def mode_params(mode: str) -> tuple[str, ...]:
    """Parameters the train stage reads only in ``training`` mode ``mode``."""
    return tuple(name for name, p in PARAMS.items() if mode in p.train_modes)


@cache
def conditional_params() -> frozenset[str]:
    """Parameters the train stage reads in some ``training`` modes only."""
    return frozenset(name for name, p in PARAMS.items() if p.train_modes)


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
