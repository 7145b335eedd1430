"""The table of NeuroSim outputs on the design of experiments (:mod:`cimsweep.ppa.doe`).

:func:`run_doe` runs the NeuroSim backend on DOE points and writes one CSV row per point (the
point, NeuroSim's totals and breakdowns as it prints them, the trace statistics; a failed point
is a row carrying NeuroSim's message); :func:`read_table` reads it back; :func:`write_meta`
records the facts the table comes from (NeuroSim commit, networks, traces) next to it.
"""

from __future__ import annotations

import csv
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

from cimsweep.io import atomic_path
from cimsweep.ppa.doe import (
    BASE,
    IN_SHAPES,
    METRICS,
    NETWORK_FACTS,
    NETWORKS,
    TRACE_FACTS,
    network,
)

LAYER_FRACTIONS = "trace_layer_one_bit_fractions"  # ";"-joined, one per crossbar layer


def hw_point(point: Mapping[str, Any]) -> dict[str, Any]:
    """The hardware parameters of a DOE point or table row (the keys of :data:`BASE`)."""
    return {k: point[k] for k in BASE}


def _row(point: Mapping[str, Any], result: Mapping[str, Any] | None, error: str) -> dict:
    row: dict[str, Any] = {k: point[k] for k in ("id", "network", "axis", "fold")}
    row.update(
        {k: (f"{v[0]}x{v[1]}" if isinstance(v, tuple) else v) for k, v in hw_point(point).items()}
    )
    row["status"] = "failed" if result is None else "ok"
    row["error"] = error
    t = result["total"] if result else {}
    for m in (*METRICS, "leakage_energy_J", "energy_J", "tops", "cycle_s"):
        row[m] = t.get(m, "")
    for part in ("array", "adc", "accumulation", "buffer", "interconnect", "other"):
        row[f"energy_{part}_J"] = t.get("energy_breakdown_J", {}).get(part, "")
        row[f"area_{part}_mm2"] = t.get("area_breakdown_mm2", {}).get(part, "")
    layers = result["layers"] if result else []
    row["trace_one_bit_fraction"] = (
        sum(r["trace"]["one_bit_fraction"] for r in layers) / len(layers) if layers else ""
    )
    # each layer's own fraction (the input activity the analytical side is given)
    row[LAYER_FRACTIONS] = ";".join(f"{r['trace']['one_bit_fraction']:.6g}" for r in layers)
    return row


def run_doe(
    neurosim_dir: str,
    out_csv: Path,
    points: Sequence[Mapping[str, Any]],
    keep: Sequence[Mapping[str, Any]] = (),
) -> None:
    """Run NeuroSim on every point and write the table (``keep``'s rows first, then one row per
    point; rewritten after every point)."""
    import torch

    from cimsweep.ppa import estimate
    from cimsweep.ppa.neurosim import NeuroSimBackend
    from cimsweep.ppa.neurosim.model import model_traces

    traces: dict[str, Any] = {}
    rows: list[dict] = [_as_row(r) for r in keep]
    for p in points:
        net = str(p.get("network", "cnn"))
        if net not in traces:
            torch.manual_seed(1)
            image = torch.rand(*IN_SHAPES[net])
            traces[net] = model_traces(network(net), image, 8, 8)
        try:
            backend = NeuroSimBackend(neurosim_dir, traces[net])
            result = estimate(network_geometry(net), hw_point(p), {}, backend=backend)
            rows.append(_row(p, result, ""))
        except Exception as exc:  # a failed point is a row carrying NeuroSim's message
            rows.append(_row(p, None, f"{type(exc).__name__}: {exc}"[:300]))
        write_table(out_csv, rows)
        print(f"point {p['id']}: {rows[-1]['status']} {rows[-1]['error']}", flush=True)


def _as_row(r: Mapping[str, Any]) -> dict[str, Any]:
    """A read-back row in the written layout (``network`` after ``id``, ``sub_array`` as RxC)."""
    row: dict[str, Any] = {"id": r["id"], "network": r.get("network") or "cnn"}
    for k, v in r.items():
        if k not in row:
            row[k] = f"{v[0]}x{v[1]}" if isinstance(v, tuple) else v
    return row


def write_table(path: Path, rows: Sequence[Mapping[str, Any]]) -> None:
    """Write rows as CSV atomically."""
    with atomic_path(path) as tmp, open(tmp, "w", newline="") as fh:
        w = csv.DictWriter(fh, fieldnames=list(rows[0]))
        w.writeheader()
        w.writerows(rows)


def read_table(path: Path) -> list[dict[str, Any]]:
    """Rows of a DOE table (numbers as float, ``sub_array`` as a tuple)."""
    out = []
    with open(path, newline="") as fh:
        for row in csv.DictReader(fh):
            r: dict[str, Any] = dict(row)
            for k, v in row.items():
                if k in ("network", "axis", "status", "error", "cell_type", "adc_type", "ppa_mode"):
                    continue
                if k == LAYER_FRACTIONS:
                    r[k] = [float(x) for x in v.split(";")] if v else []
                elif k == "sub_array":
                    a, b = v.split("x")
                    r[k] = (int(a), int(b))
                elif v != "":
                    f = float(v)
                    r[k] = int(f) if f.is_integer() and k in BASE or k in ("id", "fold") else f
            r.setdefault("network", "cnn")  # tables from before the network column
            out.append(r)
    return out


_GEO: dict[str, list[dict]] = {}


def network_geometry(net: str = "cnn") -> list[dict]:
    """Layer geometry of a DOE network (cached)."""
    if net not in _GEO:
        from cimsweep.nn.geometry import layer_geometry

        _GEO[net] = [g.to_dict() for g in layer_geometry(network(net), IN_SHAPES[net])]
    return _GEO[net]


def row_geometry(row: Mapping[str, Any]) -> list[dict]:
    """A table row's network geometry with each layer's ``input_activity`` from the row's
    traces (the inputs NeuroSim saw), where the row records them."""
    geo = network_geometry(str(row.get("network", "cnn")))
    fractions = row.get(LAYER_FRACTIONS) or []
    if not fractions:
        return geo
    if len(fractions) != len(geo):
        raise ValueError(
            f"DOE row {row.get('id')}: {LAYER_FRACTIONS} has {len(fractions)} values for "
            f"{len(geo)} layers"
        )
    return [{**g, "input_activity": a} for g, a in zip(geo, fractions, strict=True)]


def write_meta(path: Path, rows: Sequence[Mapping[str, Any]], version: str, commit: str) -> None:
    """The facts a DOE table comes from: NeuroSim version and commit, and per network its
    description, its traces and their statistics (mean one-bit fraction of the input traces)."""
    from cimsweep.io import write_json

    ok = [r for r in rows if r["status"] == "ok"]
    nets: dict[str, Any] = {}
    for net in NETWORKS:
        sub = [r for r in rows if r["network"] == net]
        sub_ok = [r for r in sub if r["status"] == "ok"]
        if sub:
            nets[net] = {
                "description": NETWORK_FACTS[net],
                "traces": TRACE_FACTS[net],
                "points": len(sub),
                "ok_points": len(sub_ok),
                "held_out_points": sum(1 for r in sub if r["fold"] == 0),
                "mean_input_one_bit_fraction": (
                    sum(r["trace_one_bit_fraction"] for r in sub_ok) / len(sub_ok)
                    if sub_ok
                    else None
                ),
            }
    write_json(
        path,
        {
            "neurosim_version": version,
            "neurosim_commit": commit,
            "points": len(rows),
            "ok_points": len(ok),
            "networks": nets,
            "weight_bits": 8,
            "input_bits": 8,
            "energy_convention": "energies as NeuroSim prints them (before its 1.22 post-layout "
            "factor); tops_per_w as it prints it (including the factor)",
        },
    )
