"""Adaptive search vs the full grid on config/sweeps/search_digits.yaml (2,160 points).

The reference grid is evaluated once, in-process, through the same step functions and result
paths the workflow's rules use (:func:`cimsweep.search.evaluate.evaluate_point`), not through
2,160 Snakemake jobs (CPU is scarce); the table is cached in benchmarks/out/search_grid.csv.
Each search then draws its points from that table: over 5 seeds per sampler, at a budget of
at most 15 % of the grid, it reports the fraction of the grid's Pareto hypervolume reached
(mean, worst), against random sampling of the same budget, and the planning time per round
(ask + tell) next to the measured time of the jobs a round runs.

    PYTHONPATH=src python benchmarks/bench_search.py [--samplers nsga2,tpe,random] [--seeds 5]
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

import pandas as pd
import yaml

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _util import OUT, REPO, save  # noqa: E402

from cimsweep.search import spec as search_spec  # noqa: E402
from cimsweep.search.evaluate import evaluate_point  # noqa: E402
from cimsweep.workflow.config import load  # noqa: E402

CONFIG = REPO / "config" / "sweeps" / "search_digits.yaml"
GRID_CSV = OUT / "search_grid.csv"


def reference_grid(raw: dict) -> pd.DataFrame:
    """Every grid point of the search space, evaluated once (cached)."""
    if GRID_CSV.exists():
        return pd.read_csv(GRID_CSV)
    sweep = load(raw)
    root = str(OUT / "search_ref" / "results")
    rows, times = [], []
    points = sweep.points()
    for i, point in enumerate(points):
        start = time.perf_counter()
        row = evaluate_point(sweep, point, root, str(REPO / "config" / "tech"))
        times.append(time.perf_counter() - start)
        rows.append({**row, **{f"token_{k}": v for k, v in point.items()}})
        if i % 100 == 0:
            print(f"reference grid: {i + 1}/{len(points)} points", flush=True)
    table = pd.DataFrame(rows)
    table["eval_s"] = times
    OUT.mkdir(parents=True, exist_ok=True)
    table.to_csv(GRID_CSV, index=False)
    return table


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--samplers", default="nsga2,tpe,gp,random")
    ap.add_argument("--seeds", type=int, default=5)
    ap.add_argument("--reference-only", action="store_true")
    args = ap.parse_args()
    raw = yaml.safe_load(CONFIG.read_text())
    grid = reference_grid(raw)
    print(f"reference grid: {len(grid)} points")
    if args.reference_only:
        return
    from cimsweep.search.bench import compare

    spec = search_spec.parse(raw["search"])
    report = compare(spec, grid, args.samplers.split(","), args.seeds)
    save("bench_search", report)


if __name__ == "__main__":
    main()
