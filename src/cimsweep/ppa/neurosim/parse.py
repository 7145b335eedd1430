"""NeuroSim's printed report parsed into the analytical backend's result schema.

Energies (J) are NeuroSim's printed values, *before* its 1.22 post-layout factor (``zeta``);
``tops_per_w`` is NeuroSim's printed TOPS/W, which divides by that factor (post-layout), and
``tops_per_w_prelayout`` is ops / printed energy. NeuroSim prints no buffer area: "buffer" area
is the chip area minus its printed parts (array, ADC, accumulation, IC, other). Its "other" energy
includes buffers and interconnect, which are split out here (printed separately).
"""

from __future__ import annotations

import re
from typing import Any

from cimsweep.ppa.design import zeros

_NUM = r"([-+0-9.eE]+|nan|-?inf)"
_PI = r"(?: \(per image\))?"
_UNIT = {"ns": 1e-9, "pJ": 1e-12, "uW": 1e-6, "um^2": 1e-12}

_SUMMARY = {
    "area": rf"ChipArea : {_NUM}um\^2",
    "area_array": rf"Chip total CIM array : {_NUM}um\^2",
    "area_ic": rf"Total IC Area on chip \(Global and Tile/PE local\): {_NUM}um\^2",
    "area_adc": rf"Total ADC \(or S/As and precharger for SRAM\) Area on chip : {_NUM}um\^2",
    "area_accum": rf"Total Accumulation Circuits \(.*?\) on chip : {_NUM}um\^2",
    "area_other": rf"Other Peripheries \(.*?\) : {_NUM}um\^2",
    "clock": rf"Chip clock period is: {_NUM}ns",
    "latency": r"Chip (?:layer-by-layer readLatency|pipeline-system-clock-cycle)"
    rf" \(per image\) is: {_NUM}ns",
    "dynamic": rf"Chip (?:total|pipeline-system) readDynamicEnergy{_PI} is: {_NUM}pJ",
    "leak_energy": rf"Chip (?:total|pipeline-system) leakage Energy{_PI} is: {_NUM}pJ",
    "leak_power": rf"Chip (?:total|pipeline-system) leakage Power{_PI} is: {_NUM}uW",
    "buffer_latency": rf"Chip (?:pipeline-system )?buffer readLatency{_PI} is: {_NUM}ns",
    "buffer_energy": rf"Chip (?:pipeline-system )?buffer readDynamicEnergy{_PI} is: {_NUM}pJ",
    "ic_latency": rf"Chip (?:pipeline-system )?ic readLatency{_PI} is: {_NUM}ns",
    "ic_energy": rf"Chip (?:pipeline-system )?ic readDynamicEnergy{_PI} is: {_NUM}pJ",
    "tops_per_w": rf"Energy Efficiency TOPS/W \(.*?\): {_NUM}",
    "tops": rf"Throughput TOPS \(.*?\): {_NUM}",
}
_BREAKDOWN = {
    "adc_latency": rf"ADC \(or S/As and precharger for SRAM\) readLatency is : {_NUM}ns",
    "accum_latency": rf"Accumulation Circuits \(.*?\) readLatency is : {_NUM}ns",
    "other_latency": rf"Other Peripheries \(.*?\) readLatency is : {_NUM}ns",
    "adc_energy": rf"ADC \(or S/As and precharger for SRAM\) readDynamicEnergy is : {_NUM}pJ",
    "accum_energy": rf"Accumulation Circuits \(.*?\) readDynamicEnergy is : {_NUM}pJ",
    "other_energy": rf"Other Peripheries \(.*?\) readDynamicEnergy is : {_NUM}pJ",
}
_LAYER = {
    "latency": r"readLatency is: {n}ns",
    "dynamic": r"readDynamicEnergy is: {n}pJ",
    "leak_power": r"leakagePower is: {n}uW",
    "leak_energy": r"leakageEnergy is: {n}pJ",
    "buffer_latency": r"buffer latency is: {n}ns",
    "buffer_energy": r"buffer readDynamicEnergy is: {n}pJ",
    "ic_latency": r"ic latency is: {n}ns",
    "ic_energy": r"ic readDynamicEnergy is: {n}pJ",
}


class NeuroSimParseError(ValueError):
    """NeuroSim's output lacks a line the parser needs (the run failed or the format changed)."""


def _scale(pattern: str) -> float:
    for unit, factor in _UNIT.items():
        if pattern.endswith(unit) or pattern.endswith(re.escape(unit)):
            return factor
    return 1.0


def _get(pattern: str, text: str, what: str) -> float:
    m = re.search(pattern, text)
    if m is None:
        start = pattern.split("(", 1)[0].replace("\\", "").strip()
        raise NeuroSimParseError(f"NeuroSim output has no {what!r} line (expected {start!r}...)")
    return float(m.group(1)) * _scale(pattern)


def _breakdown(text: str) -> dict[str, float]:
    return {k: _get(p, text, k) for k, p in _BREAKDOWN.items()}


def _energy(dynamic: float, b: dict[str, float], buffer: float, ic: float) -> dict[str, float]:
    e = zeros()
    e["adc"] = b["adc_energy"]
    e["accumulation"] = b["accum_energy"]
    e["buffer"] = buffer
    e["interconnect"] = ic
    e["other"] = max(0.0, b["other_energy"] - buffer - ic)
    e["array"] = max(0.0, dynamic - b["adc_energy"] - b["accum_energy"] - b["other_energy"])
    return e


def _latency(latency: float, b: dict[str, float], buffer: float, ic: float) -> dict[str, float]:
    return {
        "compute": max(0.0, latency - b["accum_latency"] - buffer - ic),
        "accumulation": b["accum_latency"],
        "io": buffer + ic,
    }


def parse_report(text: str) -> dict[str, Any]:
    """``total`` and ``layers`` (latency s, energy J, area mm², as printed) of a NeuroSim run.

    ``layers`` entries hold ``index`` (1-based) and the per-layer figures; the caller adds
    names and geometry. Raises :class:`NeuroSimParseError` when a needed line is missing.
    """
    s = {k: _get(p, text, k) for k, p in _SUMMARY.items() if k != "clock"}
    clock = re.search(_SUMMARY["clock"], text)
    summary_at = text.find("------------------------------ Summary")
    if summary_at < 0:
        raise NeuroSimParseError("NeuroSim output has no Summary section (the run did not finish)")
    b = _breakdown(text[summary_at:])
    area_bd = zeros()
    area_bd["array"] = s["area_array"]
    area_bd["adc"] = s["area_adc"]
    area_bd["accumulation"] = s["area_accum"]
    area_bd["interconnect"] = s["area_ic"]
    area_bd["other"] = s["area_other"]
    # NeuroSim's printed parts do not add up to its chip area: the rest (global buffer,
    # unused floorplan) is reported as "buffer"
    area_bd["buffer"] = max(0.0, s["area"] - sum(area_bd.values()))
    total = {
        "energy_J": s["dynamic"] + s["leak_energy"],
        "dynamic_energy_J": s["dynamic"],
        "leakage_energy_J": s["leak_energy"],
        "leakage_power_W": s["leak_power"],
        "latency_s": s["latency"],
        "cycle_s": float(clock.group(1)) * 1e-9 if clock else float("nan"),
        "area_mm2": s["area"] * 1e6,
        "tops": s["tops"],
        "tops_per_w": s["tops_per_w"],
        "buffer_latency_s": s["buffer_latency"],
        "interconnect_latency_s": s["ic_latency"],
        "energy_breakdown_J": _energy(s["dynamic"], b, s["buffer_energy"], s["ic_energy"]),
        "area_breakdown_mm2": {k: v * 1e6 for k, v in area_bd.items()},
        "latency_breakdown_s": _latency(s["latency"], b, s["buffer_latency"], s["ic_latency"]),
    }
    layers = []
    blocks = re.split(r"-------------------- Estimation of Layer (\d+) -+", text[:summary_at])
    for index, body in zip(blocks[1::2], blocks[2::2], strict=True):
        v = {
            k: _get(rf"layer{index}'s " + p.format(n=_NUM), body, f"layer {index} {k}")
            for k, p in _LAYER.items()
        }
        lb = _breakdown(body)
        layers.append(
            {
                "index": int(index),
                "latency_s": v["latency"],
                "dynamic_energy_J": v["dynamic"],
                "leakage_energy_J": v["leak_energy"],
                "leakage_power_W": v["leak_power"],
                "energy_J": v["dynamic"] + v["leak_energy"],
                "buffer_latency_s": v["buffer_latency"],
                "interconnect_latency_s": v["ic_latency"],
                "energy_breakdown_J": _energy(v["dynamic"], lb, v["buffer_energy"], v["ic_energy"]),
                "latency_breakdown_s": _latency(
                    v["latency"], lb, v["buffer_latency"], v["ic_latency"]
                ),
            }
        )
    if not layers:
        raise NeuroSimParseError("NeuroSim output has no per-layer 'Estimation of Layer' block")
    return {"total": total, "layers": layers}
