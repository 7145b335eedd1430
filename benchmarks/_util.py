"""Shared helpers for the benchmark scripts: running Snakemake and saving a JSON report."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parents[1]
OUT = REPO / "benchmarks" / "out"
SNAKEMAKE = str(Path(sys.executable).with_name("snakemake"))


def run_snakemake(
    workdir: Path, config: Path, *args: str, output: list[str] | None = None
) -> dict[str, float]:
    """Run Snakemake on the repo's workflow; return wall time (s), CPU time (s, user + system,
    Snakemake and its jobs) and the peak RSS (MiB) of this Snakemake process tree alone (its
    own ``wait4`` record, not the maximum over earlier children).

    ``output``, when given, receives Snakemake's stdout + stderr.
    """
    cmd = [
        SNAKEMAKE,
        "--snakefile",
        str(REPO / "workflow" / "Snakefile"),
        "--directory",
        str(workdir),
        "--configfile",
        str(config),
        *args,
    ]
    with tempfile.TemporaryFile("w+") as out:
        start = time.perf_counter()
        proc = subprocess.Popen(cmd, stdout=out, stderr=subprocess.STDOUT, text=True)
        _, status, usage = os.wait4(proc.pid, 0)
        wall = time.perf_counter() - start
        proc.returncode = os.waitstatus_to_exitcode(status)
        out.seek(0)
        text = out.read()
    if proc.returncode != 0:
        raise SystemExit(f"snakemake failed:\n{text[-6000:]}")
    if output is not None:
        output.append(text)
    cpu = usage.ru_utime + usage.ru_stime
    return {"wall_s": wall, "cpu_s": cpu, "peak_rss_mib": usage.ru_maxrss / 1024}


def save(name: str, report: dict[str, Any]) -> Path:
    """Write a benchmark report to benchmarks/out/<name>.json and print it."""
    OUT.mkdir(parents=True, exist_ok=True)
    path = OUT / f"{name}.json"
    path.write_text(json.dumps(report, indent=2) + "\n")
    print(json.dumps(report, indent=2))
    print(f"saved {path}")
    return path
