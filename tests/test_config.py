"""Config checks, grid expansion and per-stage paths, without Snakemake."""

from __future__ import annotations

import math

import pytest

from cimsweep.workflow.config import ConfigError, derive_seed, load, point_key
from cimsweep.workflow.params import PARAMS, parse_token, stage_own_params, token
from cimsweep.workflow.schema import render
from tests.conftest import REPO

GRID = {
    "model": ["mlp", "cnn"],
    "adc_precision": [3, 5],
    "read_noise": [0.0, 0.1],
    "sub_array": [32, [64, 128]],
    "tech_node": [22, 7],
}


def test_defaults_fill_every_parameter() -> None:
    sweep = load({})
    assert set(sweep.values) == set(PARAMS)
    assert sweep.values["sub_array"] == (128, 128)
    assert sweep.size() == 1


def test_grid_size_and_points() -> None:
    sweep = load({"grid": GRID})
    assert sweep.size() == 2 * 2 * 2 * 2 * 2
    assert len(sweep.points()) == sweep.size()
    assert len(sweep.point_paths()) == sweep.size()


def test_each_stage_path_holds_only_what_it_reads() -> None:
    sweep = load({"grid": GRID})
    assert sweep.wildcards("train") == ["dataset", "model"]
    assert "read_noise" in sweep.wildcards("infer")
    assert "tech_node" not in sweep.wildcards("infer")
    assert "read_noise" not in sweep.wildcards("ppa")
    assert "tech_node" in sweep.wildcards("ppa")
    # inference paths nest under training paths, so a noise change cannot reach training
    assert sweep.stage_dir("infer").startswith(sweep.stage_dir("calib") + "/")
    assert sweep.stage_dir("calib").startswith(sweep.stage_dir("train") + "/")
    # distinct jobs per stage: training per model, PPA per hardware point, inference per point
    assert len(sweep.expand("train")) == 2
    assert len(sweep.expand("ppa")) == 2 * 2 * 2 * 2
    assert len(sweep.expand("infer")) == 2 * 2 * 2 * 2


def test_stage_values_parse_path_tokens() -> None:
    sweep = load({"grid": GRID})
    wc = {
        "dataset": "digits",
        "model": "cnn",
        "adc_precision": "3",
        "read_noise": "0.1",
        "sub_array": "64x128",
    }
    values = sweep.stage_values("infer", wc)
    assert values["adc_precision"] == 3 and values["read_noise"] == 0.1
    assert values["sub_array"] == (64, 128) and values["model"] == "cnn"
    assert values["t"] == PARAMS["t"].default


@pytest.mark.parametrize("name", list(PARAMS))
def test_tokens_round_trip(name: str) -> None:
    value = load({}).values[name]
    assert parse_token(name, token(name, value)) == value


def test_own_params_partition_the_nested_stages() -> None:
    seen: set[str] = set()
    for stage in ("data", "train", "calib", "infer"):
        own = set(stage_own_params(stage))
        assert not own & seen
        seen |= own


@pytest.mark.parametrize(
    ("raw", "fragments"),
    [
        ({"grid": {"adc_precison": [4]}}, ["adc_precison", "did you mean 'adc_precision'"]),
        ({"parms": {}}, ["parms", "did you mean 'params'"]),
        ({"params": {"read_noise": math.nan}}, ["params.read_noise", "finite"]),
        ({"grid": {"read_noise": []}}, ["grid.read_noise", "non-empty list"]),
        ({"grid": {"adc_precision": [4, 4]}}, ["grid.adc_precision", "more than once"]),
        ({"params": {"sub_array": 32, "parallel_read": 64}}, ["parallel_read", "sub_array"]),
        ({"params": {"weight_precision": 4, "bitcell": 4}}, ["bitcell", "weight_precision"]),
        ({"params": {"on_state": 1e-6, "off_state": 1e-5}}, ["off_state", "on_state"]),
        ({"params": {"input_precision": 4, "dac_precision": 8}}, ["dac_precision"]),
        ({"grid": {"device": ["cpu", "cuda"]}}, ["grid.device", "run-time setting"]),
        ({"params": {"dataset": "cifar10", "data_dir": "/no/such"}}, ["data_dir", "download"]),
        ({"params": {"model": "user"}}, ["user_model"]),
    ],
)
def test_bad_configs_name_the_culprit(raw: dict, fragments: list[str]) -> None:
    with pytest.raises(ConfigError) as info:
        load(raw)
    for fragment in fragments:
        assert fragment in str(info.value)


def test_schema_file_is_in_sync_with_declarations() -> None:
    assert (REPO / "workflow" / "schemas" / "config.schema.yaml").read_text() == render()


def test_derived_seeds_are_stable_and_distinct() -> None:
    a = derive_seed(0, "infer", point_key({"adc_precision": 3}))
    assert a == derive_seed(0, "infer", point_key({"adc_precision": 3}))
    assert a != derive_seed(0, "infer", point_key({"adc_precision": 4}))
    assert a != derive_seed(1, "infer", point_key({"adc_precision": 3}))
    assert 0 <= a < 2**31


def test_a_string_outside_its_choices_is_refused_with_a_suggestion():
    with pytest.raises(ConfigError, match=r"params.adc_range = 'tunedx' .*did you mean 'tuned'"):
        load({"params": {"adc_range": "tunedx"}})
    with pytest.raises(ConfigError, match=r"grid.training = 'noisy' is not allowed"):
        load({"grid": {"training": ["float", "noisy"]}})
