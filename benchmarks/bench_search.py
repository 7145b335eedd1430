"""Adaptive search vs the full grid on config/sweeps/search_digits.yaml (2,160 points).

The reference grid is evaluated once, in-process, through the same step functions and result
paths the workflow's rules use (:func:`cimsweep.search.evaluate.evaluate_point`), not through
2,160 Snakemake jobs (CPU is scarce); the table is cached in benchmarks/out/search_grid.csv.
Each search then draws its points from that table: over 5 seeds per sampler, at a budget of
at most 15 % of the grid, it reports the fraction of the grid's Pareto hypervolume reached
(mean, worst), against random sampling of the same budget, and the planning time per round
(ask + tell) next to the measured time of the jobs a round runs.

Planning is measured as the workflow does it: the study in a journal file, opened by each ask
and each tell (wall and CPU seconds; ``--plain-journal`` also times Optuna's unbuffered
journal backend, one fsync per write, as the workflow had it before). ``--prune`` also runs
every sampler on the PPA-pruned space (``search.prune_with_ppa``; the kept set from the grid's
own PPA columns, plus the in-process time to compute the PPA of the whole space) at the
budgets of ``--prune-budgets``. ``--space NAME=[values]`` restricts an axis (a sub-space of
the example, e.g. while the full reference grid is not computed yet).

    PYTHONPATH=src python benchmarks/bench_search.py [--samplers nsga2,tpe,random] [--seeds 5]
    PYTHONPATH=src python benchmarks/bench_search.py --samplers tpe,random --prune \
        --prune-budgets 72,144 --space 'sub_array=[32, 64]'
"""

from __future__ import annotations

import argparse
import sys
import tempfile
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

from cimsweep.io import read_json  # noqa: E402
from cimsweep.search import front, prune, study  # noqa: E402
from cimsweep.search import spec as search_spec  # noqa: E402
from cimsweep.search.evaluate import evaluate_point  # noqa: E402
from cimsweep.workflow.config import load  # noqa: E402
from cimsweep.workflow.params import PARAMS  # noqa: E402

CONFIG = REPO / "config" / "sweeps" / "search_digits.yaml"
GRID_CSV = OUT / "search_grid.csv"


def reference_grid(raw: dict, csv: Path = GRID_CSV) -> pd.DataFrame:
    """Every grid point of the search space, evaluated once (cached in ``csv``)."""
    if csv.exists():
        return pd.read_csv(csv)
    sweep = load(raw)
    root = str(OUT / "search_ref" / "results")
    rows, times = [], []
    points = sweep.points()
    for i, point in enumerate(points):
        start = time.perf_counter()
        row = evaluate_point(sweep, point, root, str(REPO / "config" / "tech"))
        times.append(time.perf_counter() - start)
        infer_json = sweep.result_path("infer", point, root)
        row["infer_seconds"] = float(read_json(infer_json).get("seconds", np.nan))
        rows.append({**row, **{f"token_{k}": v for k, v in point.items()}})
        if i % 100 == 0:
            print(f"reference grid: {i + 1}/{len(points)} points", flush=True)
    table = pd.DataFrame(rows)
    table["eval_s"] = times
    OUT.mkdir(parents=True, exist_ok=True)
    table.to_csv(csv, index=False)
    return table


def _key(row: Mapping[str, Any], spec: search_spec.SearchSpec) -> str:
    return study.point_key({a.name: str(row[f"token_{a.name}"]) for a in spec.axes})


def job_seconds(grid: pd.DataFrame, spec: search_spec.SearchSpec) -> dict[str, tuple[str, float]]:
    """Point key -> (inference point, seconds of its own PPA job and shared inference job)."""
    ppa_only = [a.name for a in spec.axes if "infer" not in PARAMS[a.name].stages]
    infer_axes = [f"token_{a.name}" for a in spec.axes if a.name not in ppa_only]
    group = grid[infer_axes].astype(str).agg(",".join, axis=1)
    if "infer_seconds" in grid:  # the inference step's own time (its accuracy.json)
        infer_s = grid.groupby(group)["infer_seconds"].first()
    else:  # the first point of a group ran inference
        infer_s = grid.groupby(group)["eval_s"].max()
    ppa_s = float(grid["eval_s"].min())
    return {
        _key(row, spec): (g, float(infer_s[g]), ppa_s)
        for (_, row), g in zip(grid.iterrows(), group, strict=True)
    }


def _plain_storage(path: Path) -> Any:
    """Optuna's own journal storage (one locked, fsynced append per write)."""
    from optuna.storages import JournalStorage
    from optuna.storages.journal import JournalFileBackend

    return JournalStorage(JournalFileBackend(str(path)))


def run_search(
    spec: search_spec.SearchSpec,
    lookup: Mapping[str, Mapping[str, Any]],
    jobs: Mapping,
    kept: Mapping[str, list[dict[str, str]]] | None = None,
    plain: bool = False,
) -> dict[str, Any]:
    """One search drawing results from the reference grid; timings of its planning (the
    study in a journal file that each ask and each tell opens, as in the workflow)."""
    opener = _plain_storage if plain else study.storage
    evaluated: list[Mapping[str, Any]] = []
    plan_s, plan_cpu_s, round_job_s = [], [], []
    infer_done: set[str] = set()
    folder = tempfile.TemporaryDirectory()
    journal = Path(folder.name) / "study.journal"
    for r in range(spec.rounds()):
        n = min(spec.batch, spec.budget - len(evaluated))
        start, cpu = time.perf_counter(), time.process_time()
        entries = study.ask_round(spec, opener(journal), r, n, kept)
        rows = {e["trial"]: lookup[study.point_key(e["point"])] for e in entries}
        study.tell_round(spec, opener(journal), r, rows)
        plan_s.append(time.perf_counter() - start)
        plan_cpu_s.append(time.process_time() - cpu)
        seconds = 0.0
        for e in entries:
            g, infer_s, ppa_s = jobs[study.point_key(e["point"])]
            seconds += ppa_s + (0.0 if g in infer_done else infer_s)
            infer_done.add(g)
        round_job_s.append(seconds)
        evaluated += list(rows.values())
        if not entries:
            break
    folder.cleanup()
    return {
        "table": pd.DataFrame(evaluated),
        "plan_s": plan_s,
        "plan_cpu_s": plan_cpu_s,
        "job_s": round_job_s,
        "inference_jobs": len(infer_done),
    }


def _late(values: list[float]) -> float:
    """Mean of the last three rounds (the study at its largest)."""
    return float(np.mean(values[-3:]))


def kept_from_grid(spec: search_spec.SearchSpec, grid: pd.DataFrame) -> dict[str, Any]:
    """The pruned space from the grid's own PPA columns (what ``search_prune`` computes)."""
    points = [
        {a.name: str(row[f"token_{a.name}"]) for a in spec.axes} for _, row in grid.iterrows()
    ]
    keys = [prune.class_key(spec, p) for p in points]
    why = prune.kept_mask(spec, grid.to_dict("records"), keys)
    bad = [i or d for i, d in zip(why["infeasible"], why["dominated"], strict=True)]
    kept = [p for p, b in zip(points, bad, strict=True) if not b]
    return {
        "space_points": len(points),
        "accuracy_classes": len(set(keys)),
        "kept_points": len(kept),
        "pruned_dominated": int(sum(why["dominated"])),
        "pruned_infeasible": int(sum(why["infeasible"])),
        "kept": prune.kept_index(kept, spec),
    }


def prune_cost(raw: dict, spec: search_spec.SearchSpec) -> dict[str, Any]:
    """Seconds to compute the PPA of the whole space in-process into a fresh results folder
    (what the search_prune rule does; the ppa rule would run one Snakemake job per point)."""
    sweep = load(raw)
    with tempfile.TemporaryDirectory() as root:
        spec_p = replace(spec, prune_with_ppa=True)
        report = prune.prune(spec_p, sweep, root, str(REPO / "config" / "tech"), f"{root}/p.json")
    return {k: v for k, v in report.items() if k != "kept"}


def compare(
    spec: search_spec.SearchSpec,
    grid: pd.DataFrame,
    samplers: list[str],
    seeds: int,
    pruned: dict[str, Any] | None = None,
    prune_budgets: list[int] | None = None,
    plain: bool = False,
) -> dict[str, Any]:
    """Hypervolume fraction of each sampler over ``seeds`` seeds at the spec's budget (and,
    with ``pruned``, on the pruned space at each of ``prune_budgets``)."""
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

    def runs_of(s0: search_spec.SearchSpec, kept: Any = None, old: bool = False) -> dict:
        runs = []
        for seed in range(seeds):
            s = replace(s0, seed=seed)
            start = time.perf_counter()
            out = run_search(s, lookup, jobs, kept, plain=old)
            wall = time.perf_counter() - start
            hv = front.table_hypervolume(out["table"], s.objectives, bounds, s.constraints)
            runs.append(
                {
                    "seed": seed,
                    "evaluations": len(out["table"]),
                    "inference_jobs": out["inference_jobs"],
                    "hypervolume_fraction": hv / full,
                    "plan_s_per_round": float(np.mean(out["plan_s"])),
                    "plan_s_late_rounds": _late(out["plan_s"]),
                    "plan_cpu_s_late_rounds": _late(out["plan_cpu_s"]),
                    "plan_s_max_round": float(np.max(out["plan_s"])),
                    "job_s_per_round": float(np.mean(out["job_s"])),
                    "job_s_late_rounds": _late(out["job_s"]),
                    "wall_s": wall,
                }
            )
            print(f"{s.sampler} seed {seed}{' pruned' if kept else ''}: {runs[-1]}", flush=True)

        def mean(k: str) -> float:
            return float(np.mean([r[k] for r in runs]))

        fractions = [r["hypervolume_fraction"] for r in runs]
        return {
            "budget": s0.budget,
            "hypervolume_fraction_mean": float(np.mean(fractions)),
            "hypervolume_fraction_worst": float(np.min(fractions)),
            "evaluations_mean": mean("evaluations"),
            "inference_jobs_mean": mean("inference_jobs"),
            "plan_s_per_round_mean": mean("plan_s_per_round"),
            "plan_s_late_rounds_mean": mean("plan_s_late_rounds"),
            "plan_cpu_s_late_rounds_mean": mean("plan_cpu_s_late_rounds"),
            "job_s_per_round_mean": mean("job_s_per_round"),
            "job_s_late_rounds_mean": mean("job_s_late_rounds"),
            "plan_over_job": mean("plan_s_per_round") / mean("job_s_per_round"),
            "plan_over_job_late_rounds": mean("plan_s_late_rounds") / mean("job_s_late_rounds"),
            "runs": runs,
        }

    for name in samplers:
        report["samplers"][name] = runs_of(replace(spec, sampler=name))
        if plain:
            report.setdefault("plain_journal", {})[name] = runs_of(
                replace(spec, sampler=name), old=True
            )
    if pruned is not None:
        report["pruning"] = {k: v for k, v in pruned.items() if k != "kept"}
        report["pruned"] = {
            name: {
                str(b): runs_of(replace(spec, sampler=name, budget=b), pruned["kept"])
                for b in prune_budgets or [spec.budget]
            }
            for name in samplers
        }
    return report


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--samplers", default="nsga2,tpe,gp,random")
    ap.add_argument("--seeds", type=int, default=5)
    ap.add_argument("--budget", type=int, default=0, help="override search.budget")
    ap.add_argument("--reference-only", action="store_true")
    ap.add_argument("--prune", action="store_true", help="also search the PPA-pruned space")
    ap.add_argument("--prune-budgets", default="", help="budgets of the pruned searches")
    ap.add_argument("--plain-journal", action="store_true", help="also time Optuna's journal")
    ap.add_argument("--space", action="append", default=[], help="NAME=[values]: a sub-space")
    ap.add_argument("--objectives", default="", help="override: column=min|max,...")
    args = ap.parse_args()
    raw = yaml.safe_load(CONFIG.read_text())
    csv, tag = GRID_CSV, ""
    for item in args.space:
        name, values = item.split("=", 1)
        raw["search"]["space"][name] = yaml.safe_load(values)
        tag += f"_{name}-{'-'.join(map(str, raw['search']['space'][name]))}"
    if tag:
        csv = OUT / f"search_grid{tag}.csv"
    if args.objectives:
        raw["search"]["objectives"] = dict(o.split("=") for o in args.objectives.split(","))
        tag += "_" + "-".join(raw["search"]["objectives"])
    grid = reference_grid(raw, csv)
    print(f"reference grid: {len(grid)} points")
    if args.reference_only:
        return
    spec = search_spec.parse(raw["search"])
    if args.budget:
        spec = replace(spec, budget=args.budget)
    pruned = budgets = None
    if args.prune:
        pruned = {**kept_from_grid(spec, grid), "whole_space_ppa": prune_cost(raw, spec)}
        budgets = [int(b) for b in args.prune_budgets.split(",") if b] or [spec.budget]
    report = compare(
        spec, grid, args.samplers.split(","), args.seeds, pruned, budgets, args.plain_journal
    )
    report["space_override"] = args.space
    save(f"bench_search_{spec.budget}{tag}{'_pruned' if args.prune else ''}", report)


if __name__ == "__main__":
    main()
