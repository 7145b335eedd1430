"""The search's rounds as workflow steps: ask a batch, tell its results, gather the table.

Files under ``results/search/``: ``study.journal`` (the Optuna study), per round
``round_NNN/proposals.json`` (trial numbers, points as path tokens, their inference and PPA
result paths) and ``round_NNN/told.json``; then ``evaluated.{csv,parquet}`` (the tidy table
of every evaluated point plus ``round``, ``trial`` and ``pareto``), ``front.csv`` and
``summary.json`` (hypervolume after each evaluation, parameter importances); with
``search.prune_with_ppa``, ``pruned.json`` (the PPA pruning report and the kept points).
"""

from __future__ import annotations

import math
import time
from pathlib import Path
from typing import Any

import numpy as np

from cimsweep.io import read_json, write_json
from cimsweep.search import front, prune, study
from cimsweep.search.spec import SearchSpec
from cimsweep.workflow.config import Sweep

SEARCH_DIR = "search"


def search_dir(root: str = "results") -> str:
    """Folder of the search's state and outputs."""
    return f"{root}/{SEARCH_DIR}"


def journal_path(root: str = "results") -> str:
    """The Optuna journal file."""
    return f"{search_dir(root)}/study.journal"


def proposals_path(round_index: int, root: str = "results") -> str:
    """A round's proposals."""
    return f"{search_dir(root)}/round_{round_index:03d}/proposals.json"


def told_path(round_index: int, root: str = "results") -> str:
    """Marker of a round whose results the sampler has been told."""
    return f"{search_dir(root)}/round_{round_index:03d}/told.json"


def pruned_path(root: str = "results") -> str:
    """The PPA pruning report and kept points (``search.prune_with_ppa``)."""
    return f"{search_dir(root)}/pruned.json"


def previous_told(round_index: int, root: str = "results") -> list[str]:
    """What a round's ask waits for: the previous round's marker (none for round 0)."""
    return [] if round_index == 0 else [told_path(round_index - 1, root)]


def ask_inputs(spec: SearchSpec, round_index: int, root: str = "results") -> list[str]:
    """What a round's ask waits for: the previous round's marker, and the pruned space."""
    pruned = [pruned_path(root)] if spec.prune_with_ppa else []
    return [*previous_told(round_index, root), *pruned]


def _proposed(round_index: int, root: str) -> list[dict[str, Any]]:
    return read_json(proposals_path(round_index, root))["points"]


def planned_rounds(spec: SearchSpec, root: str = "results") -> int:
    """Rounds to run: those already proposed, then enough to spend the rest of the budget
    (a finished search given more budget gets new rounds)."""
    done, total = 0, 0
    while Path(proposals_path(done, root)).exists():
        total += len(_proposed(done, root))
        done += 1
    return max(done + math.ceil(max(0, spec.budget - total) / spec.batch), 1)


def ask(spec: SearchSpec, sweep: Sweep, round_index: int, out_json: str, root: str) -> None:
    """Ask the sampler for this round's new points; write them with their result paths (and
    the ask's wall seconds and end time, for the planning overhead in ``summary.json``)."""
    start = time.perf_counter()
    before = sum(len(_proposed(r, root)) for r in range(round_index))
    n = min(spec.batch, spec.budget - before)
    store = study.storage(journal_path(root))
    kept = prune.load_kept(pruned_path(root), spec) if spec.prune_with_ppa else None
    entries = study.ask_round(spec, store, round_index, n, kept) if n > 0 else []
    for e in entries:
        e["infer"] = sweep.result_path("infer", e["point"], root)
        e["ppa"] = sweep.result_path("ppa", e["point"], root)
    timing = {"ask_s": time.perf_counter() - start, "asked_at": time.time()}
    write_json(out_json, {"round": round_index, "points": entries, "timing": timing})


def result_files(proposals_json: str) -> list[str]:
    """Inference and PPA result files of a round's points (the targets Snakemake builds)."""
    return [p for e in read_json(proposals_json)["points"] for p in (e["infer"], e["ppa"])]


def _rows(proposals_json: str, round_index: int) -> list[dict[str, Any]]:
    from cimsweep.workflow.steps import point_record

    rows = []
    for e in read_json(proposals_json)["points"]:
        row = point_record(e["infer"], e["ppa"], e["point"])
        rows.append({**row, "round": round_index, "trial": e["trial"]})
    return rows


def tell(spec: SearchSpec, round_index: int, proposals_json: str, out_json: str, root: str) -> None:
    """Tell the sampler the results of a round's points; write the round's marker (with the
    tell's wall seconds and start time)."""
    start, started_at = time.perf_counter(), time.time()
    rows = _rows(proposals_json, round_index)
    store = study.storage(journal_path(root))
    study.tell_round(spec, store, round_index, {r["trial"]: r for r in rows})
    values = {r["trial"]: study.objective_values(spec, r) for r in rows}
    timing = {"tell_s": time.perf_counter() - start, "told_at": started_at}
    write_json(out_json, {"round": round_index, "values": values, "timing": timing})


def planning(rounds: int, root: str = "results") -> list[dict[str, float]]:
    """Per round: the ask's and the tell's wall seconds (s), and the wall seconds between the
    end of the ask and the start of the tell (``jobs_s``: the round's jobs as Snakemake ran
    them, scheduling included). Rounds written before timings were kept are left out."""
    out = []
    for r in range(rounds):
        asked = read_json(proposals_path(r, root)).get("timing")
        told = read_json(told_path(r, root)).get("timing")
        if asked and told:
            jobs = told["told_at"] - asked["asked_at"]
            out.append(
                {"round": r, "ask_s": asked["ask_s"], "tell_s": told["tell_s"], "jobs_s": jobs}
            )
    return out


def gather(spec: SearchSpec, rounds: int, root: str = "results") -> Any:
    """The tidy table of every evaluated point (``round``, ``trial``, ``pareto`` added)."""
    from cimsweep.results import build_table

    records = [r for i in range(rounds) for r in _rows(proposals_path(i, root), i)]
    table = build_table(records)
    table = table.sort_values("trial", kind="mergesort").reset_index(drop=True)
    table["pareto"] = front.pareto_mask(table, spec.objectives, spec.constraints)
    return table


def hypervolume_history(spec: SearchSpec, table: Any, bounds: Any = None) -> list[float]:
    """Hypervolume of the feasible points after each evaluation, in trial order (bounds:
    those of the evaluated points unless given)."""
    bounds = bounds or front.bounds_of(table, spec.objectives)
    ok = front.feasible(table, spec.constraints).to_numpy()
    pts = front.scaled(table, spec.objectives, bounds)
    return [front.hypervolume(pts[: i + 1][ok[: i + 1]]) for i in range(len(table))]


def importances(spec: SearchSpec, root: str = "results") -> dict[str, dict[str, float]]:
    """fANOVA importance of each axis for each objective (Optuna), over the evaluated trials."""
    import optuna

    store = study.storage(journal_path(root))
    s = optuna.load_study(study_name=study.STUDY_NAME, storage=store)
    done = [t for t in s.get_trials(deepcopy=False) if t.state.name == "COMPLETE"]
    out: dict[str, dict[str, float]] = {}
    if len(done) < 4:
        return out
    evaluator = optuna.importance.FanovaImportanceEvaluator(seed=spec.seed)

    def objective(i: int) -> Any:
        # fANOVA on raw values of 1e-9 J sees no variance and returns equal shares of whatever
        # it splits first: scale each objective as the hypervolume does (log10 over decades)
        raw = np.array([t.values[i] for t in done], dtype=float)
        x = front.scale_between(raw, float(raw.min()), float(raw.max()))
        by_trial = dict(zip((t.number for t in done), x.tolist(), strict=True))
        return lambda t: by_trial[t.number]

    for i, column in enumerate(spec.objectives):
        try:
            imp = optuna.importance.get_param_importances(
                s, evaluator=evaluator, target=objective(i), normalize=True
            )
        except RuntimeError:  # the objective did not vary over the evaluated points
            imp = {a.name: 0.0 for a in spec.axes}
        out[column] = {k: float(v) for k, v in imp.items()}
    return out


def summarise(spec: SearchSpec, rounds: int, root: str, out: dict[str, str]) -> None:
    """Write the evaluated table (CSV, Parquet), the front (CSV) and ``summary.json``."""
    from cimsweep.io import atomic_path
    from cimsweep.results import write_table

    table = gather(spec, rounds, root)
    write_table(table, out["csv"], out["parquet"])
    with atomic_path(out["front"]) as tmp:
        table[table["pareto"]].to_csv(tmp, index=False)
    summary = {
        "evaluations": len(table),
        "rounds": rounds,
        "space_size": spec.space_size(),
        "objectives": spec.objectives,
        "constraints": [str(c) for c in spec.constraints],
        "hypervolume": hypervolume_history(spec, table),
        "pruning": _pruning(spec, root),
        "importance": importances(spec, root),
        "planning": planning(rounds, root),
    }
    write_json(out["summary"], summary)


def _pruning(spec: SearchSpec, root: str) -> dict[str, Any] | None:
    """The pruning report without its point list (None without pruning)."""
    if not spec.prune_with_ppa:
        return None
    return {k: v for k, v in read_json(pruned_path(root)).items() if k != "kept"}
