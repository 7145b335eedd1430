"""Trustworthy reruns (issue 20): a code change reruns the stages that run that code and
nothing else, user model files and checkpoints are inputs, every result records its
provenance, an unreadable or misplaced result file stops the table naming the file (the
previous table kept), and moving the project reruns nothing.

The workflow runs on a copy of the project (and of ``src/``) so that the tests can edit it.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
import torch
import yaml

from cimsweep.workflow.provenance import code_hash
from tests.conftest import REPO

SNAKEMAKE = str(Path(sys.executable).with_name("snakemake"))
CONFIG: dict[str, Any] = {
    "params": {"epochs": 2, "mc_runs": 1, "calib_samples": 64},
    "grid": {"model": ["mlp"], "adc_precision": [4, 8]},
    "figures": {"draw": ["accuracy_vs_energy"]},
}
INFER = "results/digits/data/mlp/train/calib/infer/adc_precision~{}/accuracy.json"
PPA = "results/digits/ppa/mlp/adc_precision~{}/ppa.json"
TABLE = "results/tables/sweep.csv"


def copy_project(root: Path) -> Path:
    proj = root / "proj"
    proj.mkdir()
    for name in ("workflow", "config", "profiles"):
        shutil.copytree(REPO / name, proj / name)
    shutil.copytree(REPO / "src", proj / "src", ignore=shutil.ignore_patterns("__pycache__"))
    return proj


def smk(proj: Path, *args: str, check: bool = True) -> subprocess.CompletedProcess:
    """Snakemake on the copy's Snakefile and config, importing the copy's cimsweep."""
    env = {**os.environ, "PYTHONPATH": f"{proj / 'src'}:{proj}", "PYTHONHASHSEED": "0"}
    cmd = [SNAKEMAKE, "--snakefile", "workflow/Snakefile", "--configfile", "config.yaml", *args]
    proc = subprocess.run(cmd, cwd=proj, env=env, capture_output=True, text=True)
    if check and proc.returncode != 0:
        raise AssertionError(f"snakemake failed ({proc.returncode}):\n{proc.stdout}{proc.stderr}")
    return proc


def planned(proj: Path, *targets: str) -> dict[str, int]:
    """Jobs per rule a dry run would execute."""
    text = smk(proj, "--dry-run", *targets).stdout
    if "Nothing to be done" in text:
        return {}
    stats = text.split("Job stats:", 1)[1].split("total", 1)[0]
    jobs = dict(re.findall(r"^(\w+)\s+(\d+)$", stats, flags=re.M))
    return {k: int(v) for k, v in jobs.items() if k != "all"}


def touch_code(proj: Path, module: str) -> str:
    """Change a module's source (as a user editing the noise or energy model does); return
    the original text."""
    path = proj / "src" / "cimsweep" / module
    text = path.read_text()
    path.write_text(text + "\n# edited\n")
    return text


@pytest.fixture(scope="module")
def project(tmp_path_factory: pytest.TempPathFactory) -> Path:
    proj = copy_project(tmp_path_factory.mktemp("rerun"))
    (proj / "config.yaml").write_text(yaml.safe_dump(CONFIG))
    smk(proj, "--cores", "2")
    return proj


@pytest.mark.workflow
def test_results_record_their_provenance(project: Path) -> None:
    src = project / "src" / "cimsweep"
    for path, stage in [(INFER.format(4), "infer"), (PPA.format(8), "ppa")]:
        record = json.loads((project / path).read_text())["provenance"]
        assert record["stage"] == stage
        assert record["source_hash"] == code_hash(stage, src)
        assert record["torch_version"] == torch.__version__
        assert record["cimsweep_version"] and record["platform"] and record["python"]
        assert "git_commit" in record  # None: the copy is no git work tree
    metrics = json.loads((project / "results/digits/data/mlp/train/metrics.json").read_text())
    assert metrics["provenance"]["source_hash"] == code_hash("train", src)
    log = (project / "results/logs/digits/ppa/mlp/adc_precision~8/ppa.log").read_text()
    assert "provenance: stage=ppa" in log


@pytest.mark.workflow
def test_a_code_change_reruns_exactly_the_stages_that_run_it(project: Path) -> None:
    assert planned(project) == {}
    touch_code(project, "plots/energy.py")
    assert planned(project) == {"plot_figure": 1}
    touch_code(project, "ppa/components.py")
    assert planned(project) == {"ppa": 2, "aggregate": 1, "plot_figure": 1}
    touch_code(project, "cim/engine.py")
    assert planned(project) == {"ppa": 2, "infer": 2, "aggregate": 1, "plot_figure": 1}
    smk(project, "--cores", "2")
    assert planned(project) == {}
    original = touch_code(project, "training/train.py")
    jobs = planned(project)
    assert jobs.keys() >= {"train", "calibrate", "infer"} and "ppa" not in jobs
    (project / "src/cimsweep/training/train.py").write_text(original)  # edit undone
    assert planned(project) == {}


@pytest.mark.workflow
def test_a_damaged_result_file_is_named_and_the_old_table_kept(project: Path) -> None:
    table = (project / TABLE).read_bytes()
    victim = project / PPA.format(8)
    good = victim.read_bytes()
    victim.write_bytes(good[: len(good) // 2])  # cut short after its job wrote it
    proc = smk(project, "--cores", "1", "--forcerun", "aggregate", check=False)
    text = proc.stdout + proc.stderr
    assert proc.returncode != 0
    assert f"{PPA.format(8)} cannot be read" in text
    assert f"--forcerun {PPA.format(8)}" in text  # how to recompute it
    assert (project / TABLE).read_bytes() == table  # the previous table is still there
    log = (project / "results/logs/aggregate.log").read_text()
    assert "Traceback" in log and "ResultFileError" in log  # the rule's log holds the error
    # a file of another grid point copied over this one
    shutil.copy(project / PPA.format(4), victim)
    proc = smk(project, "--cores", "1", "--forcerun", "aggregate", check=False)
    text = proc.stdout + proc.stderr
    assert proc.returncode != 0
    assert "holds the result of another grid point" in text
    assert "adc_precision=4 (expected 8)" in text
    assert (project / TABLE).read_bytes() == table
    victim.write_bytes(good)
    smk(project, "--cores", "1", "--forcerun", "aggregate")
    assert planned(project) == {}


@pytest.mark.workflow
def test_moving_the_project_reruns_nothing(project: Path, tmp_path: Path) -> None:
    assert planned(project) == {}
    moved = tmp_path / "moved"
    shutil.move(project, moved)
    try:
        assert planned(moved) == {}
    finally:
        shutil.move(moved, project)


USER_NET = """
import torch.nn as nn


def make(hidden=16):
    return nn.Sequential(nn.Flatten(), nn.Linear(64, hidden), nn.ReLU(), nn.Linear(hidden, 10))
"""


@pytest.mark.workflow
def test_user_model_module_and_checkpoint_are_inputs(tmp_path: Path) -> None:
    proj = copy_project(tmp_path)
    (proj / "usernets.py").write_text(USER_NET)
    torch.manual_seed(0)
    import torch.nn as nn

    net = nn.Sequential(nn.Flatten(), nn.Linear(64, 16), nn.ReLU(), nn.Linear(16, 10))
    torch.save(net.state_dict(), proj / "start.pt")
    spec = {"module": "usernets:make", "kwargs": {"hidden": 16}, "checkpoint": "start.pt"}
    config = {"params": {"model": spec, "epochs": 1}, "grid": {"model": ["user"]}}
    (proj / "config.yaml").write_text(yaml.safe_dump(config))
    target = "results/digits/data/user/train/model.pt"
    smk(proj, "--cores", "1", target)
    assert planned(proj, target) == {}
    path = proj / "usernets.py"
    path.write_text(path.read_text() + "\n# edited\n")
    assert planned(proj, target) == {"train": 1}
    smk(proj, "--cores", "1", target)
    nn.init.zeros_(net[1].weight)
    torch.save(net.state_dict(), proj / "start.pt")  # another checkpoint in its place
    assert planned(proj, target) == {"train": 1}
