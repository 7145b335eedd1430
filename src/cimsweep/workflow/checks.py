"""Config checks: the error type, one value against its declaration, cross-parameter rules, and
the files and data sets a sweep names, all before any job runs."""

from __future__ import annotations

import difflib
import itertools
from collections.abc import Mapping
from typing import TYPE_CHECKING

from cimsweep.workflow.params import PARAMS, Value, is_finite_number, token

if TYPE_CHECKING:
    from cimsweep.workflow.config import Sweep


class ConfigError(ValueError):
    """A configuration problem, reported before any job runs."""


def suggest(name: str, choices: list[str]) -> str:
    close = difflib.get_close_matches(name, choices, n=1, cutoff=0.6)
    return f" (did you mean {close[0]!r}?)" if close else ""


def unknown_key(where: str, name: str, choices: list[str]) -> ConfigError:
    return ConfigError(
        f"unknown key {name!r} in {where}{suggest(name, choices)}; "
        f"expected one of: {', '.join(sorted(choices))}"
    )


def check_value(where: str, name: str, value: Value) -> None:
    p = PARAMS[name]
    if p.kind in ("int", "float") and not is_finite_number(value):
        raise ConfigError(f"{where}.{name} must be a finite number, got {value!r}")
    if p.kind == "int" and isinstance(value, int) and not -(2**63) <= value < 2**63:
        raise ConfigError(
            f"{where}.{name} = {value} does not fit in 64 bits; expected an integer below 2**63"
        )
    if p.kind == "shape" and not is_shape(value):
        raise ConfigError(
            f"{where}.{name} = {value!r} is not a subarray size; expected a positive integer "
            "(rows = cols) or [rows, cols] of positive integers"
        )
    if p.kind == "str" and value not in p.choices:
        raise ConfigError(
            f"{where}.{name} = {value!r} is not allowed; expected one of {list(p.choices)}"
            f"{suggest(str(value), [str(c) for c in p.choices])}"
        )


def is_shape(value: Value) -> bool:
    def positive(v: Value) -> bool:
        return isinstance(v, int) and not isinstance(v, bool) and v >= 1

    if isinstance(value, (list, tuple)):
        return len(value) == 2 and all(positive(v) for v in value)
    return positive(value)


def check_combination(point: Mapping[str, Value], where: str) -> None:
    rows, cols = point["sub_array"]
    if point["parallel_read"] > rows:
        raise ConfigError(
            f"{where}: parallel_read = {point['parallel_read']} exceeds the sub_array rows "
            f"({rows}); expected 0 (all rows) or 1..{rows}"
        )
    if point["bitcell"] > point["weight_precision"] - 1:
        raise ConfigError(
            f"{where}: bitcell = {point['bitcell']} leaves no slice to store: weights have "
            f"{point['weight_precision'] - 1} magnitude bits (weight_precision - 1 for the sign); "
            "expected bitcell <= weight_precision - 1"
        )
    if point["dac_precision"] > point["input_precision"]:
        raise ConfigError(
            f"{where}: dac_precision = {point['dac_precision']} exceeds input_precision = "
            f"{point['input_precision']}"
        )
    if not point["off_state"] < point["on_state"]:
        raise ConfigError(
            f"{where}: off_state ({point['off_state']}) must be below on_state "
            f"({point['on_state']})"
        )
    if point["rate_stuck_0"] + point["rate_stuck_1"] > 1:
        raise ConfigError(f"{where}: rate_stuck_0 + rate_stuck_1 must not exceed 1")


def axis_values(sweep: Sweep, name: str) -> list[Value]:
    """Every value a parameter takes in the sweep."""
    return sweep.grid.get(name, [sweep.values[name]])


def check_device_files(sweep: Sweep) -> None:
    """Measured device profiles (mem_states_file, output_noise_file) are readable and fit."""
    from cimsweep.data.device_files import (
        DeviceFileError,
        check_state_count,
        read_mem_states,
        read_output_noise,
    )

    states_file = sweep.values["mem_states_file"]
    if states_file:
        try:
            states = read_mem_states(states_file)
            for bits in axis_values(sweep, "bitcell"):
                check_state_count(states_file, states.count, 2**bits)
        except DeviceFileError as exc:
            raise ConfigError(f"params.mem_states_file: {exc}") from None
    noise_file = sweep.values["output_noise_file"]
    levels = axis_values(sweep, "output_noise")
    for value in levels:
        if value < 0 and value != -1:
            raise ConfigError(
                f"output_noise = {value}: expected a std >= 0 (ADC LSB) or -1 (statistics from "
                "params.output_noise_file)"
            )
    if -1 in levels and not noise_file:
        raise ConfigError(
            "output_noise = -1 needs params.output_noise_file (a CSV with header "
            "level,mean,std); expected a file, or an output_noise >= 0"
        )
    if noise_file:
        if -1 not in levels:
            raise ConfigError(
                f"params.output_noise_file = {noise_file!r} is only used where output_noise = "
                f"-1, but output_noise takes {levels}; expected output_noise = -1 (or -1 among "
                "its grid values), or no output_noise_file"
            )
        try:
            read_output_noise(noise_file)
        except DeviceFileError as exc:
            raise ConfigError(f"params.output_noise_file: {exc}") from None


def check_inputs(sweep: Sweep) -> None:
    """Data files and user models named by the config exist, before any job runs."""
    from cimsweep.data import check_data_dir

    for dataset in sweep.grid.get("dataset", [sweep.values["dataset"]]):
        try:
            check_data_dir(dataset, sweep.values["data_dir"])
        except ValueError as exc:
            raise ConfigError(f"params.data_dir: {exc}") from None
    if "image_size" in sweep.grid and "imagefolder" in sweep.grid.get(
        "dataset", [sweep.values["dataset"]]
    ):
        raise ConfigError(
            "grid.image_size: the image size of an imagefolder data set cannot be a grid axis "
            "(one model geometry per data set); set params.image_size once"
        )
    models = sweep.grid.get("model", [sweep.values["model"]])
    if "user" in models and not sweep.values["user_model"]:
        raise ConfigError(
            "model = user needs params.user_model, e.g. 'mypkg.nets:Net' (an importable "
            "nn.Module class or factory)"
        )


def check_combinations(sweep: Sweep) -> None:
    """Check cross-parameter constraints on every combination of the axes involved."""
    involved = [
        "sub_array",
        "parallel_read",
        "bitcell",
        "weight_precision",
        "dac_precision",
        "input_precision",
        "off_state",
        "on_state",
        "rate_stuck_0",
        "rate_stuck_1",
    ]
    axes = [n for n in involved if n in sweep.grid]
    for combo in itertools.product(*[sweep.grid[n] for n in axes]):
        point = {**sweep.values, **dict(zip(axes, combo, strict=True))}
        where = (
            "params"
            if not axes
            else "grid point " + ", ".join(f"{n}={token(n, point[n])}" for n in axes)
        )
        check_combination(point, where)
