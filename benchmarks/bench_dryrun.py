"""Planning cost of a large grid: `snakemake --dry-run` on a 10,000-point sweep.

Target (issue 3): under 20 s. Reports wall time, peak memory, jobs planned and the ratio to
the target.

    python benchmarks/bench_dryrun.py [--points 10000]
"""

from __future__ import annotations

import argparse
import tempfile
from pathlib import Path

import yaml
from _util import run_snakemake, save

TARGET_S = 20.0


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


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--points", type=int, default=10_000)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        workdir = Path(tmp)
        config = workdir / "config.yaml"
        config.write_text(yaml.safe_dump({"grid": grid_for(args.points)}))
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
