"""Chunk jobs under Snakemake (issue 20, planning speed): the same per-point files and table as
one job per point, point-level reruns, and a 10,000-point plan of a few hundred jobs."""

from __future__ import annotations

import json
import time
from pathlib import Path

import pandas as pd
import pytest

from tests.conftest import TINY_CONFIG, completed_run, planned_jobs, snakemake, write_config

pytestmark = pytest.mark.workflow

# 3 points per job: 4 points (and 6 once a value is added) in 2 chunks
CHUNKED = {**TINY_CONFIG, "params": {**TINY_CONFIG["params"], "points_per_job": 3}}


@pytest.fixture(scope="module")
def chunked_run(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return completed_run(tmp_path_factory, "chunked", CHUNKED)


def _by_path(run: Path, stage: str) -> dict[str, dict]:
    return {
        str(p): json.loads(p.read_text()) for p in (run / "results/chunks").rglob(f"{stage}-*.json")
    }


def _markers(run: Path, stage: str) -> list[dict]:
    return list(_by_path(run, stage).values())


def test_chunks_write_the_per_point_files_and_table_of_per_point_jobs(
    chunked_run: Path, tiny_run: Path
) -> None:
    for pattern in ("**/accuracy.json", "**/ppa.json"):
        per_point = sorted(p.relative_to(tiny_run) for p in tiny_run.glob(f"results/{pattern}"))
        chunked = sorted(p.relative_to(chunked_run) for p in chunked_run.glob(f"results/{pattern}"))
        assert chunked == per_point and len(chunked) >= 2
    infer = _markers(chunked_run, "infer")
    assert len(infer) >= 1 and sum(len(m["points"]) for m in infer) == 4
    assert sum(m["computed"] for m in infer) == 4 and len(_markers(chunked_run, "ppa")) == 1
    a = pd.read_csv(tiny_run / "results/tables/sweep.csv")
    b = pd.read_csv(chunked_run / "results/tables/sweep.csv")
    pd.testing.assert_frame_equal(a, b)  # bit-identical numbers, same rows and columns
    assert planned_jobs(chunked_run) == {}


def test_a_new_grid_value_computes_only_the_new_points(chunked_run: Path) -> None:
    config = {**CHUNKED, "grid": {**CHUNKED["grid"], "read_noise": [0.0, 0.05, 0.1]}}
    write_config(chunked_run, config)
    jobs = planned_jobs(chunked_run)
    assert not {"prepare_data", "train", "calibrate", "infer", "ppa", "ppa_chunk"} & set(jobs)
    assert jobs.get("infer_chunk", 0) >= 1
    before = pd.read_csv(chunked_run / "results/tables/sweep.csv")
    markers = _by_path(chunked_run, "infer")
    snakemake(chunked_run, "--cores", "2")
    after_markers = _by_path(chunked_run, "infer")
    assert after_markers.keys() == markers.keys()  # same chunks, 2 of 3 points per job
    assert sum(len(m["points"]) for m in after_markers.values()) == 6
    # the chunks that got a new point reran: each new point computed, each old one skipped
    reran = [m for path, m in after_markers.items() if m != markers[path]]
    assert reran and sum(m["computed"] for m in reran) == 2
    assert sum(m["skipped"] for m in reran) == sum(len(m["points"]) for m in reran) - 2
    after = pd.read_csv(chunked_run / "results/tables/sweep.csv")
    assert len(after) == 6
    merged = before.merge(after, on=["adc_precision", "read_noise"], suffixes=("", "_new"))
    assert len(merged) == 4 and (merged["accuracy_mean"] == merged["accuracy_mean_new"]).all()
    assert planned_jobs(chunked_run) == {}


def test_a_deleted_point_file_is_named_with_its_chunk(chunked_run: Path) -> None:
    victim = next((chunked_run / "results").rglob("read_noise~0.1/accuracy.json"))
    victim.unlink()
    snakemake(chunked_run, "--cores", "1", "--forcerun", "aggregate", check=False)
    log = (chunked_run / "results/logs/aggregate.log").read_text()
    assert str(victim.relative_to(chunked_run)) in log
    assert "--forcerun results/chunks/" in log
    assert (chunked_run / "results/tables/sweep.csv").is_file()  # the old table is kept
    # the command named recomputes that point only (its chunk skips the others)
    marker = log.split("--forcerun ", 1)[1].split()[0]
    snakemake(chunked_run, "--cores", "1", "--forcerun", marker)
    assert victim.is_file() and json.loads((chunked_run / marker).read_text())["computed"] == 1
    assert len(pd.read_csv(chunked_run / "results/tables/sweep.csv")) == 6


def test_a_10000_point_grid_plans_a_few_hundred_jobs(tmp_path: Path) -> None:
    grid = {
        "model": ["mlp", "cnn"],
        "adc_precision": [3, 4, 5, 6, 8],
        "sub_array": [32, 64, 128, 256],
        "read_noise": [0.0, 0.02, 0.05, 0.08, 0.1],
        "prog_noise": [round(0.001 * i, 6) for i in range(50)],
    }
    write_config(tmp_path, {"grid": grid})
    start = time.perf_counter()
    jobs = planned_jobs(tmp_path)
    elapsed = time.perf_counter() - start
    assert "infer" not in jobs and jobs["ppa"] == 40  # 40 PPA points: one job each
    assert 64 <= jobs["infer_chunk"] <= 200  # 2 x 5,000 points in chunks of 50-100
    assert sum(jobs.values()) < 300
    assert elapsed < 120  # one job per point took ~1 min and 400 MB here
