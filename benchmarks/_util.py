"""Shared helpers for the benchmark scripts: running Snakemake and saving a JSON report."""

from __future__ import annotations

import json
import resource
import subprocess
import sys
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
    Snakemake and its jobs) and peak child RSS (MiB).

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
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    before, cpu_before = usage.ru_maxrss, usage.ru_utime + usage.ru_stime
    start = time.perf_counter()
    proc = subprocess.run(cmd, capture_output=True, text=True)
    wall = time.perf_counter() - start
    if proc.returncode != 0:
        raise SystemExit(f"snakemake failed:\n{proc.stdout[-3000:]}\n{proc.stderr[-3000:]}")
    if output is not None:
        output.append(proc.stdout + proc.stderr)
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    cpu = usage.ru_utime + usage.ru_stime - cpu_before
    return {"wall_s": wall, "cpu_s": cpu, "peak_rss_mib": max(usage.ru_maxrss, before) / 1024}


def save(name: str, report: dict[str, Any]) -> Path:
    """Write a benchmark report to benchmarks/out/<name>.json and print it."""
    OUT.mkdir(parents=True, exist_ok=True)
    path = OUT / f"{name}.json"
    path.write_text(json.dumps(report, indent=2) + "\n")
    print(json.dumps(report, indent=2))
    print(f"saved {path}")
    return path
