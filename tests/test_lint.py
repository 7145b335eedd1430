"""Style gates: ruff, snakefmt and `snakemake --lint` are clean."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

from tests.conftest import REPO

BIN = Path(sys.executable).parent


def _run(*cmd: str) -> subprocess.CompletedProcess:
    return subprocess.run(cmd, cwd=REPO, capture_output=True, text=True)


def test_ruff_clean() -> None:
    proc = _run(str(BIN / "ruff"), "check", ".")
    assert proc.returncode == 0, proc.stdout + proc.stderr


def test_snakefmt_clean() -> None:
    proc = _run(str(BIN / "snakefmt"), "--check", "workflow/Snakefile", "workflow/rules")
    assert proc.returncode == 0, proc.stdout + proc.stderr


def test_snakemake_lint_clean() -> None:
    proc = _run(str(BIN / "snakemake"), "--lint", "--configfile", "config/config.yaml")
    out = proc.stdout + proc.stderr
    assert proc.returncode == 0 and "Congratulations" in out, out


def test_mypy_clean() -> None:
    """Every def in src/ is annotated and type-checks (settings: [tool.mypy] in pyproject)."""
    proc = _run(sys.executable, "-m", "mypy")
    out = proc.stdout + proc.stderr
    assert proc.returncode == 0 and "Success" in out, out
