"""The tidy results table: one row per grid point x model.

Columns, in order: every parameter of :data:`cimsweep.workflow.params.PARAMS` (``sub_array`` as a
``"ROWSxCOLS"`` string, followed by integer ``sub_array_rows`` / ``sub_array_cols``), then the
metrics of :data:`METRIC_COLUMNS`, then any extra record keys in alphabetical order.
Accuracies are fractions in 0..1; energies in J per inference, latency in s, areas in mm^2.
"""

from __future__ import annotations

import math
import os
from collections.abc import Iterable, Mapping, Sequence
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from cimsweep.io import atomic_path, read_json
from cimsweep.workflow.params import PARAMS, canonical, token

COMPONENTS: tuple[str, ...] = ("array", "adc", "accumulation", "buffer", "interconnect", "other")
STATUSES: tuple[str, ...] = ("ok", "failed")

ENERGY_COMPONENT_COLUMNS: tuple[str, ...] = tuple(f"energy_{c}_J" for c in COMPONENTS)
AREA_COMPONENT_COLUMNS: tuple[str, ...] = tuple(f"area_{c}_mm2" for c in COMPONENTS)

NUMERIC_METRICS: tuple[str, ...] = (
    "float_accuracy",
    "quantized_accuracy",
    "accuracy_mean",
    "accuracy_std",
    "energy_J",
    "latency_s",
    "area_mm2",
    "tops",
    "tops_per_w",
    "fps",
    *ENERGY_COMPONENT_COLUMNS,
    *AREA_COMPONENT_COLUMNS,
)
METRIC_COLUMNS: tuple[str, ...] = ("status", "error", *NUMERIC_METRICS)


def param_columns() -> list[str]:
    """Parameter columns of the table, in order (``sub_array`` followed by rows and cols)."""
    cols: list[str] = []
    for name, p in PARAMS.items():
        cols.append(name)
        if p.kind == "shape":
            cols += [f"{name}_rows", f"{name}_cols"]
    return cols


def _shape_value(name: str, value: Any) -> tuple[int, int]:
    if isinstance(value, str):
        rows, _, cols = value.lower().partition("x")
        return (int(rows), int(cols or rows))
    return canonical(name, value)


def _row(record: Mapping[str, Any], fill_defaults: bool, index: int) -> dict[str, Any]:
    row: dict[str, Any] = {}
    for name, p in PARAMS.items():
        if name in record and record[name] is not None:
            value = record[name]
        elif fill_defaults:
            value = p.default
        else:
            raise ValueError(f"record {index}: parameter {name!r} missing")
        if p.kind == "shape":
            shape = _shape_value(name, value)
            row[name] = token(name, shape)
            row[f"{name}_rows"], row[f"{name}_cols"] = shape
        else:
            row[name] = canonical(name, value)
    error = record.get("error")
    error = "" if error is None or (isinstance(error, float) and math.isnan(error)) else error
    status = record.get("status") or ("failed" if error else "ok")
    if status not in STATUSES:
        raise ValueError(f"record {index}: status {status!r} not in {STATUSES}")
    row["status"], row["error"] = status, str(error)
    for col in NUMERIC_METRICS:
        value = record.get(col)
        row[col] = np.nan if value is None else float(value)
    for key, value in record.items():
        if key not in row and key not in PARAMS:
            row[key] = value
    return row


def _sort_columns() -> list[str]:
    return [c for c in param_columns() if PARAMS.get(c) is None or PARAMS[c].kind != "shape"]


def build_table(records: Iterable[Mapping[str, Any]], fill_defaults: bool = True) -> pd.DataFrame:
    """Tidy table from flat result records, with a stable column order and a deterministic sort.

    A parameter missing from a record takes its declared default (``fill_defaults``) or raises.
    ``status`` defaults to ``"failed"`` when ``error`` is non-empty, else ``"ok"``; missing
    metrics become NaN. Rows are sorted by the parameters in declaration order (subarrays by
    rows, then cols). Two records with identical parameters raise ``ValueError``.
    """
    rows = [_row(r, fill_defaults, i) for i, r in enumerate(records)]
    base = param_columns() + list(METRIC_COLUMNS)
    extras = sorted({k for r in rows for k in r} - set(base))
    df = pd.DataFrame(rows, columns=base + extras)
    for name, p in PARAMS.items():
        if p.kind == "int":
            df[name] = df[name].astype("int64")
        elif p.kind == "float":
            df[name] = df[name].astype("float64")
        elif p.kind == "shape":
            df[[f"{name}_rows", f"{name}_cols"]] = df[[f"{name}_rows", f"{name}_cols"]].astype(
                "int64"
            )
    for col in NUMERIC_METRICS:
        df[col] = df[col].astype("float64")
    dup = df.duplicated(subset=list(PARAMS), keep=False)
    if dup.any():
        first = df.loc[dup, list(PARAMS)].iloc[0].to_dict()
        raise ValueError(f"build_table: {int(dup.sum())} records share parameters, e.g. {first}")
    df = df.sort_values(_sort_columns(), kind="mergesort").reset_index(drop=True)
    return df


def write_table(
    df: pd.DataFrame, csv_path: str | os.PathLike[str], parquet_path: str | os.PathLike[str]
) -> None:
    """Write the table as CSV and Parquet; both appear (atomically) only if both writes succeed.

    Inside a workflow step the Parquet file's metadata (``df.attrs["provenance"]``) records the
    software that wrote it (:mod:`cimsweep.workflow.provenance`).
    """
    from cimsweep.workflow.provenance import active

    record = active()
    if record is not None:
        df = df.copy()
        df.attrs["provenance"] = record
    with atomic_path(csv_path) as tmp_csv, atomic_path(parquet_path) as tmp_pq:
        df.to_csv(tmp_csv, index=False)
        df.to_parquet(tmp_pq, index=False, engine="pyarrow")


RECOMPUTE = "snakemake --profile profiles/default --forcerun {path}"


class ResultFileError(ValueError):
    """A grid point's result file that cannot enter the table (unreadable, or another point's)."""


def _tokens(values: Mapping[str, Any]) -> dict[str, str]:
    return {
        k: token(k, tuple(v) if isinstance(v, list) else v)
        for k, v in values.items()
        if k in PARAMS
    }


def read_result(
    path: str, expected: Mapping[str, Any] | None = None, recompute: str | None = None
) -> dict[str, Any]:
    """Read a grid point's result JSON and check that its ``params`` are ``expected`` (the
    values its path and the config give): a copied, misplaced or stale file is refused, naming
    the file, the differing values and the command that recomputes it (``--forcerun`` of the
    file, or of ``recompute``: the marker of the chunk job that writes it)."""
    again = RECOMPUTE.format(path=recompute or path)
    try:
        data = read_json(path)
    except (ValueError, OSError) as exc:
        raise ResultFileError(
            f"{path} cannot be read ({exc}); it was cut short or damaged after its job wrote it "
            f"(full disk, interrupted copy). Recompute it with: {again}"
        ) from None
    if not isinstance(data, dict) or not isinstance(data.get("params"), dict):
        raise ResultFileError(
            f"{path} is not a cimsweep result (no 'params' mapping). Recompute it with: {again}"
        )
    if expected is not None:
        found, want = _tokens(data["params"]), _tokens(expected)
        wrong = [f"{k}={found[k]} (expected {v})" for k, v in want.items() if found.get(k, v) != v]
        if wrong:
            raise ResultFileError(
                f"{path} holds the result of another grid point or config: {', '.join(wrong)}; "
                "it was copied or moved there, or computed before the config changed. "
                f"Recompute it with: {again}"
            )
    return data


def read_table(path: str | os.PathLike[str]) -> pd.DataFrame:
    """Read a table written by :func:`write_table` (``.parquet`` or ``.csv``)."""
    path = Path(path)
    if path.suffix == ".parquet":
        return pd.read_parquet(path)
    df = pd.read_csv(path, dtype={"sub_array": str, "status": str, "error": str})
    df["error"] = df["error"].fillna("")
    return df


def ok_rows(df: pd.DataFrame) -> pd.DataFrame:
    """Rows whose status is ``"ok"`` (all rows if there is no status column)."""
    if "status" not in df.columns:
        return df
    return df[df["status"] == "ok"]


def pareto_front(
    df: pd.DataFrame,
    x: str = "energy_J",
    y: str = "accuracy_mean",
    by: str | Sequence[str] | None = None,
) -> pd.Series:
    """Boolean mask of the non-dominated rows: minimise ``x``, maximise ``y``.

    A row is dominated when another has ``x' <= x`` and ``y' >= y`` with one strict. Rows with
    identical (x, y) on the front are all kept. Failed rows and rows with NaN x or y are False.
    ``by`` computes a separate front per group (e.g. ``"model"``).
    """
    mask = pd.Series(False, index=df.index, name="pareto")
    valid = df[[x, y]].notna().all(axis=1)
    if "status" in df.columns:
        valid &= df["status"] == "ok"
    sub = df.loc[valid]
    if sub.empty:
        return mask
    groups = [sub] if by is None else [g for _, g in sub.groupby(by, sort=False, dropna=False)]
    for g in groups:
        xs = g[x].to_numpy(dtype=float)
        ys = g[y].to_numpy(dtype=float)
        order = np.lexsort((-ys, xs))  # x ascending, then y descending
        best = -np.inf  # best y among strictly smaller x
        i = 0
        while i < len(order):
            j = i
            while j < len(order) and xs[order[j]] == xs[order[i]]:
                j += 1
            block = order[i:j]
            top = ys[block[0]]  # max y within this x
            if top > best:
                on = block[ys[block] == top]
                mask.loc[g.index[on]] = True
                best = top
            i = j
    return mask


def swept_axes(df: pd.DataFrame) -> list[str]:
    """Parameters with more than one distinct value, in declaration order."""
    return [n for n in PARAMS if n in df.columns and df[n].nunique(dropna=True) > 1]
