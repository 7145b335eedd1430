"""Fit the analytical estimate to a NeuroSim build: ``python -m cimsweep.ppa.fit --neurosim DIR``.

Runs the NeuroSim backend on a design of experiments (:mod:`cimsweep.ppa.doe`: one-axis sweeps
around a base point plus seeded random combinations over a small CIFAR-like CNN, and a one-axis
subset over VGG8; ``--network``), writes the table of NeuroSim outputs with the trace statistics
(``--append`` adds a network's rows to an existing table), fits per-metric calibration factors
of the analytical estimate (geometric-mean ratio NeuroSim / analytical on the training folds;
a seeded fifth of each network's points is held out) into a YAML calibration file, and prints
the held-out ratio table (geometric mean and worst case per metric, all points and per network)
and the trend table per network and axis. NeuroSim's energies are compared post-layout (its
printed values x 1.22, the factor its TOPS/W includes). The analytical side is given what
NeuroSim's C++ sees: its column layout (:data:`NEUROSIM_LAYOUT`), each layer's input activity
from the row's traces (:func:`cimsweep.ppa.doetable.row_geometry`) and the calibration's
technology settings (:data:`NEUROSIM_TECH`).
"""

from __future__ import annotations

import argparse
import json
import math
from collections.abc import Iterable, Mapping, Sequence
from pathlib import Path
from typing import Any

from cimsweep.io import atomic_path
from cimsweep.ppa.calibration import apply_calibration, cell_family
from cimsweep.ppa.doe import (
    AXES,
    BASE,
    HELD_OUT_EVERY,
    IN_SHAPE,
    METRICS,
    NETWORKS,
    SRAM_NODES,
    VGG8_AXES,
    doe,
    doe_network,
    network,
)
from cimsweep.ppa.doetable import (
    hw_point,
    read_table,
    row_geometry,
    run_doe,
    write_meta,
    write_table,
)

__all__ = [
    "AXES",
    "BASE",
    "HELD_OUT_EVERY",
    "IN_SHAPE",
    "METRICS",
    "NETWORKS",
    "SRAM_NODES",
    "VGG8_AXES",
    "doe",
    "doe_network",
    "hw_point",
    "network",
    "read_table",
    "run_doe",
    "write_meta",
    "write_table",
]

FITTED = METRICS[:4]  # TOPS/W follows from energy and latency
# NeuroSim prints energies before its post-layout factor and divides TOPS/W by it: its
# energies are compared post-layout (x 1.22), like its TOPS/W and like the analytical model's
NEUROSIM_ZETA = 1.22
# weight duplication in pipeline mode as NeuroSim V1.4 does it (Param.cpp:108 speedUpDegree)
NEUROSIM_SPEEDUP_DEGREE = 8
# technology settings the fit runs with and the calibration file carries: NeuroSim V1.4's
# weight duplication, its pipeline leakage accounting (main.cpp) and its network-sized tiles
# (Chip.cpp ChipFloorPlan; cimsweep.ppa.floorplan)
NEUROSIM_TECH = {
    "arch": {
        "pipeline_speedup_degree": NEUROSIM_SPEEDUP_DEGREE,
        "pipeline_leakage": "idle",
        "tile_sizing": "network",
    }
}
# NeuroSim V1.4's C++ column layout: ceil(weight bits / bitcell) columns per weight of shifted
# codes, no reference column in the array (main.cpp numColPerSynapse)
NEUROSIM_LAYOUT = {"signed_mapping": "offset", "offset_reference": "digital"}
POST_LAYOUT = {"dynamic_energy_J": NEUROSIM_ZETA, "leakage_power_W": NEUROSIM_ZETA}
SHARES = ("adc", "array", "accumulation")
# NeuroSim books the array's read energy inside its "ADC (or S/As)" energy
ENERGY_SHARES = {"adc_array": ("adc", "array"), "accumulation": ("accumulation",)}
# a move of less than 0.1 % on both sides counts as flat: the same trend (NeuroSim's pipelined
# dynamic energy differs from its layer-by-layer one by 1e-5)
FLAT = 1e-3


def analytical(row: Mapping[str, Any], tech_dir: Path) -> dict[str, Any] | None:
    """The analytical estimate of a DOE point (None where no technology file exists)."""
    from cimsweep.ppa import estimate, load_tech

    path = tech_dir / f"{int(row['tech_node'])}nm.yaml"
    if not path.is_file():
        return None
    geo = row_geometry(row)
    tech = load_tech(path)
    tech["arch"].update(NEUROSIM_TECH["arch"])
    try:
        return estimate(geo, {**hw_point(row), **NEUROSIM_LAYOUT}, tech)
    except ValueError:
        return None


def _metric(total: Mapping[str, Any], m: str) -> float:
    return float(total[m])


def ratios(
    rows: Iterable[Mapping[str, Any]], tech_dir: Path, calib: Mapping[str, Any] | None = None
) -> list[dict]:
    """Per ok point with a technology file: cimsweep / NeuroSim for every metric and the
    share differences (percentage points)."""
    out = []
    for r in rows:
        if r["status"] != "ok":
            continue
        a = analytical(r, tech_dir)
        if a is None:
            continue
        raw = a["total"]  # shares: a uniform calibration does not move them
        t = (apply_calibration(a, calib) if calib else a)["total"]
        rec: dict[str, Any] = {
            "id": r["id"],
            "network": r.get("network", "cnn"),
            "fold": r["fold"],
            "axis": r["axis"],
        }
        for m in METRICS:
            rec[m] = _metric(t, m) / (float(r[m]) * POST_LAYOUT.get(m, 1.0))
        for name, parts in ENERGY_SHARES.items():
            e_ours = sum(raw["energy_breakdown_J"][p] for p in parts) / raw["dynamic_energy_J"]
            e_ns = sum(float(r[f"energy_{p}_J"]) for p in parts) / float(r["dynamic_energy_J"])
            rec[f"energy_share_{name}_pp"] = 100 * (e_ours - e_ns)
        for part in SHARES:
            a_ours = raw["area_breakdown_mm2"][part] / raw["area_mm2"]
            a_ns = float(r[f"area_{part}_mm2"]) / float(r["area_mm2"])
            rec[f"area_share_{part}_pp"] = 100 * (a_ours - a_ns)
        out.append(rec)
    return out


def fit(rows: Sequence[Mapping[str, Any]], tech_dir: Path) -> dict[str, Any]:
    """Calibration factors per fitted metric: the geometric mean of NeuroSim / analytical on
    the training folds (1-4), and under ``cells`` one more factor per cell family (``1T1R``,
    ``SRAM``: the geometric mean of what is left on that family's training points). NeuroSim's
    1T1R chip area is 2/3 floorplan it does not itemize, its SRAM area almost none: one factor
    for both leaves a 5x gap between the families."""
    train = [r for r in rows if r["fold"] != 0]
    rs = [r for r in ratios(train, tech_dir) if r["fold"] != 0]
    if not rs:
        raise ValueError("no ok training point with a technology file to fit")
    factors: dict[str, Any] = {
        m: math.exp(-sum(math.log(r[m]) for r in rs) / len(rs)) for m in FITTED
    }
    family = {r["id"]: cell_family(str(r["cell_type"])) for r in train}
    cells: dict[str, dict[str, float]] = {}
    for fam in sorted(set(family.values())):
        sub = [r for r in rs if family[r["id"]] == fam]
        if sub:
            cells[fam] = {
                m: math.exp(-sum(math.log(r[m] * factors[m]) for r in sub) / len(sub))
                for m in FITTED
            }
    factors["cells"] = cells
    return factors


def summary(rs: Sequence[Mapping[str, Any]]) -> dict[str, dict[str, float]]:
    """Geometric mean and worst (farthest from 1) ratio per metric; mean/max |pp| per share."""
    out: dict[str, dict[str, float]] = {}
    for m in METRICS:
        logs = [math.log(r[m]) for r in rs]
        worst = max(logs, key=abs)
        out[m] = {"geomean": math.exp(sum(logs) / len(logs)), "worst": math.exp(worst)}
    for key in rs[0]:
        if key.endswith("_pp"):
            vals = [abs(r[key]) for r in rs]
            out[key] = {"mean_abs": sum(vals) / len(vals), "max_abs": max(vals)}
    return out


def trend_key(net: str, axis: str) -> str:
    """Key of a one-axis sweep in :func:`trends`: the axis for ``cnn``, ``net/axis`` else."""
    return axis if net == "cnn" else f"{net}/{axis}"


def trends(rows: Sequence[Mapping[str, Any]], tech_dir: Path) -> dict[str, dict[str, bool]]:
    """Per network, one-axis sweep and metric (keys :func:`trend_key`): does the analytical
    estimate move the way NeuroSim does from that network's base point to every swept value
    (both within :data:`FLAT` counts as the same)?"""
    out: dict[str, dict[str, bool]] = {}
    for net in NETWORKS:
        base = next(
            (
                r
                for r in rows
                if r["network"] == net and r["axis"] == "base" and r["status"] == "ok"
            ),
            None,
        )
        a_base = analytical(base, tech_dir) if base else None
        if base is None or a_base is None:
            continue
        for axis in AXES:
            pts = [
                r for r in rows if r["network"] == net and r["axis"] == axis and r["status"] == "ok"
            ]
            res: dict[str, bool] = {}
            for m in METRICS:
                same = []
                for r in pts:
                    a = analytical(r, tech_dir)
                    if a is None:
                        continue
                    d_ns = float(r[m]) / float(base[m]) - 1.0
                    d_ours = _metric(a["total"], m) / _metric(a_base["total"], m) - 1.0
                    flat = abs(d_ns) < FLAT and abs(d_ours) < FLAT
                    same.append(d_ns * d_ours > 0 or flat)
                if same:
                    res[m] = all(same)
            if res:
                out[trend_key(net, axis)] = res
    return out


def report(
    rows: Sequence[Mapping[str, Any]], tech_dir: Path, calib: Mapping[str, Any] | None
) -> dict[str, Any]:
    """Held-out and training summaries (all points, and per network under ``by_network``) of
    cimsweep / NeuroSim with ``calib`` applied, and the trend table."""
    rs = ratios(rows, tech_dir, calib)
    out: dict[str, Any] = {"by_network": {}}
    for net in (None, *NETWORKS):
        sub = [r for r in rs if net is None or r["network"] == net]
        held = [r for r in sub if r["fold"] == 0]
        train = [r for r in sub if r["fold"] != 0]
        res = {
            "held_out": summary(held) if held else {},
            "train": summary(train) if train else {},
            "held_out_points": len(held),
            "train_points": len(train),
        }
        if net is None:
            out.update(res)
        elif sub:
            out["by_network"][net] = res
    out["trends"] = trends(rows, tech_dir)
    return out


def print_ratio_table(res: Mapping[str, Any], label: str) -> None:
    """Print one held-out / training ratio table of :func:`report`."""
    print(f"--- {label} ({res['held_out_points']} held-out, {res['train_points']} train)")
    print(f"{'metric':<20}{'held geomean':>14}{'held worst':>12}{'train geomean':>15}")
    for m in METRICS:
        h, t = res["held_out"].get(m), res["train"].get(m)
        held = f"{h['geomean']:>14.3f}{h['worst']:>12.3f}" if h else f"{'-':>14}{'-':>12}"
        print(f"{m:<20}{held}{t['geomean'] if t else float('nan'):>15.3f}")


def _print_report(
    rows: Sequence[Mapping[str, Any]], tech_dir: Path, calib: Mapping[str, Any]
) -> dict:
    rep = report(rows, tech_dir, calib)
    print_ratio_table(rep, "cimsweep / NeuroSim, all networks")
    for net, res in rep["by_network"].items():
        print_ratio_table(res, f"cimsweep / NeuroSim, {net}")
    for key, v in rep["held_out"].items():
        if key.endswith("_pp"):
            print(f"{key:<32} mean |pp| {v['mean_abs']:6.1f}  max |pp| {v['max_abs']:6.1f}")
    print("trend (same direction as NeuroSim) per axis:")
    for axis, res in rep["trends"].items():
        print(f"  {axis:<20}" + " ".join(f"{m}={'yes' if ok else 'NO'}" for m, ok in res.items()))
    return rep


def main(argv: Sequence[str] | None = None) -> None:
    """Command line: run the DOE (``--neurosim``), fit, and print the ratio table."""
    ap = argparse.ArgumentParser(prog="python -m cimsweep.ppa.fit", description=__doc__)
    ap.add_argument(
        "--neurosim",
        help="NeuroSim source tree to run the DOE on (omit it to refit from an existing --table)",
    )
    ap.add_argument("--table", default="neurosim_ppa.csv", help="DOE table (written or read)")
    ap.add_argument("--out", default="ppa_calibration.yaml", help="calibration file to write")
    ap.add_argument("--tech-dir", default="config/tech")
    ap.add_argument("--version", default="1.4", help="NeuroSim version the fit is for")
    ap.add_argument("--random", type=int, default=12, help="random DOE points")
    ap.add_argument("--commit", default="", help="NeuroSim commit, recorded with the table")
    ap.add_argument(
        "--network",
        action="append",
        choices=NETWORKS,
        help="network(s) to run the DOE on (repeatable; default: cnn)",
    )
    ap.add_argument(
        "--append",
        action="store_true",
        help="keep --table's rows of the other networks and add the new points' rows",
    )
    args = ap.parse_args(argv)
    table = Path(args.table)
    if args.neurosim:
        nets = tuple(args.network or ["cnn"])
        keep = [r for r in read_table(table) if r["network"] not in nets] if args.append else []
        run_doe(args.neurosim, table, doe(args.random, networks=nets), keep)
    rows = read_table(table)
    if args.neurosim or args.commit:
        write_meta(table.with_suffix(".json"), rows, args.version, args.commit)
    calib = fit(rows, Path(args.tech_dir))
    rep = _print_report(rows, Path(args.tech_dir), calib)
    import yaml

    with atomic_path(args.out) as tmp:
        Path(tmp).write_text(
            yaml.safe_dump(
                {
                    "neurosim_version": args.version,
                    "table": str(table),
                    "factors": calib,
                    # the technology settings the fit ran with (applied with the factors)
                    "tech": NEUROSIM_TECH,
                    # the column layout the analytical side was fitted with (a record: sweeps
                    # keep their own signed_mapping)
                    "fitted_layout": NEUROSIM_LAYOUT,
                    "held_out": rep["held_out"],
                    "held_out_by_network": {
                        net: res["held_out"] for net, res in rep["by_network"].items()
                    },
                },
                sort_keys=False,
            )
        )
    print(json.dumps(calib, indent=1))


if __name__ == "__main__":
    main()
