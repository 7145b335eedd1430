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
from collections.abc import Mapping
from dataclasses import replace
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import yaml

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _util import OUT, REPO, save  # noqa: E402

from cimsweep.search import front, study  # noqa: E402
from cimsweep.search import spec as search_spec  # noqa: E402
from cimsweep.search.evaluate import evaluate_point  # noqa: E402
from cimsweep.workflow.config import load  # noqa: E402
from cimsweep.workflow.params import PARAMS  # noqa: E402

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


def _key(row: Mapping[str, Any], spec: search_spec.SearchSpec) -> str:
    return study.point_key({a.name: str(row[f"token_{a.name}"]) for a in spec.axes})


def job_seconds(grid: pd.DataFrame, spec: search_spec.SearchSpec) -> dict[str, tuple[str, float]]:
    """Point key -> (inference point, seconds of its own PPA job and shared inference job)."""
    ppa_only = [a.name for a in spec.axes if "infer" not in PARAMS[a.name].stages]
    infer_axes = [f"token_{a.name}" for a in spec.axes if a.name not in ppa_only]
    group = grid[infer_axes].astype(str).agg(",".join, axis=1)
    infer_s = grid.groupby(group)["eval_s"].max()  # the first point of a group ran inference
    ppa_s = float(grid["eval_s"].min())
    return {
        _key(row, spec): (g, float(infer_s[g]), ppa_s)
        for (_, row), g in zip(grid.iterrows(), group, strict=True)
    }


def run_search(
    spec: search_spec.SearchSpec, lookup: Mapping[str, Mapping[str, Any]], jobs: Mapping
) -> dict[str, Any]:
    """One search drawing results from the reference grid; timings of its planning."""
    import optuna

    store = optuna.storages.InMemoryStorage()
    evaluated: list[Mapping[str, Any]] = []
    plan_s, round_job_s = [], []
    infer_done: set[str] = set()
    for r in range(spec.rounds()):
        n = min(spec.batch, spec.budget - len(evaluated))
        start = time.perf_counter()
        entries = study.ask_round(spec, store, r, n)
        asked = time.perf_counter() - start
        rows = {e["trial"]: lookup[study.point_key(e["point"])] for e in entries}
        start = time.perf_counter()
        study.tell_round(spec, store, r, rows)
        plan_s.append(asked + time.perf_counter() - start)
        seconds = 0.0
        for e in entries:
            g, infer_s, ppa_s = jobs[study.point_key(e["point"])]
            seconds += ppa_s + (0.0 if g in infer_done else infer_s)
            infer_done.add(g)
        round_job_s.append(seconds)
        evaluated += list(rows.values())
        if not entries:
            break
    return {
        "table": pd.DataFrame(evaluated),
        "plan_s": plan_s,
        "job_s": round_job_s,
        "inference_jobs": len(infer_done),
    }


def compare(
    spec: search_spec.SearchSpec, grid: pd.DataFrame, samplers: list[str], seeds: int
) -> dict[str, Any]:
    """Hypervolume fraction of each sampler over ``seeds`` seeds at the spec's budget."""
    lookup = {_key(row, spec): row.to_dict() for _, row in grid.iterrows()}
    jobs = job_seconds(grid, spec)
    # Scaled between the full grid's ideal and nadir points (its front's best and worst value
    # of each objective): the standard normalisation, so that only the front region counts.
    on_front = front.pareto_mask(grid, spec.objectives, spec.constraints)
    bounds = front.bounds_of(grid[on_front], spec.objectives)
    full = front.table_hypervolume(grid, spec.objectives, bounds, spec.constraints)
    report: dict[str, Any] = {
        "config": str(CONFIG.relative_to(REPO)),
        "grid_points": len(grid),
        "grid_inference_points": len({j[0] for j in jobs.values()}),
        "grid_job_s": float(grid["eval_s"].sum()),
        "budget": spec.budget,
        "budget_fraction": spec.budget / len(grid),
        "batch": spec.batch,
        "objectives": spec.objectives,
        "constraints": [str(c) for c in spec.constraints],
        "grid_hypervolume": full,
        "grid_front_points": int(on_front.sum()),
        "bounds": bounds,
        "samplers": {},
    }
    for name in samplers:
        runs = []
        for seed in range(seeds):
            s = replace(spec, sampler=name, seed=seed)
            start = time.perf_counter()
            out = run_search(s, lookup, jobs)
            wall = time.perf_counter() - start
            hv = front.table_hypervolume(out["table"], s.objectives, bounds, s.constraints)
            runs.append(
                {
                    "seed": seed,
                    "evaluations": len(out["table"]),
                    "inference_jobs": out["inference_jobs"],
                    "hypervolume_fraction": hv / full,
                    "plan_s_per_round": float(np.mean(out["plan_s"])),
                    "plan_s_max_round": float(np.max(out["plan_s"])),
                    "job_s_per_round": float(np.mean(out["job_s"])),
                    "wall_s": wall,
                }
            )
            print(f"{name} seed {seed}: {runs[-1]}", flush=True)
        fractions = [r["hypervolume_fraction"] for r in runs]
        plan = [r["plan_s_per_round"] for r in runs]
        job = [r["job_s_per_round"] for r in runs]
        report["samplers"][name] = {
            "hypervolume_fraction_mean": float(np.mean(fractions)),
            "hypervolume_fraction_worst": float(np.min(fractions)),
            "evaluations_mean": float(np.mean([r["evaluations"] for r in runs])),
            "plan_s_per_round_mean": float(np.mean(plan)),
            "job_s_per_round_mean": float(np.mean(job)),
            "plan_over_job": float(np.mean(plan) / np.mean(job)),
            "runs": runs,
        }
    return report


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--samplers", default="nsga2,tpe,gp,random")
    ap.add_argument("--seeds", type=int, default=5)
    ap.add_argument("--budget", type=int, default=0, help="override search.budget")
    ap.add_argument("--reference-only", action="store_true")
    args = ap.parse_args()
    raw = yaml.safe_load(CONFIG.read_text())
    grid = reference_grid(raw)
    print(f"reference grid: {len(grid)} points")
    if args.reference_only:
        return
    spec = search_spec.parse(raw["search"])
    if args.budget:
        spec = replace(spec, budget=args.budget)
    report = compare(spec, grid, args.samplers.split(","), args.seeds)
    save(f"bench_search_{spec.budget}", report)


if __name__ == "__main__":
    main()
