"""`make run` after a hard kill (issue 20, item 3): the stale lock of *this* directory is dropped,
a live Snakemake run here keeps its lock, runs elsewhere do not block."""

from __future__ import annotations

import os
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
import yaml

from cimsweep.workflow.preflight import check, configfiles, main
from cimsweep.workflow.unlock import _is_snakemake, drop_stale_lock, holders
from cimsweep.workflow.yaml12 import ConfigFileError
from tests.conftest import REPO

VENV_BIN = Path(sys.executable).parent
ENV = {**os.environ, "PYTHONPATH": str(REPO / "src"), "PYTHONHASHSEED": "0"}


def _fake_snakemake(directory: Path) -> subprocess.Popen:
    """A live process that looks like a Snakemake run (``python .../snakemake``) in it."""
    script = directory / "bin" / "snakemake"
    script.parent.mkdir(parents=True, exist_ok=True)
    script.write_text("import time\ntime.sleep(120)\n")
    return subprocess.Popen([sys.executable, str(script)], cwd=directory)


def _project(tmp_path: Path) -> tuple[Path, Path]:
    """A copy of the project (no src: PYTHONPATH) and a venv of wrappers around this one's."""
    proj = tmp_path / "proj"
    proj.mkdir()
    for name in ("Makefile", "pyproject.toml"):
        shutil.copy(REPO / name, proj / name)
    for name in ("workflow", "config", "profiles"):
        shutil.copytree(REPO / name, proj / name)
    venv = tmp_path / "venv"
    (venv / "bin").mkdir(parents=True)
    for tool in ("python", "snakemake"):
        wrapper = venv / "bin" / tool
        wrapper.write_text(f'#!/bin/sh\nexec "{VENV_BIN / tool}" "$@"\n')
        wrapper.chmod(0o755)
    (venv / ".cimsweep-installed").touch()  # newer than the copied pyproject: no set-up
    config = {"params": {"epochs": 500, "mc_runs": 1}, "grid": {"model": ["mlp"]}}
    (proj / "tiny.yaml").write_text(yaml.safe_dump(config))
    return proj, venv


def _locks(proj: Path) -> list[Path]:
    return sorted((proj / ".snakemake" / "locks").glob("*"))


@pytest.mark.workflow
def test_make_run_resumes_after_a_sigkill(tmp_path: Path) -> None:
    proj, venv = _project(tmp_path)
    run = subprocess.Popen(
        [
            str(venv / "bin" / "snakemake"),
            "results/digits/data/mlp/train/model.pt",
            "--profile",
            "profiles/default",
            "--cores",
            "1",
            "--configfile",
            "tiny.yaml",
        ],
        cwd=proj,
        env=ENV,
        start_new_session=True,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    deadline = time.monotonic() + 120
    while not _locks(proj) and time.monotonic() < deadline and run.poll() is None:
        time.sleep(0.2)
    assert _locks(proj), "the run never took its lock"
    os.killpg(run.pid, signal.SIGKILL)  # the run and its jobs, as a lost node
    run.wait()
    assert _locks(proj), "SIGKILL should leave the lock behind"
    other = tmp_path / "other"
    other.mkdir()
    elsewhere = _fake_snakemake(other)  # another sweep of this user, elsewhere: no obstacle
    try:
        make = subprocess.run(
            [
                "make",
                "-o",
                str(venv / ".cimsweep-installed"),
                "run",
                f"VENV={venv}",
                "CORES=1",
                "ARGS=results/digits/data/split.npz --configfile tiny.yaml",
            ],
            cwd=proj,
            env=ENV,
            capture_output=True,
            text=True,
            timeout=600,
        )
    finally:
        elsewhere.kill()
        elsewhere.wait()
    text = make.stdout + make.stderr
    assert make.returncode == 0, text
    assert "removed the lock a killed Snakemake run left" in text
    assert (proj / "results/digits/data/split.npz").is_file()
    assert not _locks(proj)


def test_a_live_run_in_the_directory_keeps_its_lock(tmp_path: Path) -> None:
    locks = tmp_path / ".snakemake" / "locks"
    locks.mkdir(parents=True)
    (locks / "0.input.lock").write_text("x\n")
    live = _fake_snakemake(tmp_path)
    try:
        deadline = time.monotonic() + 10
        while live.pid not in set(holders(tmp_path)) and time.monotonic() < deadline:
            time.sleep(0.1)
        assert live.pid in set(holders(tmp_path))
        assert drop_stale_lock(tmp_path) == []
        assert (locks / "0.input.lock").exists()
    finally:
        live.kill()
        live.wait()
    assert drop_stale_lock(tmp_path) == [locks / "0.input.lock"]
    assert not (locks / "0.input.lock").exists()


@pytest.mark.parametrize(
    ("argv", "expected"),
    [
        (["/x/.venv/bin/snakemake", "--cores", "2"], True),
        (["/usr/bin/python3", "/x/.venv/bin/snakemake", "-n"], True),
        (["python3.11", "-m", "snakemake", "--cores", "1"], True),
        (["/bin/sh", "-c", ".venv/bin/snakemake --profile profiles/default"], False),
        (["python", ".snakemake/scripts/tmpab12.infer.py"], False),
        (["make", "run"], False),
    ],
)
def test_what_counts_as_a_snakemake_run(argv: list[str], expected: bool) -> None:
    assert _is_snakemake(argv) is expected


@pytest.mark.parametrize("target", ["run", "dry-run"])
def test_a_missing_configfile_is_one_sentence_naming_it(tmp_path: Path, target: str) -> None:
    """Snakemake reads --configfile in its parser, before any workflow code: the Makefile's
    preflight names the file instead of Snakemake's traceback (issue 20, item 8)."""
    proj, venv = _project(tmp_path)
    make = subprocess.run(
        ["make", "-o", str(venv / ".cimsweep-installed"), target, f"VENV={venv}"]
        + ["ARGS=--configfile nope.yaml"],
        cwd=proj,
        env=ENV,
        capture_output=True,
        text=True,
        timeout=120,
    )
    text = make.stdout + make.stderr
    assert make.returncode != 0
    assert "cimsweep: config file 'nope.yaml' not found" in text
    assert "Traceback" not in text and "snakemake --profile" not in make.stdout
    assert not (proj / ".snakemake").exists()  # stopped before Snakemake started


@pytest.mark.parametrize(
    ("args", "files"),
    [
        (["--configfile", "a.yaml", "b.yaml", "-n", "target"], ["a.yaml", "b.yaml"]),
        (["--configfile=a.yaml", "results/x.json"], ["a.yaml"]),
        (["--cores", "2", "--configfiles", "c.yaml", "--config", "x=1"], ["c.yaml"]),
        (["--cores", "2"], []),
    ],
)
def test_preflight_finds_the_configfiles_of_a_command_line(
    args: list[str], files: list[str]
) -> None:
    assert configfiles(args) == files


def test_preflight_names_a_yaml_error_with_its_line(tmp_path: Path) -> None:
    bad = tmp_path / "bad.yaml"
    bad.write_text("grid:\n  adc_precision: [3, 4}\n")
    with pytest.raises(ConfigFileError, match=r"bad\.yaml, line 2, column \d+: not valid YAML"):
        check(["--configfile", str(bad)])
    assert main(["--cores", "1"]) == 0
