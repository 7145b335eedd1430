"""Adaptive search: config checks, determinism, front/hypervolume, and the Snakemake rounds
(kill mid-round and resume, extension with more budget without recomputing a point)."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import time
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pytest

from tests.conftest import planned_jobs, snakemake, workflow_cmd, write_config

optuna = pytest.importorskip("optuna")

from cimsweep.search import front, rounds, study  # noqa: E402
from cimsweep.search.spec import parse  # noqa: E402
from cimsweep.workflow.config import ConfigError, load  # noqa: E402

SEARCH: dict[str, Any] = {
    "objectives": {"accuracy_mean": "max", "energy_J": "min"},
    "space": {
        "adc_precision": [3, 4, 5, 6, 8],
        "sub_array": [32, 64, 128],
        "read_noise": {"low": 0.0, "high": 0.2, "step": 0.05},
        "t": {"low": 1.0, "high": 3.15e7, "log": True},
    },
    "budget": 12,
    "batch": 4,
    "seed": 3,
}


def _raw(**search: Any) -> dict[str, Any]:
    return {"params": {"dataset": "digits"}, "search": {**SEARCH, **search}}


# ---- config ---------------------------------------------------------------------------------
@pytest.mark.parametrize(
    ("change", "named"),
    [
        ({"budgt": 3}, "'budgt'"),
        ({"objectives": {"acuracy_mean": "max"}}, "did you mean 'accuracy_mean'"),
        ({"objectives": {"energy_J": "lowest"}}, "search.objectives.energy_J"),
        ({"space": {"adc_precison": [3, 4]}}, "search.space"),
        ({"space": {"t": {"low": 10.0, "high": 1.0}}}, "search.space.t"),
        ({"space": {"t": {"low": 0.0, "high": 1.0, "log": True}}}, "search.space.t"),
        ({"space": {"adc_precision": {"low": 2, "high": 99}}}, "search.space.adc_precision.high"),
        ({"space": {"training": {"low": 1, "high": 2}}}, "search.space.training"),
        ({"sampler": "nsga"}, "search.sampler"),
        ({"batch": 0}, "search.batch"),
        ({"constraints": ["accuracy_mean >> 0.9"]}, "search.constraints[0]"),
        ({"constraints": ["acc >= 0.9"]}, "search.constraints[0]"),
    ],
)
def test_bad_search_config_names_the_key(change: dict[str, Any], named: str) -> None:
    with pytest.raises(ConfigError) as err:
        load(_raw(**change))
    assert named in str(err.value)


def test_search_and_grid_exclude_each_other() -> None:
    with pytest.raises(ConfigError, match="'grid' and 'search'"):
        load({**_raw(), "grid": {"adc_precision": [3, 4]}})


def test_search_space_is_the_grid_of_the_sweep() -> None:
    sweep = load(_raw())
    assert sorted(sweep.axes()) == ["adc_precision", "read_noise", "sub_array", "t"]
    grid = load({"params": {"dataset": "digits"}, "grid": SEARCH_GRID})
    point = {"adc_precision": "5", "sub_array": "64x64", "read_noise": "0.1", "t": "1.0"}
    # a search point has the result paths a grid holding it uses
    assert sweep.result_path("infer", point) == grid.result_path("infer", point)
    assert sweep.result_path("ppa", point) == grid.result_path("ppa", point)


SEARCH_GRID = {
    "adc_precision": [3, 5],
    "sub_array": [64],
    "read_noise": [0.0, 0.1],
    "t": [1.0, 10.0],
}


def test_space_size_and_rounds() -> None:
    spec = parse(
        {
            **SEARCH,
            "space": {
                "adc_precision": [3, 4],
                "read_noise": {"low": 0.0, "high": 0.2, "step": 0.05},
            },
        }
    )
    assert spec.space_size() == 2 * 5
    assert spec.rounds() == 3


# ---- proposals ------------------------------------------------------------------------------
def _fake_row(point: dict[str, str]) -> dict[str, Any]:
    """A deterministic stand-in result: accuracy falls with noise, energy grows with ADC bits."""
    adc, noise = int(point["adc_precision"]), float(point["read_noise"])
    return {
        "status": "ok",
        "accuracy_mean": 0.99 - noise - 0.3 / adc,
        "energy_J": 1e-9 * 2.0**adc,
    }


def _run(spec: Any, store: Any, rounds_: int, row: Any = _fake_row) -> list[list[dict[str, Any]]]:
    out = []
    for r in range(rounds_):
        entries = study.ask_round(spec, store, r, spec.batch)
        study.tell_round(spec, store, r, {e["trial"]: row(e["point"]) for e in entries})
        out.append(entries)
    return out


@pytest.mark.parametrize("sampler", ["tpe", "nsga2"])
def test_same_seed_same_proposals(tmp_path: Path, sampler: str) -> None:
    spec = parse({**SEARCH, "sampler": sampler})
    a = _run(spec, study.storage(tmp_path / "a.journal"), 3)
    b = _run(spec, study.storage(tmp_path / "b.journal"), 3)
    c = _run(parse({**SEARCH, "sampler": sampler, "seed": 4}), study.storage(tmp_path / "c"), 3)
    points = [[e["point"] for e in r] for r in a]
    assert points == [[e["point"] for e in r] for r in b]
    assert points != [[e["point"] for e in r] for r in c]
    keys = [study.point_key(p) for r in points for p in r]
    assert len(keys) == len(set(keys)) == 12  # every evaluation is a new point


def test_asking_a_round_again_returns_the_same_trials(tmp_path: Path) -> None:
    spec = parse(SEARCH)
    store = study.storage(tmp_path / "s.journal")
    first = study.ask_round(spec, store, 0, 4)
    again = study.ask_round(spec, study.storage(tmp_path / "s.journal"), 0, 4)
    assert again == first


def test_repeated_proposals_are_told_from_the_earlier_result(tmp_path: Path) -> None:
    """In a 6-point space, the second round's draws repeat known points: they carry the
    earlier result, are not run and do not count, and they stay out of the history the
    sampler fits (told failed once the round is asked); then the space is exhausted."""
    spec = parse({**SEARCH, "space": {"adc_precision": [3, 8], "read_noise": [0.0, 0.05, 0.1]}})
    store = study.storage(tmp_path / "s.journal")
    runs = _run(spec, store, 3)
    assert [len(r) for r in runs] == [4, 2, 0]
    trials = optuna.load_study(study_name=study.STUDY_NAME, storage=store).get_trials()
    repeats = [t for t in trials if (t.user_attrs.get("repeat_of_trial") or -1) >= 0]
    assert repeats  # the sampler did propose known points again ...
    by_number = {t.number: t for t in trials}
    for t in repeats:  # ... and each carries the result of the first evaluation
        source = by_number[t.user_attrs["repeat_of_trial"]]
        assert source.state == optuna.trial.TrialState.COMPLETE
        assert [t.user_attrs[c] for c in spec.objectives] == source.values
        assert t.state == optuna.trial.TrialState.FAIL  # not a second observation
    complete = [t for t in trials if t.state == optuna.trial.TrialState.COMPLETE]
    assert len(complete) == 6  # each point once


def test_constraints_reach_the_sampler(tmp_path: Path) -> None:
    spec = parse({**SEARCH, "constraints": ["accuracy_mean >= 0.8"]})
    store = study.storage(tmp_path / "s.journal")
    _run(spec, store, 1)
    trials = optuna.load_study(study_name=study.STUDY_NAME, storage=store).get_trials()
    for t in trials:
        acc = t.values[0]
        (gap,) = t.constraints.values()
        assert gap == pytest.approx(0.8 - acc) and (gap <= 0) == (acc >= 0.8)


def test_importance_finds_the_knob_of_a_nanojoule_objective(tmp_path: Path) -> None:
    """An energy of picojoules (1 pJ x 2**adc) depends on the ADC bits alone, and fANOVA must
    say so although its raw values vary by less than float64's epsilon in J**2 (its trees
    then did not split and returned equal shares of arbitrary axes)."""

    def picojoule_row(point: dict[str, str]) -> dict[str, Any]:
        return {**_fake_row(point), "energy_J": 1e-12 * 2.0 ** int(point["adc_precision"])}

    spec = parse(SEARCH)
    root = str(tmp_path)
    Path(rounds.journal_path(root)).parent.mkdir(parents=True)
    _run(spec, study.storage(rounds.journal_path(root)), 3, picojoule_row)
    imp = rounds.importances(spec, root)
    energy = imp["energy_J"]
    assert max(energy, key=energy.__getitem__) == "adc_precision"
    assert energy["adc_precision"] > 0.8
    assert energy["read_noise"] < 0.1 and energy["t"] < 0.1
    accuracy = imp["accuracy_mean"]
    assert accuracy["sub_array"] < 0.1 and accuracy["t"] < 0.1  # neither enters the fake


# ---- front and hypervolume ------------------------------------------------------------------
def test_hypervolume_closed_form() -> None:
    pts = np.array([[0.0, 1.0], [0.5, 0.5], [1.0, 0.0], [0.6, 0.6]])  # last one dominated
    # staircase up to (1.1, 1.1): 0.5*0.1 + 0.5*0.6 + 0.1*1.1
    assert front.hypervolume(pts) == pytest.approx(0.05 + 0.30 + 0.11)
    assert front.non_dominated(pts).tolist() == [True, True, True, False]
    three = np.array([[0.0, 0.0, 0.0]])
    assert front.hypervolume(three) == pytest.approx(1.1**3)


def test_pareto_mask_respects_directions_and_constraints() -> None:
    df = pd.DataFrame(
        {
            "status": ["ok", "ok", "ok", "failed"],
            "accuracy_mean": [0.9, 0.95, 0.99, 1.0],
            "energy_J": [1e-9, 2e-9, 5e-9, 1e-10],
        }
    )
    spec = parse({**SEARCH, "constraints": ["accuracy_mean >= 0.92"]})
    mask = front.pareto_mask(df, spec.objectives, spec.constraints)
    assert mask.tolist() == [False, True, True, False]


# ---- the workflow ---------------------------------------------------------------------------
WORKFLOW_SEARCH: dict[str, Any] = {
    "params": {
        "dataset": "digits",
        "model": "mlp",
        "epochs": 2,
        "mc_runs": 1,
        "infer_samples": 30,
        "calib_samples": 64,
    },
    "search": {
        "objectives": {"accuracy_mean": "max", "energy_J": "min"},
        "space": {"adc_precision": [3, 8], "read_noise": [0.0, 0.1], "tech_node": [45, 22]},
        "budget": 4,
        "batch": 4,
        "seed": 0,
    },
}


def _infer_files(directory: Path) -> dict[str, int]:
    return {str(p): p.stat().st_mtime_ns for p in directory.glob("results/**/accuracy.json")}


@pytest.fixture(scope="module")
def killed_and_resumed(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
    """A search killed (SIGKILL) after some of its round's points finished, then resumed."""
    directory = tmp_path_factory.mktemp("search")
    write_config(directory, WORKFLOW_SEARCH)
    cmd = workflow_cmd(directory, "--cores", "1", "--rerun-incomplete", "search")
    env = {**os.environ, "PYTHONHASHSEED": "0"}
    proc = subprocess.Popen(
        cmd,
        cwd=directory,
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        start_new_session=True,
    )
    told = directory / rounds.told_path(0)
    deadline = time.monotonic() + 600
    while not _infer_files(directory) and time.monotonic() < deadline and proc.poll() is None:
        time.sleep(0.2)
    os.killpg(proc.pid, signal.SIGKILL)
    proc.wait()
    before = _infer_files(directory)
    assert before and not told.exists(), "the kill must land mid-round"
    snakemake(directory, "--unlock")
    snakemake(directory, "--cores", "2", "--rerun-incomplete", "search")
    return {"directory": directory, "before": before}


@pytest.mark.workflow
def test_resume_after_kill_keeps_finished_points(killed_and_resumed: dict[str, Any]) -> None:
    directory, before = killed_and_resumed["directory"], killed_and_resumed["before"]
    after = _infer_files(directory)
    for path, mtime in before.items():  # no finished evaluation was redone
        assert after[path] == mtime
    table = pd.read_csv(directory / "results/search/evaluated.csv")
    assert len(table) == 4 and set(table["round"]) == {0}
    assert (table["status"] == "ok").all() and table["pareto"].any()
    proposals = json.loads((directory / rounds.proposals_path(0)).read_text())["points"]
    assert sorted(table["trial"]) == sorted(e["trial"] for e in proposals)
    for name in ("search_convergence", "search_front", "search_importance"):
        assert (directory / f"results/search/figures/{name}.png").stat().st_size > 0


@pytest.mark.workflow
def test_more_budget_extends_without_recomputing(killed_and_resumed: dict[str, Any]) -> None:
    directory = killed_and_resumed["directory"]
    done = _infer_files(directory)
    write_config(
        directory, {**WORKFLOW_SEARCH, "search": {**WORKFLOW_SEARCH["search"], "budget": 8}}
    )
    jobs = planned_jobs(directory, "search")
    assert jobs.get("search_ask") == 1 and "train" not in jobs
    snakemake(directory, "--cores", "2", "search")
    table = pd.read_csv(directory / "results/search/evaluated.csv")
    # the space has 8 points: the second round adds the 4 missing, nothing is proposed twice
    assert (
        len(table) == 8
        and len(table.drop_duplicates(["adc_precision", "read_noise", "tech_node"])) == 8
    )
    after = _infer_files(directory)
    assert all(after[p] == m for p, m in done.items())  # repeated points were not recomputed
    assert len(after) == 4  # tech_node is PPA-only: 4 inference points serve 8 evaluations
    assert planned_jobs(directory, "search") == {}
    summary = json.loads((directory / "results/search/summary.json").read_text())
    timing = summary["planning"]  # each round's ask and tell, and its jobs between them
    assert [t["round"] for t in timing] == [0, 1]
    assert all(0 < t["ask_s"] < 60 and 0 < t["tell_s"] < 60 and t["jobs_s"] > 0 for t in timing)


@pytest.mark.workflow
def test_bad_search_config_stops_before_any_job(tmp_path: Path) -> None:
    bad = {**WORKFLOW_SEARCH, "search": {**WORKFLOW_SEARCH["search"], "sampler": "nsga"}}
    write_config(tmp_path, bad)
    proc = snakemake(tmp_path, "--dry-run", "search", check=False)
    assert proc.returncode != 0
    assert "search.sampler" in proc.stdout + proc.stderr
    assert not (tmp_path / "results").exists()


@pytest.mark.workflow
def test_pruned_search_runs_only_kept_points(tmp_path: Path) -> None:
    """search.prune_with_ppa: the PPA of all 8 points first (at the ppa rule's paths, which
    Snakemake then takes as built), and only the 22 nm point of each accuracy class runs."""
    search = {**WORKFLOW_SEARCH["search"], "budget": 4, "prune_with_ppa": True}
    write_config(tmp_path, {**WORKFLOW_SEARCH, "search": search})
    snakemake(tmp_path, "--cores", "2", "search")
    pruned = json.loads((tmp_path / rounds.pruned_path()).read_text())
    assert pruned["space_points"] == 8 and pruned["kept_points"] == 4
    assert pruned["ppa_results_built"] == 4  # read_noise does not reach the PPA
    table = pd.read_csv(tmp_path / "results/search/evaluated.csv")
    assert len(table) == 4 and set(table["tech_node"]) == {22}
    assert len(list(tmp_path.glob("results/**/ppa.json"))) == 4
    summary = json.loads((tmp_path / "results/search/summary.json").read_text())
    assert summary["pruning"]["pruned_dominated"] == 4
    assert planned_jobs(tmp_path, "search") == {}
