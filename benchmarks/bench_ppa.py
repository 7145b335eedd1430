"""Analytical PPA estimator: speed and agreement with DNN+NeuroSim V1.3's VGG8 reference.

Target (issue 4): one VGG8 estimate in under 20 ms, pure Python (no torch import). Reports the
import time of ``cimsweep.ppa``, the per-estimate time, our VGG8 / 22 nm figures next to the
NeuroSim manual's with their ratios, and VGG8 across every technology node.

Then (issue 18) the agreement with NeuroSim V1.4's own C++ on the committed design of
experiments (``tests/data/neurosim_v1.4_ppa.csv``, written by ``python -m cimsweep.ppa.fit``):
the ratio table cimsweep / NeuroSim per metric on the held-out fifth and the training folds
(all points, and per network: the small CNN and VGG8), uncalibrated and with the committed
calibration factors, the share differences and the one-axis trends per network.

    python benchmarks/bench_ppa.py [--repeat 200]
"""

from __future__ import annotations

import argparse
import statistics
import subprocess
import sys
import time

from _util import REPO, save

from cimsweep.ppa.reference import NEUROSIM, NEUROSIM_HW
from cimsweep.ppa.reference import vgg8_geometry as vgg8

TARGET_S = 0.020
TECH_DIR = REPO / "config" / "tech"


def import_time() -> dict[str, float | bool]:
    """Fresh-interpreter import of cimsweep.ppa: seconds, and whether torch got imported."""
    code = (
        "import sys, time; t = time.perf_counter(); import cimsweep.ppa; "
        "print(time.perf_counter() - t, 'torch' in sys.modules)"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    seconds, torch = out.stdout.split()
    return {"import_s": float(seconds), "torch_imported": torch == "True"}


def neurosim_doe() -> dict:
    """Ratio and trend tables against the committed NeuroSim V1.4 DOE table (printed)."""
    import yaml

    from cimsweep.ppa import fit

    table = REPO / "tests" / "data" / "neurosim_v1.4_ppa.csv"
    calib_file = TECH_DIR / "calibration_neurosim_v1.4.yaml"
    if not table.is_file():
        return {"missing": str(table)}
    rows = fit.read_table(table)
    factors = yaml.safe_load(calib_file.read_text())["factors"] if calib_file.is_file() else {}
    out: dict = {
        "table": str(table.relative_to(REPO)),
        "points": len(rows),
        "points_by_network": {n: sum(r["network"] == n for r in rows) for n in fit.NETWORKS},
    }
    for label, calib in (("uncalibrated", None), ("calibrated", factors)):
        rep = fit.report(rows, TECH_DIR, calib)
        out[label] = {k: v for k, v in rep.items() if k != "trends"}
        fit.print_ratio_table(rep, f"cimsweep / NeuroSim V1.4, {label}, all networks")
        for net, res in rep["by_network"].items():
            fit.print_ratio_table(res, f"cimsweep / NeuroSim V1.4, {label}, {net} only")
        out["trends"] = rep["trends"]
    for key, v in out["uncalibrated"]["held_out"].items():
        if key.endswith("_pp"):
            print(f"{key:<30} held-out mean |pp| {v['mean_abs']:6.1f}  max {v['max_abs']:6.1f}")
    print("one-axis trend in NeuroSim's direction:")
    for axis, res in out["trends"].items():
        print(f"  {axis:<20}" + " ".join(f"{m}={'yes' if ok else 'NO'}" for m, ok in res.items()))
    out["cross_validation"] = cross_validation(rows)
    print("each fold held out in turn (fit on the other four; fold 0 is the committed one):")
    for k, res in out["cross_validation"].items():
        print(
            f"  fold {k} ({res['points']} points) "
            + " ".join(
                f"{m[:7]} {res[m]['geomean']:.2f} ({res[m]['worst']:.2f})" for m in fit.METRICS
            )
            + ("  targets met" if res["met"] else "  targets not met")
        )
    out["moves"] = moves(rows)
    print("one-axis moves from the base point, NeuroSim x / cimsweep x:")
    for key, mv in out["moves"].items():
        print(f"  {key:<30}" + " ".join(f"{m[:7]} {a:.3f}/{b:.3f}" for m, (a, b) in mv.items()))
    return out


def cross_validation(rows: list) -> dict[str, dict]:
    """Fit on four folds and report on the fifth, for each fold in turn: how much the
    held-out figures depend on which points (CNN and VGG8) are held out."""
    from cimsweep.ppa import fit

    out: dict[str, dict] = {}
    for k in range(fit.HELD_OUT_EVERY):
        swapped = [{**r, "fold": {0: k, k: 0}.get(r["fold"], r["fold"])} for r in rows]
        held = [
            r for r in fit.ratios(swapped, TECH_DIR, fit.fit(swapped, TECH_DIR)) if r["fold"] == 0
        ]
        res: dict = {m: v for m, v in fit.summary(held).items() if m in fit.METRICS}
        res["points"] = len(held)
        res["met"] = all(
            0.8 <= res[m]["geomean"] <= 1.25 and 0.5 <= res[m]["worst"] <= 2.0 for m in fit.METRICS
        )
        out[str(k)] = res
    return out


def moves(rows: list) -> dict[str, dict[str, tuple[float, float]]]:
    """Per one-axis DOE point: (NeuroSim point / base, cimsweep point / base) per metric, against
    the base point of the point's network (keys ``axis=value``, ``vgg8/axis=value``)."""
    from cimsweep.ppa import fit

    bases = {r["network"]: r for r in rows if r["axis"] == "base" and r["status"] == "ok"}
    ours = {net: fit.analytical(b, TECH_DIR) for net, b in bases.items()}
    out: dict[str, dict[str, tuple[float, float]]] = {}
    for r in rows:
        base, ours_base = bases.get(r["network"]), ours.get(r["network"])
        if r["axis"] not in fit.AXES or r["status"] != "ok" or base is None or ours_base is None:
            continue
        a = fit.analytical(r, TECH_DIR)
        if a is None:
            continue
        out[f"{fit.trend_key(r['network'], r['axis'])}={r[r['axis']]}"] = {
            m: (float(r[m]) / float(base[m]), a["total"][m] / ours_base["total"][m])
            for m in fit.METRICS
        }
    return out


def calibrated_timing(layers: list, repeat: int) -> float:
    """Median seconds of one VGG8 estimate with the committed calibration's technology
    settings (NeuroSim's weight duplication, leakage accounting, network-sized tiles)."""
    from cimsweep.ppa import estimate, load_tech
    from cimsweep.ppa.calibration import load_calibration

    cal = load_calibration(TECH_DIR / "calibration_neurosim_v1.4.yaml")
    tech = cal.apply_tech(load_tech(TECH_DIR / "22nm.yaml"))
    times = []
    for _ in range(repeat):
        start = time.perf_counter()
        estimate(layers, NEUROSIM_HW, tech)
        times.append(time.perf_counter() - start)
    return statistics.median(times)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--repeat", type=int, default=200)
    args = parser.parse_args()

    from cimsweep.ppa import estimate, load_tech, tech_file

    tech = load_tech(TECH_DIR / "22nm.yaml")
    layers = vgg8()
    times = []
    for _ in range(args.repeat):
        start = time.perf_counter()
        result = estimate(layers, NEUROSIM_HW, tech)
        times.append(time.perf_counter() - start)
    t = result["total"]
    dyn, area = t["dynamic_energy_J"], t["area_mm2"]
    ours = {
        "area_mm2": area,
        "dynamic_energy_J": dyn,
        "leakage_energy_J": t["leakage_energy_J"],
        "energy_J": t["energy_J"],
        "latency_s": t["latency_s"],
        "tops_per_w": t["tops_per_w"],
        "tops": t["tops"],
        "tops_per_mm2": t["tops_per_mm2"],
        "adc_energy_share": t["energy_breakdown_J"]["adc"] / dyn,
        "accumulation_energy_share": t["energy_breakdown_J"]["accumulation"] / dyn,
        "adc_area_share": t["area_breakdown_mm2"]["adc"] / area,
        "array_area_share": t["area_breakdown_mm2"]["array"] / area,
    }
    comparison = {
        k: {"ours": ours[k], "neurosim": v, "ratio": ours[k] / v} for k, v in NEUROSIM.items()
    }
    nodes = {}
    for node in (130, 65, 45, 32, 22, 14, 7, 5, 3, 2, 1):
        r = estimate(
            layers, {**NEUROSIM_HW, "tech_node": node}, load_tech(tech_file(node, TECH_DIR))
        )
        nodes[f"{node}nm"] = {
            k: r["total"][k]
            for k in ("energy_J", "area_mm2", "latency_s", "cycle_s", "tops_per_w", "tops")
        }
    lat = t["latency_s"]
    lat_parts = {
        k: sum(r["latency_breakdown_s"][k] for r in result["layers"]) / lat
        for k in ("compute", "accumulation")
    }
    lat_parts["buffer"] = sum(r["buffer_latency_s"] for r in result["layers"]) / lat
    lat_parts["interconnect"] = sum(r["interconnect_latency_s"] for r in result["layers"]) / lat
    timing = {
        "clock_s": t["cycle_s"],
        "read_cycle_s": t["read_cycle_s"],
        "latency_share": lat_parts,
        "layer_latency_s": {r["name"]: r["latency_s"] for r in result["layers"]},
    }
    median = statistics.median(times)
    report = {
        "target_s": TARGET_S,
        "estimate_median_s": median,
        "estimate_min_s": min(times),
        "estimate_first_s": times[0],
        "ratio_to_target": median / TARGET_S,
        "estimate_calibrated_median_s": calibrated_timing(layers, args.repeat),
        "repeat": args.repeat,
        **import_time(),
        "ops": t["ops"],
        "energy_breakdown_share": {k: v / dyn for k, v in t["energy_breakdown_J"].items()},
        "area_breakdown_share": {k: v / area for k, v in t["area_breakdown_mm2"].items()},
        "timing": timing,
        "neurosim_vgg8_22nm": comparison,
        "vgg8_by_node": nodes,
        "neurosim_v14_doe": neurosim_doe(),
    }
    save("bench_ppa", report)


if __name__ == "__main__":
    main()
