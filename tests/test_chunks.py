"""Chunk jobs (issue 20, planning speed): which points a chunk holds, and how a chunk job skips
points already up to date."""

from __future__ import annotations

import json
import os
import sys
from collections import Counter
from collections.abc import Iterator
from pathlib import Path

import pytest

from cimsweep.io import write_json
from cimsweep.workflow import chunks, provenance
from cimsweep.workflow.chunkrun import ChunkError, run_chunk, up_to_date
from cimsweep.workflow.config import load
from cimsweep.workflow.provenance import activate, code_hash

GRID = {
    "model": ["mlp", "cnn"],
    "adc_precision": [3, 4, 5, 6, 8],
    "read_noise": [round(0.01 * i, 3) for i in range(30)],
}


def _sweep(per_job: int, grid: dict | None = None):
    return load({"params": {"points_per_job": per_job}, "grid": grid or GRID})


def _all_members(plan: chunks.ChunkPlan) -> list[tuple[str, ...]]:
    return [(*k, *m) for k, group in plan.chunks.items() for ms in group.values() for m in ms]


def test_small_grids_keep_one_job_per_point() -> None:
    sweep = load({"grid": GRID})  # 300 points, points_per_job 0 (automatic)
    assert chunks.plan(sweep, "infer") is None and chunks.plan(sweep, "ppa") is None
    assert chunks.plan(_sweep(1), "infer") is None


def test_every_point_is_in_exactly_one_chunk_of_its_calibration() -> None:
    sweep = _sweep(16)
    plan = chunks.plan(sweep, "infer")
    assert plan is not None
    # one group per trained model; 150 points each in 2**ceil(log2(150/16)) = 16 buckets
    assert set(plan.chunks) == {("digits", "mlp"), ("digits", "cnn")}
    assert all(len(group) <= 16 for group in plan.chunks.values())
    members = _all_members(plan)
    assert len(members) == len(set(members)) == 300
    paths = sorted(p for m in plan.markers() for p in _paths(plan, m))
    assert paths == sorted(sweep.expand("infer"))
    for point in sweep.points():  # owner() agrees with the membership lists
        filled = sweep.fill(point)
        marker = plan.owner(filled)
        assert sweep.result_path("infer", point) in _paths(plan, marker)
    sizes = [len(ms) for g in plan.chunks.values() for ms in g.values()]
    assert sum(sizes) / len(sizes) <= 16 and max(sizes) < 3 * 16


def _paths(plan: chunks.ChunkPlan, marker: str) -> list[str]:
    for key, group in plan.chunks.items():
        for name in group:
            wildcards = {**dict(zip(plan.parent, key, strict=True)), "chunk": name}
            if plan.marker.format(**wildcards) == marker:
                return plan.result_paths(wildcards)
    raise AssertionError(f"no chunk {marker}")


def test_adding_grid_values_keeps_or_splits_chunks() -> None:
    before = chunks.plan(_sweep(16), "infer")
    more = {**GRID, "read_noise": GRID["read_noise"] + [0.5, 0.6]}
    same_buckets = chunks.plan(_sweep(16, more), "infer")
    grown = {**GRID, "read_noise": [round(0.005 * i, 4) for i in range(60)]}
    doubled = chunks.plan(_sweep(16, grown), "infer")
    assert before and same_buckets and doubled

    def where(plan: chunks.ChunkPlan) -> dict[tuple[str, ...], tuple[int, int]]:
        out = {}
        for key, group in plan.chunks.items():
            for name, members in group.items():
                buckets, index = map(int, name.split("-"))
                out.update({(*key, *m): (buckets, index) for m in members})
        return out

    old, new, split = where(before), where(same_buckets), where(doubled)
    assert all(new[p] == b for p, b in old.items())  # same bucket count: nobody moves
    for p, (buckets, index) in old.items():
        if p in split:  # twice the buckets: a chunk splits into index and index + buckets
            assert split[p][0] == 2 * buckets and split[p][1] % buckets == index


def test_ppa_chunks_group_a_model_and_skip_neurosim() -> None:
    grid = {"model": ["mlp"], "adc_precision": [3, 4, 5, 6], "column_mux": [1, 2, 4, 8]}
    plan = chunks.plan(_sweep(4, grid), "ppa")
    assert plan is not None and set(plan.chunks) == {("digits", "mlp")}
    assert sorted(_all_members(plan)) == sorted(
        ("digits", "mlp", a, c) for a in ("3", "4", "5", "6") for c in ("1", "2", "4", "8")
    )
    neurosim = load(
        {
            "params": {"points_per_job": 4, "ppa_backend": "neurosim", "neurosim_dir": "."},
            "grid": grid,
        }
    )
    assert chunks.plan(neurosim, "ppa") is None


def test_settings_change_with_an_unswept_value_of_the_stage_only() -> None:
    base = chunks.settings(_sweep(16), "infer")
    changed = load({"params": {"points_per_job": 16, "mc_runs": 7}, "grid": GRID})
    assert chunks.settings(changed, "infer") != base
    assert chunks.settings(changed, "ppa") == chunks.settings(_sweep(16), "ppa")
    # a run-time setting is no part of what the points read
    assert chunks.settings(_sweep(32), "infer") == base


@pytest.fixture
def stage(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[str]:
    """An active inference stage (its provenance stamps every JSON written) in tmp_path."""
    monkeypatch.chdir(tmp_path)
    monkeypatch.setattr(sys, "excepthook", sys.excepthook)
    activate("infer")
    yield "infer"
    provenance._active.clear()


def _compute(calls: list[str]):
    def compute(path: str, values: dict) -> None:
        calls.append(path)
        if values.get("read_noise") == 0.5:
            raise RuntimeError("boom")
        write_json(path, {"params": dict(values), "status": "ok", "accuracy_mean": 1.0})

    return compute


def test_a_chunk_job_skips_up_to_date_points_and_recomputes_stale_ones(
    tmp_path: Path, stage: str
) -> None:
    model = tmp_path / "model.pt"
    model.write_text("w")
    old = os.path.getmtime(model) - 100
    os.utime(model, (old, old))
    members = [(f"p{i}/accuracy.json", {"read_noise": 0.1 * i, "model": "mlp"}) for i in range(4)]
    calls: list[str] = []
    report = run_chunk(stage, members, [str(model)], "marker.json", _compute(calls))
    assert calls == [p for p, _ in members] and report["computed"] == 4
    assert Path("marker.json").is_file()
    calls.clear()
    assert run_chunk(stage, members, [str(model)], "marker.json", _compute(calls))["skipped"] == 4
    assert calls == []
    # p1 from another point, p2 truncated, p3 older than a retrained model: recomputed
    write_json("p1/accuracy.json", {"params": {"read_noise": 0.9, "model": "mlp"}})
    Path("p2/accuracy.json").write_text('{"params": ')
    os.utime("p3/accuracy.json", (old - 10, old - 10))
    assert not up_to_date("p1/accuracy.json", members[1][1], stage, old)
    run_chunk(stage, members, [str(model)], "marker.json", _compute(calls))
    assert calls == [p for p, _ in members[1:]]


def test_a_point_written_by_other_code_is_recomputed(tmp_path: Path, stage: str) -> None:
    values = {"read_noise": 0.1}
    write_json("a.json", {"params": values, "status": "ok"})
    assert up_to_date("a.json", values, stage, 0.0)
    data = {"params": values, "status": "ok", "provenance": {"source_hash": "0" * 16}}
    Path("a.json").write_text(json.dumps(data))
    assert code_hash(stage) != "0" * 16
    assert not up_to_date("a.json", values, stage, 0.0)


def test_one_failing_point_does_not_stop_the_chunk(tmp_path: Path, stage: str) -> None:
    members = [(f"q{i}.json", {"read_noise": v}) for i, v in enumerate([0.1, 0.5, 0.2])]
    calls: list[str] = []
    with pytest.raises(ChunkError, match=r"1 of 3 infer points .* q1\.json \(RuntimeError: boom"):
        run_chunk(stage, members, [], "marker.json", _compute(calls))
    assert calls == ["q0.json", "q1.json", "q2.json"]
    assert Path("q0.json").is_file() and Path("q2.json").is_file()
    assert not Path("marker.json").exists()  # the job failed: Snakemake reruns it
    assert Counter(p.suffix for p in Path(".").iterdir()) == Counter({".json": 2})
