"""The whole chain under Snakemake on a tiny grid: results, figure, and rerun-only-what-changed."""

from __future__ import annotations

import os
import shutil
import time
from pathlib import Path

import pandas as pd
import pytest

from tests.conftest import TINY_CONFIG, planned_jobs, snakemake, write_config

pytestmark = pytest.mark.workflow


def test_tiny_sweep_produces_table_and_figure(tiny_run: Path) -> None:
    table = pd.read_csv(tiny_run / "results/tables/sweep.csv")
    assert len(table) == 4
    assert set(table["adc_precision"]) == {4, 10}
    assert set(table["read_noise"]) == {0.0, 0.1}
    assert (table["status"] == "ok").all()
    assert table["energy_J"].gt(0).all() and table["tops_per_w"].gt(0).all()
    assert table["float_accuracy"].ge(0.95).all()
    parquet = pd.read_parquet(tiny_run / "results/tables/sweep.parquet")
    assert len(parquet) == len(table)
    for figure in ("accuracy_vs_energy", "accuracy_vs_adc", "layer_diagnostics"):
        for ext in ("pdf", "png"):
            assert (tiny_run / f"results/figures/{figure}.{ext}").stat().st_size > 1000
    # zero noise with a 10-bit ADC keeps the float accuracy (within 1 point)
    ideal = table[(table.read_noise == 0.0) & (table.adc_precision == 10)].iloc[0]
    assert abs(ideal.accuracy_mean - ideal.float_accuracy) <= 0.01
    # every rule wrote a log
    assert any((tiny_run / "results/logs").rglob("infer.log"))


def test_complete_run_has_nothing_to_do(tiny_run: Path) -> None:
    assert planned_jobs(tiny_run) == {}


@pytest.fixture()
def tiny_copy(tiny_run: Path, tmp_path: Path) -> Path:
    """A private copy of the completed tiny run that a test may modify."""
    target = tmp_path / "run"
    shutil.copytree(tiny_run, target, symlinks=True)
    return target


def _with(grid_changes: dict | None = None, param_changes: dict | None = None) -> dict:
    return {
        **TINY_CONFIG,
        "params": {**TINY_CONFIG["params"], **(param_changes or {})},
        "grid": {**TINY_CONFIG["grid"], **(grid_changes or {})},
    }


def test_changing_a_noise_value_reruns_only_its_inference(tiny_copy: Path) -> None:
    write_config(tiny_copy, _with({"read_noise": [0.0, 0.2]}))
    assert planned_jobs(tiny_copy) == {
        "infer": 2,
        "aggregate": 1,
        "plot_figure": 2,
        "sweep_config": 1,
        "all": 1,
    }


def test_changing_a_scalar_noise_parameter_reruns_inference_only(tiny_copy: Path) -> None:
    write_config(tiny_copy, _with(param_changes={"output_noise": 0.5}))
    jobs = planned_jobs(tiny_copy)
    assert jobs.get("infer") == 4
    assert not {"prepare_data", "train", "calibrate", "ppa"} & set(jobs)


def test_editing_a_device_file_reruns_only_inference(tiny_copy: Path) -> None:
    """Device profiles are inputs of the inference jobs: a newer file reruns just those."""
    states, noise = tiny_copy / "states.csv", tiny_copy / "noise.csv"
    states.write_text("mean,std\n1e-6,0\n1e-4,0\n")
    noise.write_text("level,mean,std\n0,0,0.1\n100,100,0.5\n")
    old = time.time() - 10**6
    for f in (states, noise):
        os.utime(f, (old, old))
    files = {"mem_states_file": "states.csv", "output_noise": -1, "output_noise_file": "noise.csv"}
    write_config(tiny_copy, _with(param_changes=files))
    mtime_only = ("--rerun-triggers", "mtime")  # leave out the (expected) params trigger
    assert "infer" not in planned_jobs(tiny_copy, *mtime_only)
    for f in (states, noise):
        f.touch()
        jobs = planned_jobs(tiny_copy, *mtime_only)
        assert jobs.get("infer") == 4, jobs
        assert not {"prepare_data", "train", "calibrate", "ppa"} & set(jobs)
        os.utime(f, (old, old))


def test_adding_a_grid_value_adds_only_new_jobs(tiny_copy: Path) -> None:
    write_config(tiny_copy, _with({"adc_precision": [4, 6, 10]}))
    assert planned_jobs(tiny_copy) == {
        "infer": 2,
        "ppa": 1,
        "aggregate": 1,
        "plot_figure": 2,
        "sweep_config": 1,
        "all": 1,
    }


def test_bad_config_stops_before_any_job(tmp_path: Path) -> None:
    write_config(tmp_path, {"grid": {"adc_precison": [4]}})
    proc = snakemake(tmp_path, "--dry-run", check=False)
    assert proc.returncode != 0
    assert "did you mean 'adc_precision'" in proc.stdout + proc.stderr
    assert not (tmp_path / "results").exists()


def test_schema_rejects_out_of_range_value_naming_the_key(tmp_path: Path) -> None:
    write_config(tmp_path, {"params": {"adc_precision": 0}})
    proc = snakemake(tmp_path, "--dry-run", check=False)
    assert proc.returncode != 0
    assert "adc_precision" in proc.stdout + proc.stderr
