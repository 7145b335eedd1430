"""Under load (issue 6): plan a 100,000-point grid, and run a 500-point grid to completion.

(a) ``snakemake --dry-run`` on a 100,000-point grid (the grid of ``bench_dryrun.py``): wall
    and CPU time, peak RSS of the Snakemake process (MiB), and the jobs it planned.
(b) a local run of a 500-point grid (one MLP, few epochs, one Monte-Carlo chip per point) with
    ``--cores 2``: wall time, and a check that the table holds every grid point with status ok.

    python benchmarks/bench_scale.py [--part dryrun|run|both] [--points 100000]
        [--run-points 500] [--cores 2] [--workdir DIR]

``--workdir`` keeps the run's directory (count ``results/**/accuracy.json`` to follow it).
"""

from __future__ import annotations

import argparse
import itertools
import os
import re
import tempfile
from pathlib import Path
from typing import Any

import pandas as pd
import yaml
from _util import run_snakemake, save


def planned_counts(text: str) -> dict[str, int]:
    """Jobs per rule from the 'Job stats' table of a dry run."""
    counts: dict[str, int] = {}
    body = text.split("Job stats:", 1)[-1]
    for line in body.splitlines():
        match = re.match(r"^(\w+)\s+(\d+)$", line.strip())
        if match:
            counts[match.group(1)] = int(match.group(2))
        elif counts and not line.strip():
            break
    return counts


def dry_run(points: int) -> dict[str, Any]:
    """Plan a ``points``-point grid; return time, peak RSS and the planned jobs
    (:func:`bench_dryrun.dry_run`)."""
    from bench_dryrun import dry_run as plan_grid

    return plan_grid(points)


RUN_PARAMS: dict[str, Any] = {"epochs": 5, "mc_runs": 1, "calib_samples": 128}


def run_grid(points: int) -> dict[str, list]:
    """A ``points``-point grid with few hardware points: 5 ADC precisions x noise x retention."""
    if points % 50 or points < 50:
        raise SystemExit("--run-points must be a positive multiple of 50")
    per = points // 50
    return {
        "model": ["mlp"],
        "adc_precision": [3, 4, 5, 6, 8],
        "read_noise": [round(0.01 * i, 4) for i in range(10)],
        "t": [float(10**i) for i in range(per)],
    }


def local_run(points: int, cores: int, workdir: Path) -> dict[str, Any]:
    """Run a ``points``-point grid to completion; check every point is in the table."""
    grid = run_grid(points)
    config = workdir / "config.yaml"
    config.write_text(
        yaml.safe_dump(
            {"params": RUN_PARAMS, "grid": grid, "figures": {"draw": ["accuracy_vs_energy"]}}
        )
    )
    timing = run_snakemake(workdir, config, "--cores", str(cores), "--quiet", "--keep-going")
    table = pd.read_csv(workdir / "results" / "tables" / "sweep.csv")
    expected = set(itertools.product(*grid.values()))
    found = set(zip(*(table[name] for name in grid), strict=True))
    missing = expected - found
    if len(table) != points or missing:
        raise SystemExit(f"table has {len(table)} rows; {len(missing)} grid points missing")
    ok = int((table["status"] == "ok").sum())
    return {
        "points": points,
        "cores": cores,
        "cpu_count": os.cpu_count(),
        "params": RUN_PARAMS,
        "grid_sizes": {k: len(v) for k, v in grid.items()},
        **timing,
        "rows": len(table),
        "rows_ok": ok,
        "load_avg_1min": os.getloadavg()[0],
        "seconds_per_point": timing["wall_s"] / points,
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--part", choices=["dryrun", "run", "both"], default="both")
    parser.add_argument("--points", type=int, default=100_000)
    parser.add_argument("--run-points", type=int, default=500)
    parser.add_argument("--cores", type=int, default=2)
    parser.add_argument("--workdir", type=Path, default=None)
    args = parser.parse_args()
    if args.part in ("dryrun", "both"):
        save(f"bench_scale_dryrun_{args.points}", dry_run(args.points))
    if args.part in ("run", "both"):
        if args.workdir is None:
            with tempfile.TemporaryDirectory() as tmp:
                report = local_run(args.run_points, args.cores, Path(tmp))
        else:
            args.workdir.mkdir(parents=True, exist_ok=True)
            report = local_run(args.run_points, args.cores, args.workdir)
        save(f"bench_scale_run_{args.run_points}", report)


if __name__ == "__main__":
    main()
