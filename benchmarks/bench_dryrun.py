"""Planning cost of a large grid: `snakemake --dry-run` on a 10,000-point sweep.

Target (issue 20): under 10 s and 200 MB (issue 3: 20 s). ``--huge``: time until a
10^6-point grid is refused (params.max_points). Reports wall time, peak memory, jobs
planned and the ratio to the target.

    python benchmarks/bench_dryrun.py [--points 10000]
"""

from __future__ import annotations

import argparse
import tempfile
from pathlib import Path

import yaml
from _util import run_snakemake, save

TARGET_S = 10.0


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


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--points", type=int, default=10_000)
    parser.add_argument("--huge", action="store_true", help="time the refusal of 10^6 points")
    args = parser.parse_args()
    if args.huge:
        save("bench_dryrun_refused", refused(args.points))
        return
    with tempfile.TemporaryDirectory() as tmp:
        workdir = Path(tmp)
        config = workdir / "config.yaml"
        config.write_text(
            yaml.safe_dump({"params": {"max_points": args.points}, "grid": grid_for(args.points)})
        )
        timing = run_snakemake(workdir, config, "--dry-run", "--quiet")
    save(
        f"bench_dryrun_{args.points}",
        {
            "points": args.points,
            **timing,
            "target_s": TARGET_S,
            "ratio_to_target": timing["wall_s"] / TARGET_S,
        },
    )


if __name__ == "__main__":
    main()
