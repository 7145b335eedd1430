"""The tiny sweep through `snakemake --profile slurm` on a real Slurm cluster.

Needs a running cluster with accounting (`sudo tests/slurm/start_cluster.sh` starts a single-node
one on localhost). Without one the cluster tests skip with the reason; with ``REQUIRE_SLURM=1``
(CI, `.ci/run`) they fail instead. The dry-run test of the bundling runs everywhere.

The runs use the repo's profile exactly as a user would (`make slurm-profile`, then `--profile
slurm`), plus a test overlay profile that fills in the site settings the way the README tells
users to (partition, account, GPU model of the test cluster) and polls Slurm faster.
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import time
from collections import Counter
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import pandas as pd
import pytest
import yaml

from tests.conftest import REPO, TINY_CONFIG, workflow_cmd, write_config

pytestmark = pytest.mark.workflow

REQUIRE_SLURM = os.environ.get("REQUIRE_SLURM") == "1"
PROFILE = yaml.safe_load((REPO / "profiles/slurm/config.yaml").read_text())

# Site settings of the test cluster (tests/slurm/start_cluster.sh): what a user puts into the
# profile's SITE SETTINGS lines.
SITE_DEFAULT_RESOURCES = {"slurm_partition": "debug", "slurm_account": "cimsweep"}
SITE_TRAIN_RESOURCES = {"gpu_model": "volta"}
# Test-only: poll Slurm every second (the plugin adds 10 s per idle check on top) and use at most
# the test node's 2 CPUs per bundle.
FAST = {
    "slurm-init-seconds-before-status-checks": 1,
    "seconds-between-status-checks": 1,
    "cores": 2,
}
# The failing job: too little memory at every attempt (Slurm kills it, OverMemoryKill).
FAIL_RULE = "model_geometry"
FAIL_TARGET = "results/digits/geometry/mlp.json"
FAIL_MEM = "50 * attempt"
# Result columns that may differ between two correct runs (none so far: results are seeded).
TIMING_LIKE = re.compile(r"(wall|elapsed|duration|runtime|timestamp)", re.IGNORECASE)
RUN_TIMEOUT_S = 540
# A grid drawing both PPA backends (NeuroSim V1.4's C++ from ../shared, never the project's).
NEUROSIM_ROOT = Path(os.environ.get("CIMSWEEP_NEUROSIM_DIR", REPO.parent / "shared" / "neurosim"))
NEUROSIM_DIR = NEUROSIM_ROOT / "v1.4" / "Inference_pytorch" / "NeuroSIM"
REQUIRE_NEUROSIM = os.environ.get("REQUIRE_NEUROSIM") == "1"
BOTH_BACKENDS: dict[str, Any] = {
    "params": {
        "epochs": 2,
        "mc_runs": 1,
        "calib_samples": 32,
        "sub_array": [32, 32],
        "neurosim_dir": str(NEUROSIM_DIR),
    },
    "grid": {"model": ["cnn"], "ppa_backend": ["analytical", "neurosim"]},
    "figures": {"draw": ["accuracy_vs_energy"]},
}


def neurosim_problem() -> str | None:
    """Why the NeuroSim backend cannot run here, or None."""
    if not (NEUROSIM_DIR / "Param.cpp").is_file():
        return f"NeuroSim V1.4 sources missing ({NEUROSIM_DIR})"
    if not (shutil.which("g++") and shutil.which("make")):
        return "g++ or make missing (NeuroSim is built per hardware point)"
    return None


# A two-round adaptive search over the tiny grid's inference points (plus a PPA-only axis).
SEARCH_CONFIG: dict[str, Any] = {
    "params": {**TINY_CONFIG["params"], "model": "mlp"},
    "search": {
        "objectives": {"accuracy_mean": "max", "energy_J": "min"},
        "space": {"adc_precision": [4, 10], "read_noise": [0.0, 0.1], "tech_node": [45, 22]},
        "budget": 4,
        "batch": 2,
        "seed": 0,
    },
}


def cluster_problem() -> str | None:
    """Why the Slurm tests cannot run here, or None when a cluster answers."""
    missing = [tool for tool in ("sinfo", "sbatch", "sacct") if shutil.which(tool) is None]
    if missing:
        return f"Slurm client tools not installed ({', '.join(missing)})"
    try:
        sinfo = subprocess.run(
            ["sinfo", "-h", "-o", "%T"], capture_output=True, text=True, timeout=30
        )
        if sinfo.returncode != 0:
            return f"no Slurm cluster is up (sinfo: {sinfo.stderr.strip()})"
        sacct = subprocess.run(
            ["sacct", "-n", "-X", "-S", "now-1minutes"], capture_output=True, text=True, timeout=30
        )
    except subprocess.TimeoutExpired as error:
        return f"Slurm does not answer ({error.cmd[0]} timed out)"
    states = {state.rstrip("*~#$@+") for state in sinfo.stdout.split()}
    if not states & {"idle", "mixed", "allocated", "completing"}:
        return f"no usable Slurm node (sinfo states: {sorted(states)})"
    if sacct.returncode != 0:
        return f"Slurm accounting does not answer (sacct: {sacct.stderr.strip()})"
    return None


@pytest.fixture(scope="module")
def slurm_cluster() -> None:
    problem = cluster_problem()
    if problem:
        hint = "start one with `sudo tests/slurm/start_cluster.sh`"
        if REQUIRE_SLURM:
            pytest.fail(f"REQUIRE_SLURM=1 but {problem}; {hint}", pytrace=False)
        pytest.skip(f"{problem}; {hint} (REQUIRE_SLURM=1 makes this a failure)")


@pytest.fixture(scope="module")
def slurm_profile(tmp_path_factory: pytest.TempPathFactory) -> Any:
    """`make slurm-profile` into a private config home, so that `--profile slurm` finds it."""
    config_home = tmp_path_factory.mktemp("config_home")
    env = {**os.environ, "XDG_CONFIG_HOME": str(config_home)}
    subprocess.run(
        ["make", "--no-print-directory", "-C", str(REPO), "slurm-profile"],
        env=env,
        check=True,
        capture_output=True,
    )
    link = config_home / "snakemake" / "slurm"
    assert link.is_symlink() and link.resolve() == (REPO / "profiles/slurm").resolve()
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("XDG_CONFIG_HOME", str(config_home))
        yield "slurm"


def write_overlay(directory: Path, set_resources: dict | None = None) -> Path:
    """Test profile on top of the Slurm profile (its top-level keys replace the profile's)."""
    overlay = dict(FAST)
    overlay["default-resources"] = {**PROFILE["default-resources"], **SITE_DEFAULT_RESOURCES}
    resources = {rule: dict(values) for rule, values in PROFILE["set-resources"].items()}
    resources["train"].update(SITE_TRAIN_RESOURCES)
    for rule, values in (set_resources or {}).items():
        resources.setdefault(rule, {}).update(values)
    overlay["set-resources"] = resources
    path = directory / "test_profile"
    path.mkdir()
    (path / "config.yaml").write_text(yaml.safe_dump(overlay, sort_keys=False))
    return path


def snakemake_cmd(directory: Path, profile: str, *args: str) -> list[str]:
    test_profile = str(directory / "test_profile")
    return workflow_cmd(directory, "--profile", profile, "--profile", test_profile, *args)


def launch(directory: Path, profile: str, *args: str) -> subprocess.Popen:
    log = (directory / "snakemake.out").open("w")
    env = {**os.environ, "PYTHONHASHSEED": "0"}
    return subprocess.Popen(
        snakemake_cmd(directory, profile, *args),
        stdout=log,
        stderr=subprocess.STDOUT,
        text=True,
        env=env,
        cwd=directory,
    )


def finish(proc: subprocess.Popen, directory: Path) -> SimpleNamespace:
    try:
        returncode = proc.wait(timeout=RUN_TIMEOUT_S)
    except subprocess.TimeoutExpired:
        proc.terminate()  # lets the plugin scancel its jobs
        proc.wait(timeout=60)
        raise
    return SimpleNamespace(returncode=returncode, output=(directory / "snakemake.out").read_text())


def dry_run(directory: Path, profile: str, *args: str) -> SimpleNamespace:
    """What a run would submit, from its dry run: one sbatch per single job, one per bundle."""
    proc = subprocess.run(
        snakemake_cmd(directory, profile, "--dry-run", *args),
        capture_output=True,
        text=True,
        cwd=directory,
    )
    text = proc.stdout + proc.stderr
    assert proc.returncode == 0, text
    submissions: Counter = Counter()
    for line in text.splitlines():
        if match := re.match(r"^rule (\w+):$", line):  # unindented: not inside a group job
            if match.group(1) != "all":  # no shell/script: Snakemake finishes it locally
                submissions[match.group(1)] += 1
        elif match := re.search(r"Group job (\w+) ", line):
            submissions[f"group {match.group(1)}"] += 1
    grouped = len(re.findall(r"^\s+rule \w+:$", text, re.MULTILINE))  # indented: in a group
    return SimpleNamespace(submissions=submissions, grouped=grouped)


SACCT_FIELDS = ["JobID", "Comment", "State", "ExitCode", "ReqMem", "AllocTRES", "Partition",
                "Account", "WorkDir"]  # fmt: skip


def slurm_jobs(directory: Path, since: float) -> list[dict[str, str]]:
    """Accounting records of the Slurm jobs submitted from ``directory`` (one per sbatch)."""
    start = time.strftime("%Y-%m-%dT%H:%M:%S", time.localtime(since - 120))
    out = subprocess.run(
        ["sacct", "-X", "-n", "-P", "-S", start, "-o", ",".join(SACCT_FIELDS)],
        capture_output=True,
        text=True,
        check=True,
    ).stdout
    rows = [dict(zip(SACCT_FIELDS, line.split("|"), strict=True)) for line in out.splitlines()]
    return [row for row in rows if Path(row["WorkDir"]) == directory]


def job_label(comment: str, rules: set[str]) -> str:
    """The plugin's sbatch --comment: rule_<rule>[_wildcards_...] or rule_<group>_<rules>."""
    for rule in sorted(rules, key=len, reverse=True):
        if comment == f"rule_{rule}" or comment.startswith(f"rule_{rule}_wildcards_"):
            return rule
    if match := re.match(r"rule_(grid)_", comment):
        return f"group {match.group(1)}"
    return comment


def wait_for_accounting(directory: Path, since: float, expected: int) -> list[dict[str, str]]:
    """sacct lists a job a second or two after it ended."""
    deadline = time.monotonic() + 30
    while True:
        jobs = slurm_jobs(directory, since)
        if len(jobs) >= expected or time.monotonic() > deadline:
            return jobs
        time.sleep(1)


@pytest.fixture(scope="module")
def slurm_runs(
    slurm_cluster: None,
    slurm_profile: str,
    request: pytest.FixtureRequest,
    tmp_path_factory: pytest.TempPathFactory,
) -> SimpleNamespace:
    """The tiny sweep and a failing run on the cluster, side by side with the local tiny run."""
    sweep = tmp_path_factory.mktemp("slurm_sweep")
    write_config(sweep, TINY_CONFIG)
    write_overlay(sweep)
    failing = tmp_path_factory.mktemp("slurm_failing")
    write_config(failing, TINY_CONFIG)
    write_overlay(failing, {FAIL_RULE: {"mem_mb": FAIL_MEM}})

    search = tmp_path_factory.mktemp("slurm_search")
    write_config(search, SEARCH_CONFIG)
    write_overlay(search)

    plan = dry_run(sweep, slurm_profile)
    since = time.time()
    started = time.monotonic()
    backends = None
    if neurosim_problem() is None:
        backends = tmp_path_factory.mktemp("slurm_backends")
        write_config(backends, BOTH_BACKENDS)
        write_overlay(backends)
    procs = [
        launch(sweep, slurm_profile),
        launch(failing, slurm_profile, FAIL_TARGET),
        launch(search, slurm_profile, "search"),
    ]
    if backends is not None:
        procs.append(launch(backends, slurm_profile))
    try:
        local = request.getfixturevalue("tiny_run")  # the local reference run, meanwhile
        sweep_run = finish(procs[0], sweep)
        sweep_s = time.monotonic() - started
        failing_run = finish(procs[1], failing)
        search_run = finish(procs[2], search)
        backends_run = finish(procs[3], backends) if backends is not None else None
    finally:
        for proc in procs:
            if proc.poll() is None:
                proc.terminate()
                proc.wait(timeout=60)
    return SimpleNamespace(
        sweep=sweep,
        sweep_run=sweep_run,
        sweep_s=sweep_s,
        failing=failing,
        failing_run=failing_run,
        search=search,
        search_run=search_run,
        backends=backends,
        backends_run=backends_run,
        local=local,
        planned=plan.submissions,
        n_grouped=plan.grouped,
        since=since,
    )


def test_the_sweep_runs_every_job_through_sbatch_in_bundles(
    slurm_runs: SimpleNamespace, slurm_profile: str
) -> None:
    run = slurm_runs.sweep_run
    assert run.returncode == 0, run.output[-5000:]
    planned = slurm_runs.planned
    jobs = wait_for_accounting(slurm_runs.sweep, slurm_runs.since, sum(planned.values()))
    rules = {name for name in planned if not name.startswith("group ")}
    submitted = Counter(job_label(job["Comment"], rules) for job in jobs)
    # one accounting record per planned sbatch call, all completed (none retried)
    assert submitted == planned, (submitted, planned)
    assert {job["State"] for job in jobs} == {"COMPLETED"}, jobs
    # the site settings of the overlay reached sbatch
    assert {job["Partition"] for job in jobs} == {"debug"}
    assert {job["Account"] for job in jobs} == {"cimsweep"}
    # training asked for (and got) the GPU; mem_mb is the rule's first-attempt value
    (train,) = [job for job in jobs if job_label(job["Comment"], rules) == "train"]
    assert "gres/gpu=1" in train["AllocTRES"], train
    assert train["ReqMem"] == "4000M", train
    # bundling: the 4 infer + 2 ppa jobs ran in one Slurm job, not six
    assert planned["group grid"] == 1 and slurm_runs.n_grouped == 6
    snakemake_jobs = sum(planned.values()) - planned["group grid"] + slurm_runs.n_grouped
    assert len(jobs) == snakemake_jobs - 5, (len(jobs), snakemake_jobs)
    (bundle,) = [job for job in jobs if job_label(job["Comment"], rules) == "group grid"]
    log = next(slurm_runs.sweep.glob(f".snakemake/slurm_logs/group_grid_*/{bundle['JobID']}.log"))
    ran = Counter(re.findall(r"^\s+rule (\w+):$", log.read_text(), re.MULTILINE))
    assert ran == {"infer": 4, "ppa": 2}, ran
    # every job kept its Slurm log (slurm-keep-successful-logs)
    logs = {p.stem for p in slurm_runs.sweep.glob(".snakemake/slurm_logs/**/*.log")}
    assert logs == {job["JobID"] for job in jobs}


def test_the_slurm_table_equals_the_local_one(slurm_runs: SimpleNamespace) -> None:
    assert slurm_runs.sweep_run.returncode == 0
    on_slurm = pd.read_csv(slurm_runs.sweep / "results/tables/sweep.csv")
    local = pd.read_csv(slurm_runs.local / "results/tables/sweep.csv")
    assert list(on_slurm.columns) == list(local.columns)
    columns = [c for c in local.columns if not TIMING_LIKE.search(c)]
    key = ["model", "adc_precision", "read_noise"]
    on_slurm = on_slurm.sort_values(key).reset_index(drop=True)[columns]
    local = local.sort_values(key).reset_index(drop=True)[columns]
    pd.testing.assert_frame_equal(on_slurm, local, check_exact=False, rtol=1e-9, atol=1e-12)
    for figure in ("accuracy_vs_energy", "accuracy_vs_adc", "layer_diagnostics"):
        assert (slurm_runs.sweep / f"results/figures/{figure}.png").stat().st_size > 1000


def test_a_second_run_submits_nothing(slurm_runs: SimpleNamespace, slurm_profile: str) -> None:
    assert slurm_runs.sweep_run.returncode == 0
    planned = sum(slurm_runs.planned.values())
    before = wait_for_accounting(slurm_runs.sweep, slurm_runs.since, planned)
    proc = subprocess.run(
        snakemake_cmd(slurm_runs.sweep, slurm_profile),
        capture_output=True,
        text=True,
        cwd=slurm_runs.sweep,
        timeout=RUN_TIMEOUT_S,
    )
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert "Nothing to be done" in proc.stdout + proc.stderr
    time.sleep(2)
    assert len(slurm_jobs(slurm_runs.sweep, slurm_runs.since)) == len(before)


def test_a_job_killed_for_memory_is_retried_with_more_then_reported(
    slurm_runs: SimpleNamespace,
) -> None:
    run = slurm_runs.failing_run
    assert run.returncode != 0, run.output[-5000:]
    assert f"Error in rule {FAIL_RULE}" in run.output
    attempts = 1 + int(PROFILE["retries"])
    jobs = wait_for_accounting(slurm_runs.failing, slurm_runs.since, attempts)
    jobs.sort(key=lambda job: int(job["JobID"]))
    assert [job_label(job["Comment"], {FAIL_RULE}) for job in jobs] == [FAIL_RULE] * attempts
    # mem_mb = 50 * attempt reached sbatch --mem at every attempt
    assert [job["ReqMem"] for job in jobs] == [f"{50 * a}M" for a in range(1, attempts + 1)]
    assert all(job["State"] in {"FAILED", "OUT_OF_MEMORY", "CANCELLED"} for job in jobs), jobs
    # Slurm killed each attempt for its memory; the logs of failed jobs are kept
    for job in jobs:
        pattern = f".snakemake/slurm_logs/rule_{FAIL_RULE}/*/{job['JobID']}.log"
        (log,) = slurm_runs.failing.glob(pattern)
        assert "exceeded memory limit" in log.read_text().lower(), log.read_text()[-2000:]
    assert not (slurm_runs.failing / FAIL_TARGET).exists()


def test_a_1000_point_sweep_submits_tens_of_slurm_jobs(tmp_path: Path, slurm_profile: str) -> None:
    """Dry run (no cluster needed): bundling turns ~1,000 grid jobs into a few dozen sbatches."""
    grid = {
        "model": ["mlp"],
        "adc_precision": [3, 4, 5, 6, 8],
        "sub_array": [32, 128],
        "read_noise": [0.0, 0.01, 0.02, 0.03, 0.04, 0.05, 0.06, 0.07, 0.08, 0.1],
        "t": [1.0, 10.0, 1e2, 1e3, 1e4, 1e5, 1e6, 1e7, 31536000.0, 1e8],
    }
    write_config(tmp_path, {"params": TINY_CONFIG["params"], "grid": grid})
    write_overlay(tmp_path)
    plan = dry_run(tmp_path, slurm_profile)
    assert plan.grouped == 1000 + 10  # one infer job per point, one ppa job per hardware point
    bundle_size = PROFILE["group-components"]["grid"]
    assert plan.submissions["group grid"] == -(-plan.grouped // bundle_size)  # 21 bundles
    assert 10 <= sum(plan.submissions.values()) <= 60, plan.submissions  # 33: tens, not ~1,000


def test_an_adaptive_search_runs_its_rounds_through_sbatch(slurm_runs: SimpleNamespace) -> None:
    """`snakemake --profile slurm search`: the rounds' inference and PPA jobs go to Slurm
    (bundled), ask and tell run on the submitting host, and the results equal the local grid's
    at the same points (the search reads the grid's result paths)."""
    run = slurm_runs.search_run
    assert run.returncode == 0, run.output[-5000:]
    table = pd.read_csv(slurm_runs.search / "results/search/evaluated.csv")
    assert len(table) == 4 and set(table["round"]) == {0, 1}
    assert (table["status"] == "ok").all() and table["pareto"].any()
    jobs = wait_for_accounting(slurm_runs.search, slurm_runs.since, 1)
    labels = Counter(job_label(job["Comment"], {"train", "calibrate"}) for job in jobs)
    assert labels["group grid"] >= 2, labels  # at least one bundle per round
    assert not [c for c in labels if "search" in c], labels  # ask/tell never sbatch-ed
    assert {job["State"] for job in jobs} == {"COMPLETED"}, jobs
    local = pd.read_csv(slurm_runs.local / "results/tables/sweep.csv")
    key = ["adc_precision", "read_noise"]
    merged = table.merge(local[[*key, "accuracy_mean"]], on=key, suffixes=("", "_grid"))
    assert len(merged) == len(table)
    assert (merged["accuracy_mean"] == merged["accuracy_mean_grid"]).all(), merged
    summary = yaml.safe_load((slurm_runs.search / "results/search/summary.json").read_text())
    assert [r["round"] for r in summary["planning"]] == [0, 1]


def test_both_ppa_backends_run_through_sbatch(slurm_runs: SimpleNamespace) -> None:
    """``ppa_backend: [analytical, neurosim]`` on Slurm: NeuroSim is built and run inside a
    Slurm job (its report in that job's log), both rows land in the table, the figure is drawn."""
    if slurm_runs.backends is None:
        problem = neurosim_problem()
        if REQUIRE_NEUROSIM:
            pytest.fail(f"REQUIRE_NEUROSIM=1 but {problem}", pytrace=False)
        pytest.skip(str(problem))
    run = slurm_runs.backends_run
    assert run.returncode == 0, run.output[-5000:]
    directory = slurm_runs.backends
    table = pd.read_csv(directory / "results/tables/sweep.csv")
    assert sorted(table["ppa_backend"]) == ["analytical", "neurosim"]
    assert (table["status"] == "ok").all(), table[["ppa_backend", "status", "error"]]
    ns = table.set_index("ppa_backend").loc["neurosim"]
    assert ns["area_mm2"] > 0 and ns["energy_J"] > 0 and ns["latency_s"] > 0
    log = directory / "results/logs/digits/ppa/cnn/ppa_backend~neurosim/ppa.log"
    assert "Summary" in log.read_text()
    jobs = wait_for_accounting(directory, slurm_runs.since, 1)
    assert {job["State"] for job in jobs} == {"COMPLETED"}, jobs
    bundles = [
        p.read_text()
        for job in jobs
        for p in directory.glob(f".snakemake/slurm_logs/**/{job['JobID']}.log")
    ]
    assert any("ppa_backend~neurosim" in text for text in bundles)  # it ran in a Slurm job
    assert (directory / "results/figures/accuracy_vs_energy.png").stat().st_size > 1000
