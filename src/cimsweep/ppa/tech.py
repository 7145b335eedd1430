"""Technology files: load and validate ``config/tech/<node>nm.yaml``.

A technology file is a nested mapping of numeric constants (SI units unless the key names
another). :data:`SCHEMA` lists every key the analytical model reads; :func:`load_tech` rejects a
file that lacks one, holds a non-number, or holds a value out of range, naming the file and the
dotted key.
"""

from __future__ import annotations

import math
from pathlib import Path
from typing import Any

CELL_TYPES = ("1T1R", "SRAM6T", "SRAM8T")

# dotted key -> (lower bound, upper bound); None means unbounded. Every value must be a finite
# number strictly above the lower bound when one is given ("> 0" for physical quantities).
_POS = (0.0, None)
_FRAC = (0.0, 1.0)
SCHEMA: dict[str, tuple[float | None, float | None]] = {
    "node_nm": _POS,
    "device.feature_size_m": _POS,
    "device.vdd_V": _POS,
    "device.gate_cap_F_per_m": _POS,
    "device.ion_A_per_m": _POS,
    "device.ioff_A_per_m": _POS,
    "device.fo4_s": _POS,
    "device.clock_Hz": _POS,
    "device.pn_ratio": _POS,
    "device.drive_res_factor": _POS,
    "device.logic_area_scale": _POS,
    "device.leak_width_scale": _POS,
    "wire.width_m": _POS,
    "wire.aspect_ratio": _POS,
    "wire.resistivity_ohm_m": _POS,
    "wire.cap_F_per_m": _POS,
    "wire.input_toggle": _FRAC,
    "wire.output_toggle": _FRAC,
    "wire.bus_bits": _POS,
    "wire.pitch_factor": _POS,
    "wire.repeater_leak_W_per_m": _POS,
    "cells.sram_cell_leak_width_F": _POS,
    "cells.sram_read_width_F": _POS,
    "cells.access_gate_width_F": _POS,
    "cells.read_voltage_V": _POS,
    "cells.column_power_V2": _POS,
    "cells.write_voltage_V": _POS,
    "cells.sense_time_s": _POS,
    "cells.mean_level": _FRAC,
    "cells.input_activity": _FRAC,
    "adc.comparator_gates": _POS,
    "adc.comparator_area_F2": _POS,
    "adc.comparator_delay_fo4": _POS,
    "adc.mlsa_sense_time_s": _POS,
    "adc.mlsa_unit_gates": _POS,
    "adc.mlsa_unit_area_F2": _POS,
    "adc.sar_cycle_s": _POS,
    "adc.sar_logic_gates_per_bit": _POS,
    "adc.sar_cdac_unit_gates": _POS,
    "adc.sar_area_per_bit_F2": _POS,
    "adc.encoder_area_per_bit_F2": _POS,
    "logic.adder_J_per_bit": _POS,
    "logic.register_J_per_bit": _POS,
    "logic.full_adder_area_F2": _POS,
    "logic.dff_area_F2": _POS,
    "logic.wl_driver_area_F2": _POS,
    "logic.wl_driver_gates": _POS,
    "logic.wl_driver_width_F": _POS,
    "logic.level_shifter_area_F2": _POS,
    "logic.cell_height_F": _POS,
    "logic.mux_area_F2": _POS,
    "logic.mux_gates": _POS,
    "logic.mux_driver_sizing": _POS,
    "logic.control_overhead": (None, None),
    "sram_buffer.access_J_per_byte": _POS,
    "sram_buffer.array_efficiency": _FRAC,
    "sram_buffer.tile_buffer_bytes": _POS,
    "arch.subarrays_per_pe": _POS,
    "arch.pes_per_tile": _POS,
    "arch.beta": _POS,
    "arch.zeta": _POS,
    "arch.wiring_area_factor": _POS,
    "arch.leak_width_per_area": _POS,
}
_INT_KEYS = ("wire.bus_bits", "arch.subarrays_per_pe", "arch.pes_per_tile")


class TechError(ValueError):
    """A technology file is missing a key or holds an invalid value."""


def _get(tech: dict[str, Any], dotted: str) -> Any:
    node: Any = tech
    for part in dotted.split("."):
        if not isinstance(node, dict) or part not in node:
            raise KeyError(dotted)
        node = node[part]
    return node


def _is_number(value: Any) -> bool:
    return isinstance(value, (int, float)) and not isinstance(value, bool) and math.isfinite(value)


def validate_tech(tech: Any, source: str = "<tech>") -> dict[str, Any]:
    """Check a parsed technology mapping; return it. Raises :class:`TechError` naming the key."""
    if not isinstance(tech, dict):
        raise TechError(f"{source}: expected a mapping at the top level, got {type(tech).__name__}")
    if "version" not in tech:
        raise TechError(f"{source}: missing key 'version'")
    if not isinstance(tech["version"], (int, str)) or isinstance(tech["version"], bool):
        raise TechError(f"{source}: key 'version' must be an integer or string")
    for key, (lo, hi) in SCHEMA.items():
        try:
            value = _get(tech, key)
        except KeyError:
            raise TechError(f"{source}: missing key '{key}'") from None
        if not _is_number(value):
            hint = " (YAML 1.1 reads 1e9 as text: write 1.0e+9)" if isinstance(value, str) else ""
            raise TechError(f"{source}: key '{key}' must be a finite number, got {value!r}{hint}")
        if lo is not None and not value > lo:
            raise TechError(f"{source}: key '{key}' must be > {lo}, got {value!r}")
        if hi is not None and value > hi:
            raise TechError(f"{source}: key '{key}' must be <= {hi}, got {value!r}")
    for key in _INT_KEYS:
        if float(_get(tech, key)) != int(_get(tech, key)):
            raise TechError(f"{source}: key '{key}' must be an integer")
    dims = tech.get("cells", {}).get("dims_F")
    if not isinstance(dims, dict):
        raise TechError(f"{source}: missing key 'cells.dims_F'")
    for cell in CELL_TYPES:
        hw = dims.get(cell)
        if (
            not isinstance(hw, (list, tuple))
            or len(hw) != 2
            or not all(_is_number(v) and v > 0 for v in hw)
        ):
            raise TechError(
                f"{source}: key 'cells.dims_F.{cell}' must be [height, width] in F, got {hw!r}"
            )
    return tech


def load_tech(path: str | Path) -> dict[str, Any]:
    """Load and validate a technology YAML file; ``_source`` records the path it came from."""
    import yaml  # deferred: keeps ``import cimsweep.ppa`` fast

    path = Path(path)
    try:
        text = path.read_text()
    except OSError as exc:
        raise TechError(f"{path}: cannot read technology file ({exc.strerror})") from exc
    try:
        tech = yaml.safe_load(text)
    except yaml.YAMLError as exc:
        raise TechError(f"{path}: not valid YAML ({exc})") from exc
    tech = validate_tech(tech, str(path))
    tech["_source"] = str(path)
    return tech


def tech_file(node_nm: int, tech_dir: str | Path = "config/tech") -> Path:
    """Path of the technology file for ``node_nm`` under ``tech_dir``."""
    return Path(tech_dir) / f"{int(node_nm)}nm.yaml"
