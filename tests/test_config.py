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


# ---- issue 20: YAML 1.2, plan size, 64-bit seeds, user models, one-sentence errors ---------
def test_configs_are_read_as_yaml_1_2(tmp_path) -> None:
    from cimsweep.workflow import yaml12

    path = tmp_path / "c.yaml"
    path.write_text("params: {on_state: 1e-4, off_state: 1e-6}\ngrid: {sub_array: [032, 128]}\n")
    raw = yaml12.load_file(path)
    assert raw["grid"]["sub_array"] == [32, 128]  # YAML 1.1: 26 (octal)
    assert raw["params"]["on_state"] == 1e-4  # YAML 1.1: the string '1e-4'
    sweep = load(raw)
    assert sweep.grid["sub_array"] == [(32, 32), (128, 128)]
    assert sweep.values["on_state"] == 1e-4
    assert yaml12.load_text("a: yes\nb: 0o17\nc: 2020-01-01") == {
        "a": "yes",
        "b": 15,
        "c": "2020-01-01",
    }


def test_snakemake_config_is_replaced_by_its_yaml_1_2_reading(tmp_path) -> None:
    from cimsweep.workflow import yaml12

    path = tmp_path / "c.yaml"
    path.write_text("params: {on_state: 1e-4, epochs: 3}\ngrid: {sub_array: [032]}\n")
    config = {"params": {"on_state": "1e-4"}, "grid": {"sub_array": [26]}}  # as PyYAML read it
    # --config params="{epochs: 5, dataset: digits}": Snakemake leaves the nested values strings
    yaml12.reload(config, [path], {"params": {"epochs": "5", "dataset": "digits"}})
    assert config == {
        "params": {"on_state": 1e-4, "epochs": 5, "dataset": "digits"},
        "grid": {"sub_array": [32]},
    }


def test_yaml_errors_name_the_file_and_line(tmp_path) -> None:
    from cimsweep.workflow import yaml12

    path = tmp_path / "bad.yaml"
    path.write_text("params:\n  epochs: 3\n grid: [1,\n")
    with pytest.raises(yaml12.ConfigFileError, match=r"bad\.yaml, line \d+, column \d+"):
        yaml12.load_file(path)
    with pytest.raises(yaml12.ConfigFileError, match=r"config file .*nope\.yaml' not found"):
        yaml12.load_file(tmp_path / "nope.yaml")


def test_a_huge_grid_is_sized_and_refused_before_planning() -> None:
    import io

    from cimsweep.workflow.plan import check_size

    grid = {"read_noise": [0.01 * i for i in range(100)], "t": [float(i + 1) for i in range(100)]}
    grid["prog_noise"] = [0.001 * i for i in range(100)]
    out = io.StringIO()
    with pytest.raises(ConfigError, match=r"1,000,000 points .* above params.max_points"):
        check_size(load({"grid": grid}), out)
    assert "1,000,000 grid points" in out.getvalue()
    out = io.StringIO()
    size = check_size(load({"params": {"max_points": 10**6}, "grid": grid}), out)
    assert size["infer"] == 10**6 and size["ppa"] == 1 and size["train"] == 1
    assert "about 1,000,004 jobs" in out.getvalue()


def test_a_seed_beyond_64_bits_is_refused() -> None:
    with pytest.raises(ConfigError, match=r"params.seed = 18446744073709551616 does not fit"):
        load({"params": {"seed": 2**64}})
    with pytest.raises(ConfigError, match=r"grid.seed"):
        load({"grid": {"seed": [0, 2**63]}})
    assert load({"params": {"seed": 2**63 - 1}}).values["seed"] == 2**63 - 1


@pytest.mark.parametrize("value", ["big", [32, 0], [32, 64, 128], True, 0, [32.5, 64]])
def test_a_bad_sub_array_is_one_sentence(value) -> None:
    with pytest.raises(ConfigError) as info:
        load({"params": {"sub_array": value}})
    message = str(info.value)
    assert "\n" not in message
    assert message.startswith("params.sub_array = ") and "[rows, cols]" in message


def test_column_mux_above_the_columns_is_warned() -> None:
    from cimsweep.workflow.plan import warnings_for

    sweep = load({"params": {"column_mux": 64}, "grid": {"sub_array": [32, 128]}})
    (message,) = warnings_for(sweep)
    assert "column_mux = 64 exceeds the 32 columns" in message
    assert warnings_for(load({})) == []


USER_NET = """
import torch.nn as nn


def make(hidden=8, classes=10):
    return nn.Sequential(nn.Flatten(), nn.Linear(64, hidden), nn.ReLU(), nn.Linear(hidden, classes))
"""


@pytest.mark.parametrize(
    ("spec", "error"),
    [
        ({"module": "h20nets:make", "kwargs": {"width": 3}}, r"unexpected keyword .*width"),
        ({"module": "h20nets:make", "kwargs": {"classes": 7}}, r"outputs of shape \(7,\)"),
        ({"module": "h20nets:nothing"}, r"cannot import user model"),
        ({"module": "h20nope.nets:make"}, r"no module 'h20nope.nets'|cannot find module"),
        ({"module": "h20nets:make", "checkpoint": "missing.pt"}, r"missing\.pt' does not exist"),
    ],
)
def test_user_model_problems_are_found_at_plan_time(tmp_path, monkeypatch, spec, error) -> None:
    from cimsweep.workflow.plan import check_user_model

    (tmp_path / "h20nets.py").write_text(USER_NET)
    monkeypatch.syspath_prepend(str(tmp_path))
    monkeypatch.chdir(tmp_path)
    sweep = load({"params": {"model": spec}})
    with pytest.raises(ConfigError, match=error):
        check_user_model(sweep)


def test_a_good_user_model_passes_the_plan_time_check(tmp_path, monkeypatch) -> None:
    from cimsweep.workflow.plan import check_user_model, user_model_files

    (tmp_path / "h20good.py").write_text(USER_NET)
    monkeypatch.syspath_prepend(str(tmp_path))
    monkeypatch.chdir(tmp_path)
    sweep = load({"params": {"model": {"module": "h20good:make", "kwargs": {"hidden": 4}}}})
    check_user_model(sweep)
    assert user_model_files(sweep) == ["h20good.py"]
