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
from functools import cache

from . import crossbar, data, hardware, nonideal, quantization, training
from .base import STAGE_PARENT, STAGES, TRAINING_MODES, Param, Value

__all__ = [
    "PARAMS",
    "STAGES",
    "STAGE_PARENT",
    "TRAINING_MODES",
    "Param",
    "Value",
    "canonical",
    "conditional_params",
    "is_finite_number",
    "mode_params",
    "parse_token",
    "stage_all_params",
    "stage_own_params",
    "stage_params",
    "token",
]

# One module per section, in the order the schema and the docs list them.
PARAMS: dict[str, Param] = {
    p.name: p
    for module in (data, training, quantization, crossbar, nonideal, hardware)
    for p in module.PARAMS
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
