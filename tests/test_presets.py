"""Semantics presets: one value sets a group of parameters, explicit keys override it."""

from __future__ import annotations

import pytest

from cimsweep.cim import sim_config
from cimsweep.workflow import config
from cimsweep.workflow.params import PARAMS
from cimsweep.workflow.presets import PRESETS, preset_values, resolve


def test_presets_name_declared_parameters_with_allowed_values() -> None:
    assert set(PARAMS["preset"].choices) == set(PRESETS)
    for name in PRESETS:
        for key, value in preset_values(name).items():
            p = PARAMS[key]
            assert not p.choices or value in p.choices, (name, key, value)


def test_cimsweep_preset_is_every_default() -> None:
    assert sim_config(preset="cimsweep") == sim_config()
    assert all(v == PARAMS[k].default for k, v in preset_values("cimsweep").items())


def test_neurosim_preset_sets_all_and_explicit_keys_win() -> None:
    sim = sim_config(preset="neurosim_v1.5")
    for key, value in PRESETS["neurosim_v1.5"].items():
        assert sim[key] == value, key
    sim = sim_config(preset="neurosim_v1.5", adc_range="full", signed_mapping="differential")
    assert sim["adc_range"] == "full" and sim["signed_mapping"] == "differential"
    assert sim["read_noise_model"] == "multiplicative"
    # effective values pass through a second resolution unchanged (evaluate re-resolves)
    assert sim_config(**sim) == sim
    with pytest.raises(KeyError, match="unknown preset"):
        resolve({"preset": "nope"})


def test_sweep_grid_over_preset_records_effective_values() -> None:
    sweep = config.load(
        {"params": {"adc_precision": 4, "input_quant": "asymmetric"},
         "grid": {"preset": ["cimsweep", "neurosim_v1.5"]}}
    )  # fmt: skip
    assert "preset~{preset}" in sweep.stage_dir("infer")
    point = {"dataset": "digits", "model": "mlp"}
    ns = sweep.stage_values("infer", {**point, "preset": "neurosim_v1.5"})
    cs = sweep.stage_values("infer", {**point, "preset": "cimsweep"})
    assert ns["adc_range"] == "unit" and ns["digital_layers"] == "first"
    assert ns["input_quant"] == "asymmetric"  # given explicitly: overrides the preset
    assert cs["adc_range"] == PARAMS["adc_range"].default
    calib = sweep.stage_values("calib", {**point, "preset": "neurosim_v1.5"})
    assert calib["input_calib_method"] == "max" and calib["weight_quant_axis"] == "channel"


def test_default_sweep_values_are_unchanged_by_the_preset_hook() -> None:
    sweep = config.load({"params": {}})
    values = sweep.stage_values("infer", {"dataset": "digits", "model": "mlp"})
    for key in preset_values("neurosim_v1.5"):
        assert values[key] == PARAMS[key].default
