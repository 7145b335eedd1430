"""The standard Snakemake layout: workflow/Snakefile, workflow/schemas/, a `.test` config that
`snakemake --directory .test` runs, config/README.md in sync, a hosted-runner CI job file."""

from __future__ import annotations

import os
import re
import shutil
import subprocess
from pathlib import Path

import pytest
import yaml

from tests.conftest import REPO, SNAKEMAKE


def _from_repo_root(*args: str) -> subprocess.CompletedProcess:
    """Snakemake as a user types it in the repository root (no --snakefile, no --configfile)."""
    env = {**os.environ, "PYTHONHASHSEED": "0"}
    return subprocess.run(
        [SNAKEMAKE, *args], cwd=REPO, capture_output=True, text=True, env=env, check=False
    )


def test_snakefile_is_workflow_snakefile_with_min_version() -> None:
    assert not (REPO / "Snakefile").exists()
    text = (REPO / "workflow/Snakefile").read_text()
    assert 'min_version("9")' in text
    included = set(re.findall(r'^include: "rules/(\w+)\.smk"', text, re.M))
    assert included == {p.stem for p in (REPO / "workflow/rules").glob("*.smk")}
    assert "../schemas/config.schema.yaml" in (REPO / "workflow/rules/common.smk").read_text()


def test_config_page_is_in_sync_with_declarations() -> None:
    from cimsweep.workflow import config_page

    text = (REPO / "config/README.md").read_text()
    assert text == config_page.render(), "run `python -m cimsweep.workflow.schema`"
    assert "`adc_precision`" in text and "`layer_diagnostics`" in text


def test_ci_job_formats_lints_runs_dot_test_and_builds_the_report() -> None:
    job = yaml.safe_load((REPO / ".github/workflows/ci.yml").read_text())
    steps = [s.get("run", "") for j in job["jobs"].values() for s in j["steps"]]
    script = "\n".join(steps)
    for command in (
        "snakefmt --check",
        "snakemake --lint",
        "snakemake --directory .test",
        "--report",
        "python -m cimsweep.workflow.schema",
    ):
        assert command in script, command
    assert (REPO / ".ci/run").exists()


@pytest.mark.workflow
def test_dot_test_runs_from_the_repo_root(tiny_run: Path, tmp_path: Path) -> None:
    """`snakemake --directory .test` plans the tiny sweep; on a copy holding the finished tiny
    run (tests/conftest.py reads the same config) it only redraws what is missing."""
    dot_test = tmp_path / ".test"
    shutil.copytree(REPO / ".test", dot_test, ignore=shutil.ignore_patterns("results", ".*"))
    proc = _from_repo_root("--directory", str(dot_test), "--dry-run")
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert re.search(r"^total\s+16$", proc.stdout, re.M), proc.stdout
    shutil.rmtree(dot_test / ".snakemake")  # the dry run's; the finished run brings its own
    for part in ("results", ".snakemake"):
        shutil.copytree(tiny_run / part, dot_test / part, symlinks=True)
    figure = dot_test / "results/figures/accuracy_vs_adc.png"
    figure.unlink()
    proc = _from_repo_root("--directory", str(dot_test), "--cores", "1")
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert "1 of 2 steps" in proc.stdout + proc.stderr  # plot_figure, then all
    assert figure.stat().st_size > 1000
