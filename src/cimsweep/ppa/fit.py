"""Fit the analytical estimate to a NeuroSim build: ``python -m cimsweep.ppa.fit --neurosim DIR``.

Runs the NeuroSim backend on a design of experiments (one-axis sweeps around a base point plus
seeded random combinations) over a small CIFAR-like CNN (:func:`doe_network`), writes the table
of NeuroSim outputs (with the trace statistics), and fits per-metric calibration factors of the
analytical estimate (geometric-mean ratio NeuroSim / analytical on the training folds; every
fifth point, seeded, is held out) into a YAML calibration file, and prints the held-out ratio
table (geometric mean and worst case per metric) and the trend table per axis. NeuroSim's
energies are compared post-layout (its printed values x 1.22, the factor its TOPS/W includes).
"""

from __future__ import annotations

import argparse
import csv
import json
import math
import random
from collections.abc import Iterable, Mapping, Sequence
from pathlib import Path
from typing import Any

from cimsweep.io import atomic_path
from cimsweep.ppa.calibration import apply_calibration, cell_family

BASE: dict[str, Any] = {
    "tech_node": 22,
    "cell_type": "1T1R",
    "adc_precision": 5,
    "adc_type": "sar",
    "sub_array": (128, 128),
    "bitcell": 1,
    "parallel_read": 0,
    "ppa_mode": "layer",
}
AXES: dict[str, list[Any]] = {
    "adc_precision": [3, 4, 6, 8],
    "adc_type": ["flash"],
    "sub_array": [(64, 64), (256, 256)],
    "bitcell": [2, 4],
    "parallel_read": [16, 32, 64],
    "tech_node": [130, 65, 45, 32],
    "ppa_mode": ["pipeline"],
}
# SRAM: NeuroSim V1.4 refuses RRAM below 22 nm, so the advanced nodes are SRAM points
SRAM_NODES = [22, 14, 7, 5, 3, 2, 1]
METRICS = ("area_mm2", "dynamic_energy_J", "leakage_power_W", "latency_s", "tops_per_w")
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
POST_LAYOUT = {"dynamic_energy_J": NEUROSIM_ZETA, "leakage_power_W": NEUROSIM_ZETA}
SHARES = ("adc", "array", "accumulation")
# NeuroSim books the array's read energy inside its "ADC (or S/As)" energy
ENERGY_SHARES = {"adc_array": ("adc", "array"), "accumulation": ("accumulation",)}
HELD_OUT_EVERY = 5
# a move of less than 0.1 % on both sides counts as flat: the same trend (NeuroSim's pipelined
# dynamic energy differs from its layer-by-layer one by 1e-5)
FLAT = 1e-3


def doe(n_random: int = 12, seed: int = 0) -> list[dict[str, Any]]:
    """The design: base, one-axis variations, SRAM nodes and ``n_random`` seeded mixes; each
    point has ``id``, ``axis`` (the varied one, ``base``, ``random``) and ``fold`` (0-4)."""
    points: list[dict[str, Any]] = [{**BASE, "axis": "base"}]
    for name, values in AXES.items():
        points += [{**BASE, name: v, "axis": name} for v in values]
    points += [
        {**BASE, "cell_type": "SRAM6T", "tech_node": n, "axis": "sram_node"} for n in SRAM_NODES
    ]
    rng = random.Random(seed)
    for _ in range(n_random):
        p = {**BASE, "axis": "random"}
        p["cell_type"] = rng.choice(["1T1R", "SRAM6T"])
        p["tech_node"] = rng.choice(
            [130, 65, 45, 22] + ([14, 7] if p["cell_type"] != "1T1R" else [])
        )
        p["adc_precision"] = rng.choice([3, 4, 5, 6, 7, 8])
        p["adc_type"] = rng.choice(["sar", "flash"])
        p["sub_array"] = rng.choice([(64, 64), (128, 128), (256, 256)])
        p["bitcell"] = 1 if p["cell_type"] != "1T1R" else rng.choice([1, 2, 4])
        p["parallel_read"] = rng.choice([0, 16, 32, 64, 128])
        p["ppa_mode"] = rng.choice(["layer", "pipeline"])
        points.append(p)
    order = list(range(len(points)))
    random.Random(seed + 1).shuffle(order)
    for rank, i in enumerate(order):
        points[i]["fold"] = rank % HELD_OUT_EVERY
    for i, p in enumerate(points):
        p["id"] = i
    return points


def doe_network() -> Any:
    """The DOE's network (torch): conv 3-64-64 (pool) -128 (pool) and FC 2048-128-10 on
    3x16x16 inputs, seeded weights; small enough for one NeuroSim run in ~15 s on one core."""
    import torch
    from torch import nn

    torch.manual_seed(0)
    return nn.Sequential(
        nn.Conv2d(3, 64, 3, padding=1),
        nn.ReLU(),
        nn.Conv2d(64, 64, 3, padding=1),
        nn.ReLU(),
        nn.MaxPool2d(2),
        nn.Conv2d(64, 128, 3, padding=1),
        nn.ReLU(),
        nn.MaxPool2d(2),
        nn.Flatten(),
        nn.Linear(128 * 4 * 4, 128),
        nn.ReLU(),
        nn.Linear(128, 10),
    ).eval()


IN_SHAPE = (3, 16, 16)


def _hw(point: Mapping[str, Any]) -> dict[str, Any]:
    return {k: point[k] for k in BASE}


def _row(point: Mapping[str, Any], result: Mapping[str, Any] | None, error: str) -> dict:
    row: dict[str, Any] = {k: point[k] for k in ("id", "axis", "fold")}
    row.update(
        {k: (f"{v[0]}x{v[1]}" if isinstance(v, tuple) else v) for k, v in _hw(point).items()}
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
    return row


def run_doe(neurosim_dir: str, out_csv: Path, points: Sequence[Mapping[str, Any]]) -> None:
    """Run NeuroSim on every point and write the table (rewritten after every point)."""
    import torch

    from cimsweep.nn.geometry import layer_geometry
    from cimsweep.ppa import estimate
    from cimsweep.ppa.neurosim import NeuroSimBackend
    from cimsweep.ppa.neurosim.model import model_traces

    model = doe_network()
    geo = [g.to_dict() for g in layer_geometry(model, IN_SHAPE)]
    torch.manual_seed(1)
    image = torch.rand(*IN_SHAPE)
    traces = model_traces(model, image, 8, 8)
    rows: list[dict] = []
    for p in points:
        try:
            result = estimate(geo, _hw(p), {}, backend=NeuroSimBackend(neurosim_dir, traces))
            rows.append(_row(p, result, ""))
        except Exception as exc:  # a failed point is a row carrying NeuroSim's message
            rows.append(_row(p, None, f"{type(exc).__name__}: {exc}"[:300]))
        write_table(out_csv, rows)
        print(f"point {p['id']}: {rows[-1]['status']} {rows[-1]['error']}", flush=True)


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
                if k in ("axis", "status", "error", "cell_type", "adc_type", "ppa_mode"):
                    continue
                if k == "sub_array":
                    a, b = v.split("x")
                    r[k] = (int(a), int(b))
                elif v != "":
                    f = float(v)
                    r[k] = int(f) if f.is_integer() and k in BASE or k in ("id", "fold") else f
            out.append(r)
    return out


def analytical(row: Mapping[str, Any], tech_dir: Path) -> dict[str, Any] | None:
    """The analytical estimate of a DOE point (None where no technology file exists)."""
    from cimsweep.ppa import estimate, load_tech

    path = tech_dir / f"{int(row['tech_node'])}nm.yaml"
    if not path.is_file():
        return None
    geo = _geometry()
    tech = load_tech(path)
    tech["arch"].update(NEUROSIM_TECH["arch"])
    try:
        return estimate(geo, _hw(row), tech)
    except ValueError:
        return None


_GEO: list[dict] = []


def _geometry() -> list[dict]:
    if not _GEO:
        from cimsweep.nn.geometry import layer_geometry

        _GEO.extend(g.to_dict() for g in layer_geometry(doe_network(), IN_SHAPE))
    return _GEO


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
        rec: dict[str, Any] = {"id": r["id"], "fold": r["fold"], "axis": r["axis"]}
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


def trends(rows: Sequence[Mapping[str, Any]], tech_dir: Path) -> dict[str, dict[str, bool]]:
    """Per one-axis sweep and metric: does the analytical estimate move the way NeuroSim does
    from the base point to every swept value (both within :data:`FLAT` counts as the same)?"""
    base = next(r for r in rows if r["axis"] == "base" and r["status"] == "ok")
    a_base = analytical(base, tech_dir)
    out: dict[str, dict[str, bool]] = {}
    for axis in AXES:
        pts = [r for r in rows if r["axis"] == axis and r["status"] == "ok"]
        res: dict[str, bool] = {}
        for m in METRICS:
            same = []
            for r in pts:
                a = analytical(r, tech_dir)
                if a is None or a_base is None:
                    continue
                d_ns = float(r[m]) / float(base[m]) - 1.0
                d_ours = _metric(a["total"], m) / _metric(a_base["total"], m) - 1.0
                flat = abs(d_ns) < FLAT and abs(d_ours) < FLAT
                same.append(d_ns * d_ours > 0 or flat)
            if same:
                res[m] = all(same)
        out[axis] = res
    return out


def _print_report(
    rows: Sequence[Mapping[str, Any]], tech_dir: Path, calib: Mapping[str, Any]
) -> dict:
    held = [r for r in ratios(rows, tech_dir, calib) if r["fold"] == 0]
    train = [r for r in ratios(rows, tech_dir, calib) if r["fold"] != 0]
    report: dict[str, Any] = {
        "held_out": summary(held),
        "train": summary(train),
        "trends": trends(rows, tech_dir),
    }
    print(f"held-out points: {len(held)}, training points: {len(train)}")
    print(f"{'metric':<22}{'held-out geomean':>18}{'held-out worst':>16}{'train geomean':>15}")
    for m in METRICS:
        h, t = report["held_out"][m], report["train"][m]
        print(f"{m:<22}{h['geomean']:>18.3f}{h['worst']:>16.3f}{t['geomean']:>15.3f}")
    for key, v in report["held_out"].items():
        if key.endswith("_pp"):
            print(f"{key:<32} mean |pp| {v['mean_abs']:6.1f}  max |pp| {v['max_abs']:6.1f}")
    print("trend (same direction as NeuroSim) per axis:")
    for axis, res in report["trends"].items():
        print(f"  {axis:<15}" + " ".join(f"{m}={'yes' if ok else 'NO'}" for m, ok in res.items()))
    return report


def write_meta(path: Path, rows: Sequence[Mapping[str, Any]], version: str, commit: str) -> None:
    """The facts a DOE table comes from: NeuroSim version and commit, network, traces."""
    from cimsweep.io import write_json

    ok = [r for r in rows if r["status"] == "ok"]
    write_json(
        path,
        {
            "neurosim_version": version,
            "neurosim_commit": commit,
            "points": len(rows),
            "ok_points": len(ok),
            "network": "cimsweep.ppa.fit.doe_network(): conv3x3 3-64, 64-64 + pool, 64-128 + pool, "
            "FC 2048-128, 128-10 on 3x16x16; torch.manual_seed(0) weights",
            "traces": "one input image torch.rand(3, 16, 16) after torch.manual_seed(1); weights "
            "and inputs scaled by their max magnitude to 8-bit two's-complement codes",
            "weight_bits": 8,
            "input_bits": 8,
            "mean_input_one_bit_fraction": (
                sum(r["trace_one_bit_fraction"] for r in ok) / len(ok) if ok else None
            ),
            "energy_convention": "energies as NeuroSim prints them (before its 1.22 post-layout "
            "factor); tops_per_w as it prints it (including the factor)",
        },
    )


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
    args = ap.parse_args(argv)
    table = Path(args.table)
    if args.neurosim:
        run_doe(args.neurosim, table, doe(args.random))
    rows = read_table(table)
    if args.neurosim or args.commit:
        write_meta(table.with_suffix(".json"), rows, args.version, args.commit)
    calib = fit(rows, Path(args.tech_dir))
    report = _print_report(rows, Path(args.tech_dir), calib)
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
                    "held_out": report["held_out"],
                },
                sort_keys=False,
            )
        )
    print(json.dumps(calib, indent=1))


if __name__ == "__main__":
    main()
