"""Pareto front and hypervolume over any number of min/max objectives.

Objectives are turned into minimisation and scaled to [0, 1] by fixed bounds (``bounds``:
column -> (best, worst) as raw values, e.g. from the full grid), so hypervolumes of
different searches are comparable. A column whose bounds are positive and span more than a
decade (energy, latency, area) is scaled on log10. The reference point is 1.1 in every
scaled objective.
"""

from __future__ import annotations

import math
from collections.abc import Mapping

import numpy as np
import pandas as pd

REFERENCE = 1.1


def feasible(df: pd.DataFrame, constraints: tuple = ()) -> pd.Series:
    """Rows that are ``ok`` and satisfy every constraint (``Constraint`` objects)."""
    mask = pd.Series(True, index=df.index)
    if "status" in df.columns:
        mask &= df["status"] == "ok"
    for c in constraints:
        col = pd.to_numeric(df[c.column], errors="coerce")
        mask &= col.apply(lambda x, c=c: c.violation(float(x)) <= 0)
    return mask


def minimised(df: pd.DataFrame, objectives: Mapping[str, str]) -> np.ndarray:
    """Objective matrix (rows x objectives), every column to be minimised."""
    cols = [
        df[c].to_numpy(dtype=float) * (-1.0 if d == "max" else 1.0) for c, d in objectives.items()
    ]
    return np.column_stack(cols) if cols else np.empty((len(df), 0))


def non_dominated(points: np.ndarray) -> np.ndarray:
    """Boolean mask of the rows no other row dominates (all objectives minimised; rows with
    a NaN are never on the front; duplicates of a front point are all kept)."""
    n = len(points)
    ok = ~np.isnan(points).any(axis=1) if n else np.zeros(0, bool)
    mask = ok.copy()
    idx = np.flatnonzero(ok)
    sub = points[idx]
    for k, i in enumerate(idx):
        better_eq = (sub <= sub[k]).all(axis=1)
        strictly = (sub < sub[k]).any(axis=1)
        if (better_eq & strictly).any():
            mask[i] = False
    return mask


def pareto_mask(
    df: pd.DataFrame, objectives: Mapping[str, str], constraints: tuple = ()
) -> pd.Series:
    """Feasible, non-dominated rows of a table."""
    ok = feasible(df, constraints)
    out = pd.Series(False, index=df.index, name="pareto")
    sub = df[ok]
    if len(sub):
        out.loc[sub.index] = non_dominated(minimised(sub, objectives))
    return out


def bounds_of(df: pd.DataFrame, objectives: Mapping[str, str]) -> dict[str, tuple[float, float]]:
    """(best, worst) raw value of each objective over a table's ``ok`` rows."""
    ok = df[df["status"] == "ok"] if "status" in df.columns else df
    out = {}
    for c, d in objectives.items():
        col = pd.to_numeric(ok[c], errors="coerce").dropna()
        lo, hi = float(col.min()), float(col.max())
        out[c] = (hi, lo) if d == "max" else (lo, hi)
    return out


def scaled(
    df: pd.DataFrame, objectives: Mapping[str, str], bounds: Mapping[str, tuple[float, float]]
) -> np.ndarray:
    """Objectives scaled to 0 (best bound) .. 1 (worst bound), every column minimised."""
    cols = []
    for c in objectives:
        x = pd.to_numeric(df[c], errors="coerce").to_numpy(dtype=float)
        cols.append(scale_between(x, *bounds[c]))
    return np.column_stack(cols)


def scale_between(x: np.ndarray, best: float, worst: float) -> np.ndarray:
    """``x`` mapped to 0 (``best``) .. 1 (``worst``); on log10 where both bounds are positive
    and a decade or more apart (energy, latency, area); zeros where the bounds coincide."""
    if min(best, worst) > 0 and max(best, worst) / min(best, worst) > 10:
        x, best, worst = np.log10(x), math.log10(best), math.log10(worst)
    span = worst - best
    return (x - best) / span if span else np.zeros_like(x)


def hypervolume(points: np.ndarray, reference: float = REFERENCE) -> float:
    """Volume dominated by ``points`` (minimised, scaled) up to ``reference`` in each axis."""
    pts = points[~np.isnan(points).any(axis=1)] if len(points) else points
    pts = pts[(pts < reference).all(axis=1)] if len(pts) else pts
    if len(pts) == 0:
        return 0.0
    pts = pts[non_dominated(pts)]
    if pts.shape[1] == 2:  # sweep in the first objective
        order = np.argsort(pts[:, 0], kind="stable")
        xs, ys = pts[order, 0], pts[order, 1]
        edges = np.append(xs[1:], reference)
        best = np.minimum.accumulate(ys)
        return float(np.sum((edges - xs) * (reference - best)))
    if pts.shape[1] == 1:
        return float(reference - pts[:, 0].min())
    from optuna._hypervolume import compute_hypervolume  # WFG, any dimension

    return float(compute_hypervolume(pts, np.full(pts.shape[1], reference)))


def table_hypervolume(
    df: pd.DataFrame,
    objectives: Mapping[str, str],
    bounds: Mapping[str, tuple[float, float]],
    constraints: tuple = (),
) -> float:
    """Hypervolume of a table's feasible rows."""
    sub = df[feasible(df, constraints)]
    return hypervolume(scaled(sub, objectives, bounds)) if len(sub) else 0.0
