"""Fresh end-to-end run of the default sweep (config/config.yaml) on 2 cores.

Target (issue 3): under 300 s on 2 cores. Reports the wall time, its ratio to the target and
the per-rule time share from the rules' benchmark records.

    python benchmarks/bench_sweep.py [--cores 2]
"""

from __future__ import annotations

import argparse
import csv
import os
import tempfile
from collections import defaultdict
from pathlib import Path

from _util import REPO, run_snakemake, save

TARGET_S = 300.0


def rule_seconds(workdir: Path) -> dict[str, float]:
    """Summed wall seconds per rule from Snakemake's benchmark files."""
    totals: dict[str, float] = defaultdict(float)
    for tsv in (workdir / "results" / "benchmarks").rglob("*.tsv"):
        with open(tsv) as fh:
            row = next(csv.DictReader(fh, delimiter="\t"))
        totals[tsv.stem] += float(row["s"])
    return dict(sorted(totals.items()))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--cores", type=int, default=2)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        workdir = Path(tmp)
        timing = run_snakemake(
            workdir, REPO / "config" / "config.yaml", "--cores", str(args.cores), "--quiet"
        )
        jobs = sum(1 for _ in (workdir / "results" / "benchmarks").rglob("*.tsv"))
        report = {
            "cores": args.cores,
            "cpu_count": os.cpu_count(),
            "jobs": jobs,
            **timing,
            "target_s": TARGET_S,
            "ratio_to_target": timing["wall_s"] / TARGET_S,
            "rule_seconds": rule_seconds(workdir),
        }
    save("bench_sweep", report)


if __name__ == "__main__":
    main()
