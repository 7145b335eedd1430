"""Reliability (issue 6): killed sweeps resume, same config gives the same numbers, a point that
fails at run time is recorded, bad input is refused naming the culprit."""

from __future__ import annotations

import contextlib
import json
import os
import re
import signal
import subprocess
import time
from pathlib import Path
from typing import Any

import pandas as pd
import pytest
import torch

from cimsweep.data import prepare
from cimsweep.nn.models import build_model
from cimsweep.workflow.config import ConfigError, load
from cimsweep.workflow.steps import load_model
from tests.conftest import REPO, planned_jobs, snakemake, workflow_cmd, write_config

# One MLP, 2 subarrays x 3 noise levels = 6 grid points. With offset mapping and 8 bit weights
# a subarray needs >= 16 columns (8 slices x 2): the 32x8 points pass the config checks but fail
# inside the simulator, at run time.
REL_CONFIG: dict[str, Any] = {
    "params": {"epochs": 3, "mc_runs": 2, "calib_samples": 64, "signed_mapping": "offset"},
    "grid": {"model": ["mlp"], "sub_array": [32, [32, 8]], "read_noise": [0.0, 0.05, 0.1]},
    "figures": {"draw": ["accuracy_vs_energy"]},
}
POINTS = 6
FAILING = "32x8"
TABLE = "results/tables/sweep.csv"
# Stage result files of a run, by the rule that writes them (train also writes metrics.json).
RULE_FILES = {
    "prepare_data": "split.npz",
    "train": "model.pt",
    "calibrate": "ranges.json",
    "infer": "accuracy.json",
    "ppa": "ppa.json",
}
ENV = {**os.environ, "PYTHONHASHSEED": "0"}


def comparable(table: pd.DataFrame) -> pd.DataFrame:
    """The table without columns that may differ between identical runs (timing, paths)."""
    volatile = [c for c in table.columns if re.search(r"seconds|runtime|wall|elapsed", c)]
    return table.drop(columns=volatile + ["data_dir"])


def read_table(directory: Path) -> pd.DataFrame:
    return comparable(pd.read_csv(directory / TABLE))


def run(directory: Path, config: dict[str, Any], *targets: str) -> None:
    write_config(directory, config)
    snakemake(directory, "--cores", "2", *targets)


@pytest.fixture(scope="module")
def reference_run(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """An uninterrupted run of REL_CONFIG (table and figure)."""
    directory = tmp_path_factory.mktemp("reference")
    run(directory, REL_CONFIG)
    return directory


# ---- nothing lost, nothing half-written -----------------------------------------------------
def _results(directory: Path, name: str) -> list[Path]:
    return sorted((directory / "results").rglob(name))


def _incomplete(directory: Path) -> set[Path]:
    """Outputs Snakemake's metadata marks incomplete (asked without --rerun-incomplete)."""
    proc = snakemake(directory, "--dry-run", "--workflow-profile", "none", check=False)
    text = proc.stdout + proc.stderr
    if "Incomplete files:" not in text:
        assert proc.returncode == 0, text
        return set()
    listed = text.split("Incomplete files:\n", 1)[1].splitlines()
    files = set()
    for line in listed:
        if not line.strip():
            break
        files.add((directory / line.strip()).resolve())
    return files


def _unfinished(directory: Path, incomplete: set[Path]) -> dict[str, int]:
    """Jobs per rule whose result file is missing or marked incomplete."""
    sweep = load(REL_CONFIG)
    stage = {"prepare_data": "data", "train": "train", "calibrate": "calib"}
    counts: dict[str, int] = {}
    for rule, name in RULE_FILES.items():
        paths = [directory / p for p in sweep.expand(stage.get(rule, rule), name)]
        if rule == "train":  # unfinished if either of its outputs is
            paths += [p.with_name("metrics.json") for p in paths]
        todo = {p.parent for p in paths if not p.exists() or p.resolve() in incomplete}
        if todo:
            counts[rule] = len(todo)
    return counts


@pytest.mark.workflow
def test_killed_sweep_resumes_and_equals_an_uninterrupted_run(
    reference_run: Path, tmp_path: Path
) -> None:
    write_config(tmp_path, REL_CONFIG)
    # The workflow profile (profiles/default: 2 cores, --rerun-incomplete, --keep-going)
    # applies to every run of the repo's Snakefile.
    cmd = workflow_cmd(tmp_path)
    log_path = tmp_path / "killed.log"
    with open(log_path, "w") as log:
        proc = subprocess.Popen(
            cmd, cwd=tmp_path, env=ENV, stdout=log, stderr=subprocess.STDOUT, start_new_session=True
        )
        deadline = time.monotonic() + 600
        try:  # kill once Snakemake has registered two inference jobs as finished
            while log_path.read_text().count("(Rule: infer)") < 2:
                assert proc.poll() is None, "Snakemake ended before it could be killed"
                assert time.monotonic() < deadline, "no inference finished after 600 s"
                time.sleep(0.05)
        finally:
            with contextlib.suppress(ProcessLookupError):  # the whole group: Snakemake and jobs
                os.killpg(proc.pid, signal.SIGKILL)
            proc.wait()
    time.sleep(1.0)
    written = {p: p.stat().st_mtime_ns for p in (tmp_path / "results").rglob("*") if p.is_file()}
    time.sleep(1.5)  # nothing of the killed run goes on writing
    assert written == {
        p: p.stat().st_mtime_ns for p in (tmp_path / "results").rglob("*") if p.is_file()
    }
    assert 2 <= len(_results(tmp_path, "accuracy.json")) < POINTS
    assert not (tmp_path / TABLE).exists()

    # no half-written result: every JSON result parses; a temporary file left by a killed
    # write is hidden (.name.XXXX.tmp), so it never matches an output pattern
    for path in (tmp_path / "results").rglob("*.json"):
        json.loads(path.read_text())
    for path in (tmp_path / "results").rglob("*"):
        if path.is_file() and path.suffix == ".tmp":
            assert path.name.startswith("."), path

    # the rerun plans exactly the unfinished jobs, fewer than the full plan
    unfinished = _unfinished(tmp_path, _incomplete(tmp_path))
    plan = planned_jobs(tmp_path)
    assert {r: plan[r] for r in RULE_FILES if r in plan} == unfinished
    assert 0 < plan["infer"] < POINTS and "train" not in plan

    # SIGKILL leaves Snakemake's directory lock: the same command refuses before running any
    # job, naming --unlock; after `--unlock` the same command completes.
    proc = snakemake(tmp_path, check=False)
    assert proc.returncode != 0
    assert "LockException" in proc.stderr and "--unlock" in proc.stderr
    snakemake(tmp_path, "--unlock")
    snakemake(tmp_path)
    pd.testing.assert_frame_equal(read_table(tmp_path), read_table(reference_run))


# ---- a point that fails at run time ---------------------------------------------------------
@pytest.mark.workflow
def test_run_time_failure_is_recorded_and_skipped_by_figures(reference_run: Path) -> None:
    table = pd.read_csv(reference_run / TABLE, dtype={"error": str}).fillna({"error": ""})
    failed = table[table["sub_array"] == FAILING]
    ok = table[table["sub_array"] != FAILING]
    assert len(table) == POINTS and len(failed) == POINTS // 2
    assert (failed["status"] == "failed").all() and (ok["status"] == "ok").all()
    # the simulator and the PPA model share one column layout, so both refuse the subarray
    # with the same message; the row keeps both
    reason = "ValueError: offset mapping needs sub_array cols >= 2 * weight slices = 16, got 8"
    assert (failed["error"] == f"infer: {reason}; ppa: {reason}").all()
    assert failed["accuracy_mean"].isna().all() and ok["accuracy_mean"].between(0.5, 1).all()
    assert failed["energy_J"].isna().all() and ok["energy_J"].gt(0).all()
    assert (ok["error"] == "").all()
    for path in _results(reference_run, "accuracy.json"):
        result = json.loads(path.read_text())
        assert result["status"] == ("failed" if f"sub_array~{FAILING}" in str(path) else "ok")
    # the figure was drawn and notes the skipped points
    for ext in ("pdf", "png"):
        assert (reference_run / f"results/figures/accuracy_vs_energy.{ext}").stat().st_size > 1000
    import matplotlib

    matplotlib.use("Agg")
    from cimsweep import plots
    from cimsweep.results import read_table as read_parquet

    fig = plots.accuracy_vs_energy(read_parquet(reference_run / "results/tables/sweep.parquet"))
    note = " ".join(t.get_text() for t in fig.texts if t.get_gid() == "note")
    assert f"Not shown: {POINTS // 2} failed grid points" in note


# ---- determinism ----------------------------------------------------------------------------
@pytest.mark.workflow
def test_fresh_runs_agree_and_new_grid_values_leave_existing_points(
    reference_run: Path, tmp_path: Path
) -> None:
    # a fresh run in another directory, with one more noise value inserted in the middle
    noise = [0.0, 0.02, 0.05, 0.1]
    run(tmp_path, {**REL_CONFIG, "grid": {**REL_CONFIG["grid"], "read_noise": noise}}, TABLE)
    reference = read_table(reference_run)
    big = read_table(tmp_path)
    assert len(big) == POINTS * 4 // 3
    shared = big[big["read_noise"] != 0.02].reset_index(drop=True)
    pd.testing.assert_frame_equal(shared, reference)
    # back to the original grid in the same directory (only the table is rebuilt): identical
    # to the table of the other directory's run of that config
    run(tmp_path, REL_CONFIG, TABLE)
    pd.testing.assert_frame_equal(read_table(tmp_path), reference)


# ---- bad input ------------------------------------------------------------------------------
def _cifar10_batches(root: Path, content: bytes) -> None:
    folder = root / "cifar-10-batches-py"
    folder.mkdir(parents=True)
    for name in [*(f"data_batch_{k}" for k in range(1, 6)), "test_batch"]:
        (folder / name).write_bytes(content)


def test_dataset_files_in_the_wrong_format_name_the_file(tmp_path: Path) -> None:
    _cifar10_batches(tmp_path, b"\x00garbage, not a pickle" * 8)
    with pytest.raises(ValueError, match=r"data_batch_1: not a pickled CIFAR python batch"):
        prepare("cifar10", 0.2, 0, data_dir=tmp_path)
    (tmp_path / "mnist").mkdir()
    for stem in ("train-images-idx3", "train-labels-idx1", "t10k-images-idx3", "t10k-labels-idx1"):
        (tmp_path / "mnist" / f"{stem}-ubyte").write_bytes(b"junk" * 8)
    with pytest.raises(ValueError, match=r"train-images-idx3-ubyte: not an IDX file"):
        prepare("mnist", 0.2, 0, data_dir=tmp_path)


@pytest.mark.workflow
def test_dataset_in_the_wrong_format_stops_the_workflow_without_results(tmp_path: Path) -> None:
    data = tmp_path / "data"
    _cifar10_batches(data, b"\x00garbage, not a pickle" * 8)
    write_config(tmp_path, {"params": {"dataset": "cifar10", "data_dir": str(data)}})
    split = "results/cifar10/data/split.npz"
    proc = snakemake(tmp_path, "--cores", "1", split, check=False)
    assert proc.returncode != 0
    assert "data_batch_1: not a pickled CIFAR python batch" in proc.stdout + proc.stderr
    written = [p for p in (tmp_path / "results").rglob("*") if p.is_file()]
    assert written and all("logs" in p.parts or "benchmarks" in p.parts for p in written)


def test_corrupted_checkpoints_are_refused_naming_the_file(tmp_path: Path) -> None:
    values = load({}).values  # mlp on digits
    good = tmp_path / "model.pt"
    torch.save(build_model("mlp", (1, 8, 8), 10).state_dict(), good)
    assert load_model(str(good), values) is not None
    data = good.read_bytes()
    cases = {
        "truncated.pt": data[: len(data) // 2],
        "empty.pt": b"",
        "other_model.pt": None,
    }
    torch.save(build_model("cnn", (1, 8, 8), 10).state_dict(), tmp_path / "other_model.pt")
    for name, content in cases.items():
        path = tmp_path / name
        if content is not None:
            path.write_bytes(content)
        with pytest.raises(ValueError, match=rf"{name}: cannot load a mlp checkpoint"):
            load_model(str(path), values)
    # weights_only: a pickle that would run code is refused, and nothing runs
    marker = tmp_path / "pwned"

    class Evil:
        def __reduce__(self):
            return (os.system, (f"touch {marker}",))

    torch.save({"fc.weight": Evil()}, tmp_path / "evil.pt")
    with pytest.raises(ValueError, match=r"(?s)evil.pt: cannot load a mlp checkpoint.*Unpickl"):
        load_model(str(tmp_path / "evil.pt"), values)
    assert not marker.exists()


@pytest.mark.parametrize(
    ("raw", "fragments"),
    [
        (
            {"params": {"model": "resnet50"}},
            ["'resnet50' is not valid", "'mlp'", "['params']['model']"],
        ),
        (
            {"grid": {"dataset": ["digits", "svhn"]}},
            ["'svhn' is not one of", "'cifar10'", "['grid']['properties']['dataset']"],
        ),
    ],
)
def test_unknown_model_or_dataset_is_refused_by_the_config_schema(
    raw: dict, fragments: list[str]
) -> None:
    """The check common.smk runs before planning (the workflow-level run of the same check is
    tests/test_workflow.py::test_schema_rejects_out_of_range_value_naming_the_key)."""
    from snakemake.exceptions import WorkflowError
    from snakemake.utils import validate

    with pytest.raises(WorkflowError) as info:
        validate(raw, str(REPO / "workflow" / "schemas" / "config.schema.yaml"))
    for fragment in fragments:
        assert fragment in str(info.value)
    # ... and common.smk's check_keys, which runs before the schema, names key and choices
    from cimsweep.workflow.config import ConfigError, check_keys

    with pytest.raises(ConfigError, match=r"is not allowed; expected one of \[.*'(cifar10|mlp)'"):
        check_keys(raw)


@pytest.mark.parametrize(
    ("axis", "values", "token"),
    [
        ("sub_array", [32, [32, 32]], "32x32"),
        ("read_noise", [0.1, 0.10], "0.1"),
        ("t", [1, 1.0], "1.0"),
    ],
)
def test_duplicates_after_normalisation_are_refused(axis: str, values: list, token: str) -> None:
    with pytest.raises(ConfigError, match=rf"grid\.{axis} lists \['{re.escape(token)}'\] more"):
        load({"grid": {axis: values}})
