"""Steps after the grid: the tidy table from every point's results, the figures drawn from it,
and the effective config written beside them."""

from __future__ import annotations

import logging
from collections.abc import Mapping, Sequence
from typing import Any

from cimsweep.io import read_json, write_with
from cimsweep.workflow.params import PARAMS, Value, parse_token, token

log = logging.getLogger("cimsweep")


def _jsonable(values: Mapping[str, Value]) -> dict[str, Any]:
    """Values with tuples (shapes) as lists, for JSON and YAML."""
    return {k: list(v) if isinstance(v, tuple) else v for k, v in values.items()}


COMPONENTS = ("array", "adc", "accumulation", "buffer", "interconnect", "other")


METRICS = ("float_accuracy", "quantized_accuracy", "accuracy_mean", "accuracy_std")
PPA_TOTALS = ("energy_J", "latency_s", "area_mm2", "tops", "tops_per_w", "fps")


def point_record(
    infer_json: str,
    ppa_json: str,
    point: Mapping[str, str] | None = None,
    expected: tuple[Mapping[str, Value], Mapping[str, Value]] | None = None,
    owners: tuple[str | None, str | None] = (None, None),
) -> dict[str, Any]:
    """One flat row of the tidy table from a grid point's inference and PPA results.

    A point whose inference or PPA step failed gets ``status = "failed"``, the error message
    and NaN metrics. ``expected``: the (inference, PPA) values of the point; a file whose
    params differ is refused (:func:`cimsweep.results.read_result`). ``owners``: the chunk
    markers whose jobs write the two files (None: a job of their own).
    """
    from cimsweep.results import read_result

    acc = read_result(infer_json, expected[0] if expected else None, owners[0])
    hw = read_result(ppa_json, expected[1] if expected else None, owners[1])
    # the grid point's own values name the row, also where its steps did not read them (a
    # float model's row on a train_noise axis)
    grid = {k: parse_token(k, v) for k, v in (point or {}).items()}
    params = {**hw["params"], **acc["params"], **grid}
    row: dict[str, Any] = {
        k: token(k, tuple(v)) if isinstance(v, list) else v for k, v in params.items()
    }
    errors = [
        f"{stage}: {r['error']}"
        for stage, r in (("infer", acc), ("ppa", hw))
        if r.get("status") == "failed"
    ]
    row["status"] = "failed" if errors else "ok"
    row["error"] = "; ".join(errors)
    nan = float("nan")
    for key in METRICS:
        row[key] = acc.get(key, nan)
    total = hw.get("total", {})
    for key in PPA_TOTALS:
        row[key] = total.get(key, nan)
    for comp in COMPONENTS:
        row[f"energy_{comp}_J"] = total.get("energy_breakdown_J", {}).get(comp, nan)
        row[f"area_{comp}_mm2"] = total.get("area_breakdown_mm2", {}).get(comp, nan)
    return row


def aggregate(
    pairs: Sequence[tuple[str, str]],
    out_csv: str,
    out_parquet: str,
    points: Sequence[Mapping[str, str]] | None = None,
    expected: Sequence[tuple[Mapping[str, Value], Mapping[str, Value]]] | None = None,
    owners: Sequence[tuple[str | None, str | None]] | None = None,
) -> None:
    """Gather every grid point into one tidy table (CSV and Parquet).

    ``points``: each pair's grid values as path tokens (``Sweep.points()``, same order);
    ``expected``: each pair's (inference, PPA) values (``Sweep.point_values``), checked;
    ``owners``: each pair's chunk markers (:func:`cimsweep.workflow.chunks.owners`).
    """
    from cimsweep.results import build_table, write_table

    points = points if points is not None else [{}] * len(pairs)
    checks = expected if expected is not None else [None] * len(pairs)
    chunks = owners if owners is not None else [(None, None)] * len(pairs)
    records = [
        point_record(i, p, pt, ex, ow)
        for (i, p), pt, ex, ow in zip(pairs, points, checks, chunks, strict=True)
    ]
    table = build_table(records)
    write_table(table, out_csv, out_parquet)
    log.info("%d rows written to %s", len(table), out_csv)


def plot_table_figure(
    name: str, table_parquet: str, out_pdf: str, out_png: str, options: Mapping[str, Any]
) -> None:
    """Draw one of the table figures of :mod:`cimsweep.plots` by name; write PDF and PNG."""
    import matplotlib.pyplot as plt

    from cimsweep import plots
    from cimsweep.results import read_table

    fig = getattr(plots, name)(read_table(table_parquet), **dict(options))
    plots.save_figure(fig, out_pdf, out_png)
    plt.close(fig)


def plot_layer_diagnostics(infer_json: str, out_pdf: str, out_png: str) -> None:
    """Per-layer ADC clipping and SNR of one grid point's inference result."""
    import matplotlib.pyplot as plt

    from cimsweep import plots

    result = read_json(infer_json)
    if result.get("status") == "failed":
        raise ValueError(f"layer_diagnostics: {infer_json} holds a failed grid point")
    point = ", ".join(f"{k}={v}" for k, v in sorted(result["params"].items()) if k in POINT_KEYS)
    fig = plots.layer_diagnostics(result["layers"], title=point)
    plots.save_figure(fig, out_pdf, out_png)
    plt.close(fig)


POINT_KEYS = ("model", "adc_precision", "sub_array", "read_noise", "t", "bitcell")


def write_sweep_config(raw: Mapping[str, Any], out_yaml: str) -> None:
    """Write the config that produced the results, with every default filled in."""
    import yaml

    from cimsweep.workflow.config import load

    sweep = load(raw)
    effective = {
        "params": _jsonable(sweep.values),
        "grid": {
            k: [list(v) if isinstance(v, tuple) else v for v in vs] for k, vs in sweep.grid.items()
        },
        "figures": dict(raw.get("figures") or {}),
        "units": {k: p.unit for k, p in PARAMS.items() if p.unit},
    }
    text = yaml.safe_dump(effective, sort_keys=False)
    write_with(out_yaml, lambda tmp: tmp.write_text(text))
