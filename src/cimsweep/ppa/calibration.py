"""Calibration files: per-metric factors fitted to one NeuroSim build (``python -m
cimsweep.ppa.fit``) and the technology settings the fit was made with, applied to analytical
results (``ppa_calibration:`` in a sweep config)."""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from cimsweep.ppa.floorplan import TILE_SIZING

# the metrics a calibration file may scale (TOPS/W, TOPS, fps follow from them)
FACTOR_KEYS = ("area_mm2", "dynamic_energy_J", "leakage_power_W", "latency_s")
# technology settings a calibration may carry (the ones the fit ran with)
TECH_KEYS = {"arch": ("pipeline_speedup_degree", "pipeline_leakage", "tile_sizing")}
PIPELINE_LEAKAGE = ("always", "idle")


def cell_family(cell_type: str) -> str:
    """The calibration family of a cell type: ``SRAM`` for SRAM6T/SRAM8T, else the type."""
    return "SRAM" if cell_type.startswith("SRAM") else cell_type


def _factor(p: Path, key: str, value: Any) -> float:
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise CalibrationError(f"{p}: {key} = {value!r}; expected a number")
    if not math.isfinite(value) or value <= 0:
        raise CalibrationError(f"{p}: {key} = {value!r}; expected a number > 0")
    return float(value)


class CalibrationError(ValueError):
    """A calibration file that cannot be used; the message names the file and the key."""


@dataclass(frozen=True)
class Calibration:
    """factors: metric -> multiplier (> 0), ``cells``: family -> metric -> multiplier on top;
    tech: section -> key -> value set on the technology
    file before estimating; version: the NeuroSim version it was fitted to; source: its path."""

    factors: Mapping[str, Any]
    tech: Mapping[str, Mapping[str, Any]] = field(default_factory=dict)
    version: str = ""
    source: str = ""

    def apply_tech(self, tech: Mapping[str, Any]) -> dict[str, Any]:
        """A copy of ``tech`` with this calibration's technology settings."""
        out = dict(tech)
        for section, values in self.tech.items():
            out[section] = {**tech.get(section, {}), **values}
        return out


def load_calibration(path: str | Path) -> Calibration:
    """Read and check a calibration file (YAML: ``factors``, optional ``tech``,
    ``neurosim_version``). Raises :class:`CalibrationError` naming the file and key."""
    import yaml

    p = Path(path)
    if not p.is_file():
        raise CalibrationError(
            f"ppa_calibration: {p} does not exist (expected a YAML file "
            "written by python -m cimsweep.ppa.fit)"
        )
    try:
        raw = yaml.safe_load(p.read_text())
    except yaml.YAMLError as exc:
        raise CalibrationError(f"{p}: not valid YAML ({exc})") from None
    if not isinstance(raw, Mapping) or not isinstance(raw.get("factors"), Mapping):
        raise CalibrationError(f"{p}: expected a mapping with a 'factors' mapping")
    factors: dict[str, Any] = {}
    for key, value in raw["factors"].items():
        if key == "cells":
            if not isinstance(value, Mapping):
                raise CalibrationError(f"{p}: factors.cells: expected family -> factors")
            cells: dict[str, dict[str, float]] = {}
            for fam, sub in value.items():
                if not isinstance(sub, Mapping):
                    raise CalibrationError(f"{p}: factors.cells.{fam}: expected a mapping")
                for m in sub:
                    if m not in FACTOR_KEYS:
                        raise CalibrationError(
                            f"{p}: factors.cells.{fam}.{m}: unknown; expected one of {FACTOR_KEYS}"
                        )
                cells[str(fam)] = {
                    m: _factor(p, f"factors.cells.{fam}.{m}", v) for m, v in sub.items()
                }
            factors["cells"] = cells
            continue
        if key not in FACTOR_KEYS:
            raise CalibrationError(f"{p}: factors.{key}: unknown; expected one of {FACTOR_KEYS}")
        factors[key] = _factor(p, f"factors.{key}", value)
    tech: dict[str, dict[str, Any]] = {}
    for section, values in (raw.get("tech") or {}).items():
        allowed = TECH_KEYS.get(section, ())
        if not isinstance(values, Mapping):
            raise CalibrationError(f"{p}: tech.{section}: expected a mapping")
        for key, value in values.items():
            if key not in allowed:
                raise CalibrationError(
                    f"{p}: tech.{section}.{key}: not a setting a calibration may carry "
                    f"(allowed: {TECH_KEYS})"
                )
            if key == "pipeline_leakage":
                if value not in PIPELINE_LEAKAGE:
                    raise CalibrationError(
                        f"{p}: tech.{section}.{key} = {value!r}; expected one of {PIPELINE_LEAKAGE}"
                    )
            elif key == "tile_sizing":
                if value not in TILE_SIZING:
                    raise CalibrationError(
                        f"{p}: tech.{section}.{key} = {value!r}; expected one of {TILE_SIZING}"
                    )
            elif isinstance(value, bool) or not isinstance(value, int) or value < 1:
                raise CalibrationError(f"{p}: tech.{section}.{key} = {value!r}; expected int >= 1")
        tech[section] = dict(values)
    return Calibration(factors, tech, str(raw.get("neurosim_version", "")), str(p))


def point_factors(factors: Mapping[str, Any], cell_type: str) -> dict[str, float]:
    """The factor per metric for one cell type: the global one times its family's
    (``factors["cells"][family]``, absent = 1)."""
    fam = (factors.get("cells") or {}).get(cell_family(cell_type), {})
    return {m: float(factors.get(m, 1.0)) * float(fam.get(m, 1.0)) for m in FACTOR_KEYS}


def apply_calibration(result: Mapping[str, Any], factors: Mapping[str, Any]) -> dict:
    """A copy of an analytical result with its totals scaled by fitted ``factors`` (per metric
    of :data:`FACTOR_KEYS`, times the result's cell family's under ``cells``; energy, TOPS,
    TOPS/W and fps follow from the scaled parts)."""
    f = point_factors(factors, str(result.get("hw", {}).get("cell_type", "")))
    out = {**result, "total": dict(result["total"]), "calibration": f}
    t = out["total"]
    t["area_mm2"] *= f["area_mm2"]
    t["dynamic_energy_J"] *= f["dynamic_energy_J"]
    t["leakage_power_W"] *= f["leakage_power_W"]
    t["latency_s"] *= f["latency_s"]
    t["leakage_energy_J"] = t["leakage_power_W"] * t["latency_s"]
    t["energy_J"] = t["dynamic_energy_J"] + t["leakage_energy_J"]
    t["tops"] = t["ops"] / t["latency_s"] / 1e12
    t["tops_per_w"] = t["ops"] / t["energy_J"] / 1e12
    t["tops_per_mm2"] = t["tops"] / t["area_mm2"]
    t["fps"] = 1.0 / t["latency_s"]
    return out


def calibrated(result: Mapping[str, Any], cal: Calibration) -> dict:
    """:func:`apply_calibration` with ``cal``'s factors, recording the file and version."""
    out = apply_calibration(result, cal.factors)
    out["calibration"] = {
        "file": cal.source,
        "neurosim_version": cal.version,
        "factors": out["calibration"],
        "tech": {k: dict(v) for k, v in cal.tech.items()},
    }
    return out
