"""The training axis under Snakemake: float and noise-aware models side by side, and reruns."""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import pytest
import torch

from tests.conftest import completed_run, planned_jobs, write_config

pytestmark = pytest.mark.workflow

CONFIG = {
    "params": {"epochs": 4, "mc_runs": 2, "calib_samples": 128, "train_noise": 0.1},
    "grid": {
        "model": ["mlp"],
        "training": ["float", "noise_aware"],
        "adc_precision": [4, 6],
        "read_noise": [0.0, 0.1],
    },
    "figures": {"draw": ["accuracy_vs_noise", "pareto_by_training"]},
}


@pytest.fixture(scope="module")
def training_run(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return completed_run(tmp_path_factory, "training", CONFIG)


def test_training_modes_side_by_side(training_run: Path) -> None:
    table = pd.read_csv(training_run / "results/tables/sweep.csv")
    assert len(table) == 8 and (table["status"] == "ok").all()
    assert set(table["training"]) == {"float", "noise_aware"}
    for figure in CONFIG["figures"]["draw"]:
        assert (training_run / f"results/figures/{figure}.pdf").stat().st_size > 1000
    models = sorted((training_run / "results").rglob("model.pt"))
    by_mode = {
        m: [p for p in models if f"training~{m}" in str(p)] for m in ("float", "noise_aware")
    }
    # noise-aware models are trained for their ADC; the float model does not depend on it and
    # is trained once for both ADCs
    assert len(by_mode["noise_aware"]) == 2 and len(by_mode["float"]) == 1
    c, d = (torch.load(p, weights_only=True) for p in by_mode["noise_aware"])
    assert not all(torch.equal(c[k], d[k]) for k in c)


def test_inference_only_change_does_not_retrain(training_run: Path) -> None:
    write_config(training_run, {**CONFIG, "params": {**CONFIG["params"], "t": 3600.0}})
    jobs = planned_jobs(training_run)
    assert jobs.get("infer") == 8
    assert not {"train", "calibrate", "ppa"} & set(jobs)


def test_training_noise_change_retrains_only_noise_aware_models(training_run: Path) -> None:
    write_config(training_run, {**CONFIG, "params": {**CONFIG["params"], "train_noise": 0.2}})
    jobs = planned_jobs(training_run)
    assert jobs.get("train") == 2 and jobs.get("calibrate") == 2 and jobs.get("infer") == 4
    assert "ppa" not in jobs
