"""The typed stage values: in sync with PARAMS, and equal to what the workflow hands each step."""

from __future__ import annotations

import dataclasses
import typing
from typing import Any

import pytest

from cimsweep.workflow.config import load
from cimsweep.workflow.params import PARAMS, STAGE_PARENT, STAGES, canonical
from cimsweep.workflow.stagebase import stage_fields
from cimsweep.workflow.stagegen import TARGET, render
from cimsweep.workflow.stages import STAGE_VALUES, CalibValues, InferValues, TrainValues

TYPES: dict[str, Any] = {
    "int": int,
    "float": float,
    "str": str,
    "path": str,
    "shape": tuple[int, int],
}


def test_generated_module_is_in_sync_with_declarations() -> None:
    assert TARGET.read_text() == render(), "run `python -m cimsweep.workflow.stagegen`"


@pytest.mark.parametrize("stage", STAGES)
def test_every_param_of_a_stage_is_a_field_of_its_type_and_vice_versa(stage: str) -> None:
    cls = STAGE_VALUES[stage]
    assert cls.stage == stage
    hints = typing.get_type_hints(cls)
    fields = {f.name: f for f in dataclasses.fields(cls)}  # type: ignore[arg-type]
    expected = dict(stage_fields(stage))
    assert set(fields) == set(expected)
    # the stage's own parameters are all there, and every field is a declared parameter
    assert {n for n, p in PARAMS.items() if stage in p.stages} <= set(fields) <= set(PARAMS)
    for name, optional in expected.items():
        p = PARAMS[name]
        want = TYPES[p.kind] | None if optional else TYPES[p.kind]
        assert hints[name] == want, name
        default = None if optional else canonical(name, p.default)
        assert fields[name].default == default, name


def test_stage_classes_nest_like_the_result_paths() -> None:
    for stage, parent in STAGE_PARENT.items():
        if parent is not None:
            assert issubclass(STAGE_VALUES[stage], STAGE_VALUES[parent])


def test_values_are_frozen() -> None:
    v = InferValues()
    with pytest.raises(dataclasses.FrozenInstanceError):
        v.adc_precision = 3  # type: ignore[misc]


@pytest.mark.parametrize(
    "grid",
    [
        {},
        {"training": ["float", "qat", "noise_aware"], "adc_precision": [3, 5]},
        {"train_noise": [0.0, 0.1], "training": ["float", "noise_aware"], "sub_array": [32, 64]},
    ],
)
def test_from_values_round_trips_what_each_step_receives(grid: dict[str, list[Any]]) -> None:
    sweep = load({"grid": grid})
    points = sweep.points()
    assert points
    for stage in STAGES:
        for point in points:
            wildcards = sweep._fill(point)
            values = sweep.stage_values(stage, wildcards)
            typed = STAGE_VALUES[stage].from_values(values)
            assert typed.as_dict() == values, (stage, point)


def test_training_mode_decides_the_optional_values() -> None:
    base = load({}).values
    float_train = TrainValues.from_values({**base, "training": "float", "adc_precision": 3})
    assert float_train.adc_precision == 3  # given: kept
    bare = {k: v for k, v in base.items() if k != "adc_precision"}
    assert TrainValues.from_values({**bare, "training": "float"}).adc_precision is None
    noisy = TrainValues.from_values({**bare, "training": "noise_aware"})
    assert noisy.adc_precision == PARAMS["adc_precision"].default
    # calibration always reads the quantization precisions, the ADC only under noise-aware
    calib = CalibValues.from_values({"training": "float"})
    assert calib.weight_precision == PARAMS["weight_precision"].default
    assert calib.train_noise is None and calib.adc_precision is None


def test_from_values_normalises_ignores_extras_and_fills_defaults() -> None:
    v = InferValues.from_values({"sub_array": [16, 32], "read_noise": 0, "not_a_param": 1})
    assert v.sub_array == (16, 32)
    assert isinstance(v.read_noise, float) and v.read_noise == 0.0
    assert v.drift_model == PARAMS["drift_model"].default
    assert InferValues.from_values({"sub_array": 64}).sub_array == (64, 64)
    assert not hasattr(v, "not_a_param")
