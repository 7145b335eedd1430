"""Prune a search space with its cheap PPA results first (``search.prune_with_ppa: true``).

The pruning is sound (it never removes a point that can reach the feasible Pareto front):

- points that share the value of every axis reaching an accuracy stage (data, train, calib,
  infer: :data:`cimsweep.workflow.params.PARAMS` ``stages``) share one inference result, so
  every accuracy-side column is equal among them (their *accuracy class*). Within a class,
  only the points Pareto-optimal in the PPA-side objectives can be on the front: any other is
  dominated by a class mate (equal accuracy, PPA no worse and better in one);
- a point violating a constraint on a PPA-side column is infeasible, whatever its accuracy
  (and cannot serve as a dominating class mate).

PPA-side columns are the PPA record's (energy, latency, area, TOPS, breakdowns) and the
PPA-only axes themselves. The PPA of every point is computed in-process through the same step
functions and at the same result paths the ``ppa`` rule uses (Snakemake finds them built).

The sampler keeps its space; a proposal outside the kept set is *repaired*: its PPA-only axes
are moved to the nearest kept point of its class (by position in each axis' list), and that
point is evaluated. A class with no kept point (all PPA-infeasible) cannot be evaluated.
"""

from __future__ import annotations

import itertools
import math
import time
from collections.abc import Mapping
from typing import Any

from cimsweep.io import read_json, write_json
from cimsweep.search.spec import SearchSpec
from cimsweep.workflow.config import ConfigError, Sweep
from cimsweep.workflow.params import PARAMS, canonical, token

ACCURACY_STAGES = frozenset({"data", "train", "calib", "infer"})


def ppa_only_axes(spec: SearchSpec) -> list[str]:
    """Axes that reach no accuracy stage (only PPA reads them)."""
    return [a.name for a in spec.axes if not PARAMS[a.name].stages & ACCURACY_STAGES]


def class_key(spec: SearchSpec, point: Mapping[str, str]) -> str:
    """The point's accuracy class: its tokens of the axes that reach an accuracy stage."""
    ppa_only = set(ppa_only_axes(spec))
    return ",".join(f"{a.name}={point[a.name]}" for a in spec.axes if a.name not in ppa_only)


def ppa_columns() -> tuple[str, ...]:
    """Tidy-table columns that come from the PPA result."""
    from cimsweep.workflow.tabulate import COMPONENTS, PPA_TOTALS

    parts = [(f"energy_{c}_J", f"area_{c}_mm2") for c in COMPONENTS]
    return (*PPA_TOTALS, *itertools.chain.from_iterable(parts))


def check(spec: SearchSpec, values: Mapping[str, Any]) -> None:
    """Refuse a space that cannot be pruned (names the key), before any job."""
    for a in spec.axes:
        if a.is_range and PARAMS[a.name].kind != "int":
            raise ConfigError(
                f"search.prune_with_ppa needs a finite space of listed values: "
                f"search.space.{a.name} is a float range; give it as a list of values"
            )
    backends = [values.get("ppa_backend")]
    backends += [v for a in spec.axes if a.name == "ppa_backend" for v in a.choices]
    if "neurosim" in backends:
        raise ConfigError(
            "search.prune_with_ppa: the neurosim PPA backend needs a trained model per point "
            "(not cheap); use the analytic ppa_backend or drop prune_with_ppa"
        )


def space_points(spec: SearchSpec) -> list[dict[str, str]]:
    """Every point of a finite space, as path tokens by axis name (first axis slowest)."""
    columns = []
    for a in spec.axes:
        if a.choices:
            values = list(a.choices)
        else:
            assert a.low is not None and a.high is not None
            values = list(range(int(a.low), int(a.high) + 1, int(a.step or 1)))
        columns.append([token(a.name, canonical(a.name, v)) for v in values])
    names = [a.name for a in spec.axes]
    return [dict(zip(names, combo, strict=True)) for combo in itertools.product(*columns)]


def ppa_side(spec: SearchSpec) -> tuple[list[str], list[str]]:
    """(PPA-side objectives, other objectives) of the spec."""
    side = set(ppa_columns()) | set(ppa_only_axes(spec))
    ppa = [c for c in spec.objectives if c in side]
    return ppa, [c for c in spec.objectives if c not in side]


def ppa_row(ppa_json: str, point: Mapping[str, str]) -> dict[str, Any]:
    """The PPA-side columns of one point (NaN where its PPA failed), as in the tidy table."""
    from cimsweep.results import read_result
    from cimsweep.workflow.tabulate import COMPONENTS, PPA_TOTALS, parse_token

    hw = read_result(ppa_json)
    total = hw.get("total", {}) if hw.get("status", "ok") != "failed" else {}
    row: dict[str, Any] = {k: parse_token(k, v) for k, v in point.items()}
    row.update({k: total.get(k, math.nan) for k in PPA_TOTALS})
    for comp in COMPONENTS:
        row[f"energy_{comp}_J"] = total.get("energy_breakdown_J", {}).get(comp, math.nan)
        row[f"area_{comp}_mm2"] = total.get("area_breakdown_mm2", {}).get(comp, math.nan)
    return row


def kept_mask(spec: SearchSpec, rows: list[dict[str, Any]], keys: list[str]) -> dict[str, Any]:
    """Which points survive: per point ``kept`` and why not (``infeasible`` / ``dominated``)."""
    import numpy as np

    from cimsweep.search.front import non_dominated

    objectives, _ = ppa_side(spec)
    columns = set(ppa_columns()) | set(ppa_only_axes(spec))
    constraints = [c for c in spec.constraints if c.column in columns]
    infeasible = [any(c.violation(float(r[c.column])) > 0 for c in constraints) for r in rows]
    dominated = [False] * len(rows)
    classes: dict[str, list[int]] = {}
    for i, key in enumerate(keys):
        if not infeasible[i]:
            classes.setdefault(key, []).append(i)
    sign = {c: -1.0 if spec.objectives[c] == "max" else 1.0 for c in objectives}
    for members in classes.values():
        if not objectives or len(members) < 2:
            continue
        pts = np.array([[sign[c] * float(rows[i][c]) for c in objectives] for i in members])
        if np.isnan(pts).any():
            continue  # a failed PPA: keep the class whole (nothing is known)
        for i, front in zip(members, non_dominated(pts), strict=True):
            dominated[i] = not front
    return {"infeasible": infeasible, "dominated": dominated}


def prune(
    spec: SearchSpec, sweep: Sweep, root: str, tech_dir: str, out_json: str
) -> dict[str, Any]:
    """Compute the PPA of every point of the space (missing result files only), prune it and
    write ``out_json``: counts, seconds and the kept points. Returns what it wrote."""
    from cimsweep.search.evaluate import ppa_point

    check(spec, sweep.values)
    start = time.perf_counter()
    points = space_points(spec)
    rows, built = [], 0
    for point in points:
        path, new = ppa_point(sweep, point, root, tech_dir)
        built += new
        rows.append(ppa_row(path, point))
    keys = [class_key(spec, p) for p in points]
    why = kept_mask(spec, rows, keys)
    kept = [
        p
        for p, bad, dom in zip(points, why["infeasible"], why["dominated"], strict=True)
        if not (bad or dom)
    ]
    report = {
        "space_points": len(points),
        "accuracy_classes": len(set(keys)),
        "kept_points": len(kept),
        "pruned_infeasible": int(sum(why["infeasible"])),
        "pruned_dominated": int(sum(why["dominated"])),
        "pruned_fraction": 1.0 - len(kept) / len(points) if points else 0.0,
        "ppa_results_built": built,
        "seconds": time.perf_counter() - start,
        "ppa_objectives": ppa_side(spec)[0],
        "kept": kept,
    }
    write_json(out_json, report)
    return report


def kept_index(kept: list[dict[str, str]], spec: SearchSpec) -> dict[str, list[dict[str, str]]]:
    """Accuracy class -> its kept points."""
    out: dict[str, list[dict[str, str]]] = {}
    for p in kept:
        out.setdefault(class_key(spec, p), []).append(p)
    return out


def load_kept(path: str, spec: SearchSpec) -> dict[str, list[dict[str, str]]]:
    """The kept points of a prune report, by accuracy class."""
    return kept_index(read_json(path)["kept"], spec)


def repair(
    spec: SearchSpec, point: Mapping[str, str], kept: Mapping[str, list[dict[str, str]]]
) -> dict[str, str] | None:
    """The kept point standing for a proposal: itself when kept, else the kept point of its
    accuracy class nearest in the PPA-only axes (None when its class has no kept point)."""
    members = kept.get(class_key(spec, point))
    if not members:
        return None
    axes = {a.name: a for a in spec.axes}

    def position(name: str, tok: str) -> int:
        a = axes[name]
        if a.choices:
            return [token(name, v) for v in a.choices].index(tok)
        return int(tok)

    def distance(p: dict[str, str]) -> int:
        return sum(abs(position(n, p[n]) - position(n, point[n])) for n in ppa_only_axes(spec))

    best: dict[str, str] = min(members, key=distance)  # first of the nearest, in space order
    return dict(best)
