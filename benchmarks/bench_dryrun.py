"""Planning cost of large grids: `snakemake --dry-run` on 10,000 and 100,000 points.

Target (issue 20): under 10 s and 200 MB at 10,000 points. Reports, per grid size, wall and
CPU time and the peak RSS of the planning process, the jobs planned per rule and the ratio to
the target; saves ``benchmarks/out/bench_dryrun_<points>.json`` and ``bench_dryrun.json``.
``--points-per-job 1`` measures one job per point (the planning before chunk jobs). ``--huge``:
time until a 10^6-point grid is refused (params.max_points).

    python benchmarks/bench_dryrun.py [--points 10000 100000] [--points-per-job 0]
"""

from __future__ import annotations

import argparse
import os
import tempfile
from pathlib import Path
from typing import Any

import yaml
from _util import run_snakemake, save

TARGET_S = 10.0
TARGET_MIB = 200 * 1e6 / 2**20  # 200 MB


def grid_for(points: int) -> dict[str, list]:
    """A grid of exactly ``points`` points (model x adc x sub_array x noise x drift axes)."""
    grid: dict[str, list] = {
        "model": ["mlp", "cnn"],
        "adc_precision": [3, 4, 5, 6, 8],
        "sub_array": [32, 64, 128, 256],
        "read_noise": [0.0, 0.02, 0.05, 0.08, 0.1],
    }
    rest = points // 200
    if rest * 200 != points or rest < 1:
        raise SystemExit("--points must be a positive multiple of 200")
    grid["prog_noise"] = [round(0.001 * i, 6) for i in range(rest)]
    return grid


def refused(points: int) -> dict[str, float]:
    """Time and peak memory until a ``points``-point grid above params.max_points is refused."""
    import resource
    import subprocess
    import time

    from _util import REPO, SNAKEMAKE

    steps = [0.01 * (i + 1) for i in range(10)]
    grid = {n: steps for n in ("read_noise", "prog_noise", "lr", "weight_decay", "momentum")}
    grid["t"] = [float(10**i) for i in range(10)]
    size = 10 ** len(grid)
    with tempfile.TemporaryDirectory() as tmp:
        config = Path(tmp) / "config.yaml"
        config.write_text(yaml.safe_dump({"grid": grid}))
        start = time.perf_counter()
        proc = subprocess.run(
            [
                SNAKEMAKE,
                "--snakefile",
                str(REPO / "Snakefile"),
                "--directory",
                tmp,
                "--configfile",
                str(config),
                "--dry-run",
            ],
            capture_output=True,
            text=True,
        )
        wall = time.perf_counter() - start
    if proc.returncode == 0 or "max_points" not in proc.stdout + proc.stderr:
        raise SystemExit(f"a {size}-point grid was not refused:\n{proc.stderr[-2000:]}")
    rss = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024
    return {"points": size, "refused": True, "wall_s": wall, "peak_rss_mib": rss}


def dry_run(points: int, per_job: int = 0) -> dict[str, Any]:
    """Plan a ``points``-point grid (``params.points_per_job = per_job``); return time, peak
    RSS and the jobs planned per rule, checked against the chunk plan."""
    from bench_scale import planned_counts

    from cimsweep.workflow import chunks
    from cimsweep.workflow.config import load

    raw = {"params": {"max_points": points, "points_per_job": per_job}, "grid": grid_for(points)}
    sweep = load(raw)
    plan = chunks.plan(sweep, "infer")
    expected = len(plan) if plan else points
    with tempfile.TemporaryDirectory() as tmp:
        workdir = Path(tmp)
        config = workdir / "config.yaml"
        config.write_text(yaml.safe_dump(raw))
        output: list[str] = []
        timing = run_snakemake(workdir, config, "--dry-run", "--quiet", "rules", output=output)
    jobs = planned_counts(output[0])
    if jobs.get("infer_chunk" if plan else "infer") != expected:
        raise SystemExit(f"dry run planned {jobs}, expected {expected} inference jobs")
    return {
        "points": points,
        "points_per_job": per_job,
        **timing,
        "load_avg_1min": os.getloadavg()[0],
        "jobs": jobs,
        "target_s": TARGET_S,
        "target_mib": TARGET_MIB,
        "ratio_to_target": timing["wall_s"] / TARGET_S,
        "cpu_ratio_to_target": timing["cpu_s"] / TARGET_S,
        "rss_ratio_to_target": timing["peak_rss_mib"] / TARGET_MIB,
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--points", type=int, nargs="+", default=[10_000, 100_000])
    parser.add_argument("--points-per-job", type=int, default=0)
    parser.add_argument("--huge", action="store_true", help="time the refusal of 10^6 points")
    args = parser.parse_args()
    if args.huge:
        save("bench_dryrun_refused", refused(args.points[0]))
        return
    reports = {}
    for points in args.points:
        suffix = "" if args.points_per_job == 0 else f"_per_job_{args.points_per_job}"
        reports[points] = dry_run(points, args.points_per_job)
        save(f"bench_dryrun_{points}{suffix}", reports[points])
    for points, r in reports.items():
        print(
            f"{points:>7,} points: {r['wall_s']:.1f} s wall ({r['ratio_to_target']:.2f}x the "
            f"10 s target), {r['cpu_s']:.1f} s CPU, {r['peak_rss_mib']:.0f} MiB "
            f"({r['rss_ratio_to_target']:.2f}x 200 MB), {r['jobs'].get('total')} jobs"
        )
    if args.points_per_job == 0:
        save("bench_dryrun", {str(k): v for k, v in reports.items()})


if __name__ == "__main__":
    main()
