"""What reaches the planning (issue 20): YAML 1.2 values, numbers from --config, and a huge
grid refused with its size before Snakemake plans it."""

from __future__ import annotations

import time
from pathlib import Path

import pytest

from tests.conftest import snakemake


@pytest.mark.workflow
def test_planning_sees_yaml_1_2_values(tmp_path: Path) -> None:
    (tmp_path / "config.yaml").write_text(
        "params: {on_state: 1e-4, off_state: 1e-6}\n"
        "grid: {model: [mlp], sub_array: [032, 128]}\n"
        "figures: {draw: [accuracy_vs_energy]}\n"
    )
    proc = snakemake(tmp_path, "--dry-run", "--config", "params={epochs: 5, mc_runs: 1}")
    text = proc.stdout + proc.stderr
    assert "sub_array~32x32/" in text and "sub_array~26x26/" not in text
    assert "cimsweep: 2 grid points (1 model x 2 sub_array)" in text


@pytest.mark.workflow
def test_a_huge_grid_is_refused_before_planning(tmp_path: Path) -> None:
    steps = [round(0.01 * (i + 1), 4) for i in range(10)]
    grid = "\n".join(f"  {n}: {steps}" for n in ("read_noise", "prog_noise", "lr", "momentum"))
    (tmp_path / "config.yaml").write_text(
        f"grid:\n{grid}\n  t: {[float(i + 1) for i in range(10)]}\n"
    )
    start = time.perf_counter()
    proc = snakemake(tmp_path, "--dry-run", check=False)
    elapsed = time.perf_counter() - start
    text = proc.stdout + proc.stderr
    assert proc.returncode != 0
    assert "cimsweep: 100,000 grid points" in text
    assert "above params.max_points = 20,000" in text
    assert elapsed < 60  # planning it would take minutes and gigabytes


def test_local_installs_do_not_pull_in_the_slurm_plugin() -> None:
    """Snakemake imports every installed executor plugin at start-up, and the Slurm one runs
    `scontrol show config` then (13 s here with a controller that does not answer): only the
    `slurm` extra, which `make slurm-profile` installs, brings it."""
    tomllib = pytest.importorskip("tomllib")  # Python 3.11+

    from tests.conftest import REPO

    project = tomllib.loads((REPO / "pyproject.toml").read_text())["project"]
    core = " ".join(project["dependencies"] + project["optional-dependencies"]["dev"])
    assert "snakemake-executor-plugin-slurm" not in core
    assert any("executor-plugin-slurm" in d for d in project["optional-dependencies"]["slurm"])
    makefile = (REPO / "Makefile").read_text()
    assert 'slurm]"' in makefile and "slurm-profile: $(SLURM_STAMP)" in makefile
