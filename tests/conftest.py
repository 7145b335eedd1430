"""Shared fixtures: running the workflow in a temporary directory and counting planned jobs."""

from __future__ import annotations

import os
import re
import subprocess
import sys
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import pytest
import yaml

REPO = Path(__file__).resolve().parents[1]
SNAKEMAKE = str(Path(sys.executable).with_name("snakemake"))


def write_config(directory: Path, config: Mapping[str, Any]) -> Path:
    path = directory / "config.yaml"
    path.write_text(yaml.safe_dump(dict(config), sort_keys=False))
    return path


def workflow_cmd(directory: Path, *args: str) -> list[str]:
    """Snakemake command line for the repo's workflow, run in ``directory`` on its config.yaml."""
    return [
        SNAKEMAKE,
        "--snakefile",
        str(REPO / "workflow" / "Snakefile"),
        "--directory",
        str(directory),
        "--configfile",
        str(directory / "config.yaml"),
        *args,
    ]


def snakemake(directory: Path, *args: str, check: bool = True) -> subprocess.CompletedProcess:
    """Run Snakemake on the repo's workflow with ``directory`` as the working directory."""
    cmd = workflow_cmd(directory, *args)
    env = {**os.environ, "PYTHONHASHSEED": "0"}
    proc = subprocess.run(cmd, capture_output=True, text=True, env=env, cwd=directory)
    if check and proc.returncode != 0:
        raise AssertionError(f"snakemake failed ({proc.returncode}):\n{proc.stdout}\n{proc.stderr}")
    return proc


def planned_jobs(directory: Path, *args: str) -> dict[str, int]:
    """Jobs per rule that a dry run would execute (empty when there is nothing to do)."""
    proc = snakemake(directory, "--dry-run", *args)
    text = proc.stdout + proc.stderr
    if "Nothing to be done" in text:
        return {}
    counts: dict[str, int] = {}
    in_stats = False
    for line in text.splitlines():
        if line.startswith("Job stats:"):
            in_stats = True
            continue
        if in_stats:
            match = re.match(r"^(\w+)\s+(\d+)$", line.strip())
            if match and match.group(1) != "total":
                counts[match.group(1)] = int(match.group(2))
            elif line.strip().startswith("total"):
                break
    return counts


# The tiny test config, also run by `snakemake --directory .test`.
TINY_CONFIG: dict[str, Any] = yaml.safe_load((REPO / ".test/config/config.yaml").read_text())


def completed_run(factory: pytest.TempPathFactory, name: str, config: Mapping[str, Any]) -> Path:
    """A fresh directory holding a completed workflow run of ``config`` (2 cores)."""
    directory = factory.mktemp(name)
    write_config(directory, config)
    snakemake(directory, "--cores", "2")
    return directory


@pytest.fixture(scope="session")
def tiny_run(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A completed run of a tiny grid (shared by the workflow tests that only read it)."""
    return completed_run(tmp_path_factory, "tiny", TINY_CONFIG)
