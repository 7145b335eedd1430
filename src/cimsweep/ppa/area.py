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
    a["adc"] = na * d.n_adc * comp.adc_area(tech, d.adc_bits, d.adc_type)
    periph_f2 = d.sr * float(logic["wl_driver_area_F2"])
    if d.cm > 1:
        periph_f2 += d.sc * float(logic["mux_area_F2"])
    a["other"] = d.alpha * na * comp.f2(tech, periph_f2)
    # read-group adder per ADC when a column is read in several groups (NeuroSim V1.4)
    w_group = d.group_add_width(m.max_read_groups)
    a["accumulation"] = d.alpha * (
        na * d.n_adc * (comp.adder_area(tech, d.w_ws) + comp.adder_area(tech, d.w_sa))
        + (na * d.n_adc * comp.adder_area(tech, w_group) if w_group else 0.0)
        + (m.pes * (d.spp - 1) + m.tiles * (d.ppt - 1)) * d.n_adc * comp.adder_area(tech, w_ps)
    )
    a["buffer"] = m.tiles * comp.sram_area(tech, d.tile_buffer)
    tile_area = sum(a.values()) / m.tiles
    a["interconnect"] = m.tiles * comp.bus_area(tech, d.sc, comp.htree_length(tile_area))
    return a


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
