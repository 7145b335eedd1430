"""Mapping and allocated area of each layer, and the chip-level buffer and bus (m²)."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from cimsweep.layout import column_tiles, crossbar_columns
from cimsweep.ppa import components as comp
from cimsweep.ppa.design import BREAKDOWN_KEYS, Design, unique_inputs, zeros
from cimsweep.ppa.mapping import LayerMapping, map_layer


def map_view(v: Mapping[str, Any], d: Design) -> LayerMapping:
    """Place one layer: whole weights per subarray, one reference group per tile (offset), as
    the simulator places them (:func:`cimsweep.layout.column_tiles`)."""
    hw = d.hw
    return map_layer(
        v["rows"],
        crossbar_columns(v["cols"], d.sc, d.slices, hw["signed_mapping"]),
        (d.sr, d.sc),
        hw["parallel_read"],
        d.spp,
        d.ppt,
        col_tiles=column_tiles(v["cols"], d.sc, d.slices, hw["signed_mapping"])[1],
    )


def layer_area(m: LayerMapping, d: Design) -> dict[str, float]:
    """Area breakdown (m²) of the tiles allocated to one layer."""
    tech, logic = d.tech, d.logic
    w_ps = d.psum_width(m.row_tiles)
    a = zeros()
    na = m.allocated_arrays
    a["array"] = na * d.sr * d.sc * comp.cell_area(tech, d.cell_type)
    adc_one = comp.adc_area(tech, d.adc_bits, d.adc_type)
    a["adc"] = na * d.n_adc * adc_one
    periph_f2 = d.sr * float(logic["wl_driver_area_F2"])
    if d.cm > 1:
        periph_f2 += d.sc * float(logic["mux_area_F2"])
    a["other"] = d.alpha * na * comp.f2(tech, periph_f2)
    # read-group adder per ADC when a column is read in several groups (NeuroSim V1.4)
    w_group = d.group_add_width(m.max_read_groups)
    sub_accum = d.n_adc * (
        comp.adder_area(tech, d.w_ws)
        + comp.adder_area(tech, d.w_sa)
        + (comp.adder_area(tech, w_group) if w_group else 0.0)
    )
    a["accumulation"] = d.alpha * (
        na * sub_accum
        + (m.pes * (d.spp - 1) + m.tiles * (d.ppt - 1)) * d.n_adc * comp.adder_area(tech, w_ps)
    )
    a["other"] += na * layout_slack(d, a["array"] / na, d.n_adc * adc_one + d.alpha * sub_accum)
    a["buffer"] = m.tiles * comp.sram_area(tech, d.tile_buffer)
    tile_area = sum(a.values()) / m.tiles
    a["interconnect"] = m.tiles * comp.bus_area(tech, d.sc, comp.htree_length(tile_area))
    return a


def layout_slack(d: Design, array_m2: float, column_periphery_m2: float) -> float:
    """Unused area of one subarray's bounding box (m²), NeuroSim's floorplan
    (``SubArray.cpp`` ``CalculateArea``: height = array + column periphery stacked under it,
    width = row periphery beside it + array): the row-periphery strip runs the full height,
    the column periphery the full width, so the corner ``w_row x h_col`` is empty:
    ``(A_row / h_array) (A_col / w_array) = A_row A_col / A_array``. Small cells (1T1R) with
    a large periphery leave the most (NeuroSim V1.4 chip area minus its itemized parts: ~2/3
    for 1T1R, ~4 % for SRAM on the DOE's base point)."""
    row_m2 = d.alpha * comp.f2(d.tech, d.sr * float(d.logic["wl_driver_area_F2"]))
    return row_m2 * column_periphery_m2 / array_m2


def chip_area(
    views: Sequence[Mapping[str, Any]], areas: Sequence[Mapping[str, float]], d: Design
) -> dict[str, float]:
    """Chip area breakdown (m²): every layer's tiles plus the global buffer (sized for the
    largest layer's inputs and outputs) and the chip bus."""
    act_bytes = max((unique_inputs(v) + v["vectors"] * v["cols"]) * d.ip / 8 for v in views)
    total = zeros()
    for a in areas:
        for k in BREAKDOWN_KEYS:
            total[k] += a[k]
    total["buffer"] += comp.sram_area(d.tech, act_bytes)
    side = comp.htree_length(sum(total.values()))
    total["interconnect"] += comp.bus_area(d.tech, d.bus_bits, 2 * side)
    return total
