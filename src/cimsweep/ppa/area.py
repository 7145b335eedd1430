"""Mapping and allocated area of each layer, and the chip-level buffer and bus (m²)."""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from typing import Any

from cimsweep.ppa import components as comp
from cimsweep.ppa.design import BREAKDOWN_KEYS, Design, unique_inputs, zeros
from cimsweep.ppa.mapping import LayerMapping, map_layer


def map_view(v: Mapping[str, Any], d: Design) -> LayerMapping:
    """Place one layer: whole weights per subarray, offset reference groups per tile or one
    per layer (``offset_reference``), as the simulator places them
    (:func:`cimsweep.layout.column_tiles`)."""
    return map_layer(
        v["rows"],
        d.crossbar_columns(v["cols"]),
        (d.sr, d.sc),
        d.hw["parallel_read"],
        d.spp,
        d.ppt,
        col_tiles=d.column_tiles(v["cols"])[1],
    )


# NeuroSim V1.4 (SubArray.cpp) gives a resistive array write level shifters when the cell's
# write voltage exceeds this (V)
LEVEL_SHIFTER_ABOVE_V = 1.5


def level_shifters(d: Design) -> tuple[int, int]:
    """Write level shifters of one subarray beside its rows and under its columns: NeuroSim
    V1.4 puts one on every word line and bit line (``wllevelshifter``, ``bllevelshifter``,
    in the row periphery) and one on every source line (``sllevelshifter``, stacked with the
    column periphery) of a resistive array written above :data:`LEVEL_SHIFTER_ABOVE_V`; none
    for SRAM. They take area only (NeuroSim counts no read energy or leakage for them)."""
    resistive = not d.cell_type.startswith("SRAM") and d.hw["mem_type"] == "resistive"
    if not resistive or float(d.tech["cells"]["write_voltage_V"]) <= LEVEL_SHIFTER_ABOVE_V:
        return 0, 0
    return 2 * d.sr, d.sc


def subarray_periphery(d: Design) -> tuple[float, float, float]:
    """Row periphery, column periphery in "other" (mux, SL level shifters) and level-shifter
    area of one subarray (m², wiring factor included)."""
    logic, tech = d.logic, d.tech
    ls_row, ls_col = level_shifters(d)
    # the level shifters' latch and high-voltage pull-up are IO transistors (NeuroSim V1.4
    # LevelShifter.cpp): drawn on the planar rule, without the FinFET / GAA logic scale
    ls_one = d.alpha * comp.f2(tech, float(logic["level_shifter_area_F2"]))
    mux_f2 = d.sc * float(logic["mux_area_F2"]) if d.cm > 1 else 0.0
    row_m2 = d.alpha * comp.logic_area(tech, d.sr * float(logic["wl_driver_area_F2"]))
    col_m2 = d.alpha * comp.logic_area(tech, mux_f2)
    return row_m2 + ls_row * ls_one, col_m2 + ls_col * ls_one, (ls_row + ls_col) * ls_one


def sub_accumulation_area(d: Design, m: LayerMapping) -> float:
    """Accumulation circuits of one subarray (m²): weight and input shift-adders per ADC, and a
    read-group adder per ADC when a column is read in several groups (NeuroSim V1.4)."""
    tech = d.tech
    w_group = d.group_add_width(m.max_read_groups)
    return (
        d.alpha
        * d.n_adc
        * (
            comp.adder_area(tech, d.w_ws, d.ws_register)
            + comp.adder_area(tech, d.w_sa, d.sa_register)
            + (comp.adder_area(tech, w_group) if w_group else 0.0)
        )
    )


def adder_trees(m: LayerMapping, d: Design) -> int:
    """Adders of the PE and tile adder trees of one layer, NeuroSim V1.4's (``AdderTree.cpp``,
    combinational, no register): a PE's ``r x r`` subarrays (``r = ceil(sqrt(spp))``) are
    summed down each of its ``r`` subarray columns, ``r - 1`` adders per ADC column; a tile's
    PEs are summed per ADC column of a PE, ``ppt - 1`` adders each
    (``ProcessingUnit.cpp`` adderTree, ``Tile.cpp`` accumulation)."""
    r = math.ceil(math.sqrt(d.spp))
    per_pe = r * (r - 1) * d.n_adc
    per_tile = (d.ppt - 1) * r * d.n_adc
    return m.pes * per_pe + m.tiles * per_tile


def tile_bus_bits(m: LayerMapping, d: Design) -> float:
    """Width (bit) of a tile's H-tree: every column of its PEs (NeuroSim V1.4 ``Tile.cpp``
    hTree busWidth = PEs per tile x PE side in cells)."""
    pe_side = math.sqrt(m.allocated_arrays / m.pes) * d.sc
    return m.pes / m.tiles * pe_side


def layer_area(m: LayerMapping, d: Design) -> dict[str, float]:
    """Area breakdown (m²) of the tiles allocated to one layer."""
    tech = d.tech
    w_ps = d.psum_width(m.row_tiles)
    a = zeros()
    na = m.allocated_arrays
    cell_m2 = d.sr * d.sc * comp.cell_area(tech, d.cell_type)
    a["array"] = na * cell_m2
    adc_m2 = d.n_adc * comp.adc_area(tech, d.adc_bits, d.adc_type)
    a["adc"] = na * adc_m2
    row_m2, col_other_m2, _ = subarray_periphery(d)
    sub_accum = sub_accumulation_area(d, m)
    a["accumulation"] = na * sub_accum + d.alpha * adder_trees(m, d) * comp.adder_area(
        tech, w_ps, 0
    )
    column_m2 = adc_m2 + sub_accum + col_other_m2
    a["other"] = na * (row_m2 + col_other_m2 + layout_slack(row_m2, column_m2, cell_m2))
    a["buffer"] = m.tiles * comp.sram_area(tech, d.tile_buffer)
    tile_area = sum(a.values()) / m.tiles
    a["interconnect"] = m.tiles * tile_htree_area(
        tech, tile_bus_bits(m, d), comp.htree_length(tile_area)
    )
    return a


def idle_area(m: LayerMapping, d: Design, a: Mapping[str, float]) -> float:
    """Area (m²) of one layer's tiles (breakdown ``a``, :func:`layer_area`) that adds no
    leaking transistor width: the write level shifters (off during inference), the empty
    corners of the subarrays' bounding boxes, and the layout overhead of FinFET / GAA standard
    cells (``1 - 1 / logic_area_scale`` of the ADC, accumulation and row / column logic), and
    the tile H-tree (its repeaters: :func:`tile_htree_leakage`)."""
    row_m2, col_other_m2, ls_m2 = subarray_periphery(d)
    cell_m2 = d.sr * d.sc * comp.cell_area(d.tech, d.cell_type)
    column_m2 = (
        d.n_adc * comp.adc_area(d.tech, d.adc_bits, d.adc_type)
        + sub_accumulation_area(d, m)
        + col_other_m2
    )
    slack = m.allocated_arrays * layout_slack(row_m2, column_m2, cell_m2)
    logic = a["adc"] + a["accumulation"] + a["other"] - slack - m.allocated_arrays * ls_m2
    scale = float(d.tech["device"]["logic_area_scale"])
    # the tile H-tree's repeaters leak by their count (tile_htree_leakage), not by its area
    # (the planar part that leaking() keeps of it)
    htree = a["interconnect"] / scale
    return m.allocated_arrays * ls_m2 + slack + (1.0 - 1.0 / scale) * logic + htree


def leaking(tech: Mapping[str, Any], a: Mapping[str, float]) -> float:
    """Area (m²) of an area breakdown ``a`` whose transistors leak, before the idle parts
    (:func:`idle_area`): all but the array, the buffers and buses counted on
    the planar rule: their FinFET / GAA layout overhead (``1 - 1 / logic_area_scale``: the
    bigger SRAM cells of NeuroSim V1.4's cell sizes, the repeaters drawn with its contacted
    poly pitch) adds no leaking width, as for the standard cells."""
    scale = float(tech["device"]["logic_area_scale"])
    overhead = (1.0 - 1.0 / scale) * (a["buffer"] + a["interconnect"])
    return sum(a.values()) - a["array"] - overhead


def layout_slack(row_m2: float, column_m2: float, array_m2: float) -> float:
    """Unused area of one subarray's bounding box (m²), NeuroSim's floorplan
    (``SubArray.cpp`` ``CalculateArea``: height = array + column periphery stacked under it,
    width = row periphery beside it + array): the row-periphery strip runs the full height,
    the column periphery the full width, so the corner ``w_row x h_col`` is empty:
    ``(A_row / h_array) (A_col / w_array) = A_row A_col / A_array``. Small cells (1T1R) with
    a large periphery (the write level shifters) leave the most (NeuroSim V1.4 chip area minus
    its itemized parts: ~2/3 for 1T1R, ~4 % for SRAM on the DOE's base point)."""
    return row_m2 * column_m2 / array_m2


# NeuroSim V1.4 folds a tile's H-tree 16 times over (Tile.cpp hTree CalculateArea(.., 16))
TILE_HTREE_FOLD = 16


def tile_htree_area(tech: Mapping[str, Any], bits: float, side_m: float) -> float:
    """Footprint of a tile's H-tree (m^2), NeuroSim V1.4's (``HTree.cpp`` ``CalculateArea``):
    a repeated bus of ``bits`` takes a repeater inverter's height (``logic.cell_height_F``)
    per bit, folded :data:`TILE_HTREE_FOLD` times, over its main run of half the tile side."""
    track = float(tech["logic"]["cell_height_F"]) * comp.feature_size(tech)
    return bits * track / TILE_HTREE_FOLD * side_m / 2


def tile_htree_length(pes_per_tile: float, pe_side_m: float) -> float:
    """Repeated wire length (m) of a tile's H-tree over ``pes_per_tile`` PEs of side
    ``pe_side_m``, NeuroSim V1.4's (``HTree.cpp`` ``CalculateArea`` ``totalWireLength``): the
    PEs span ``N = 2^ceil(log2 ceil(sqrt(PEs)))`` on a side; from the centre each stage
    halves a vertical and a horizontal run (``N / 4``, ``N / 8``, ... PE sides, the last stage
    left out) and the main bus runs ``N / 2`` PE sides: ``(3 N / 2 - 2)`` PE sides (one PE: no
    tree)."""
    side = math.ceil(math.sqrt(max(pes_per_tile, 1.0)) - 1e-9)
    n = 2 ** math.ceil(math.log2(side)) if side > 1 else 1
    return max(0.0, 1.5 * n - 2.0) * pe_side_m


def tile_htree_leakage(m: LayerMapping, d: Design, a: Mapping[str, float]) -> float:
    """Static power (W) of the repeaters of one layer's tile H-trees (breakdown ``a``,
    :func:`layer_area`), NeuroSim V1.4's (``HTree.cpp`` ``CalculatePower``: leakage =
    unitLengthLeakage x totalWireLength x busWidth, a repeater every ``minDist`` on every bit
    of the unfolded tree; ``wire.repeater_leak_W_per_m`` is its unitLengthLeakage per node).
    The H-tree's footprint is folded 16 times (:func:`tile_htree_area`), so its area says
    little of its repeaters; it is left out of the area-rule leakage (:func:`idle_area`)."""
    if m.tiles <= 0:
        return 0.0
    ppt = m.pes / m.tiles
    pe_side = comp.htree_length((sum(a.values()) - a["interconnect"]) / m.pes)
    per_m = float(d.tech["wire"]["repeater_leak_W_per_m"])
    return m.tiles * per_m * tile_bus_bits(m, d) * tile_htree_length(ppt, pe_side)


def xy_bus_area(tech: Mapping[str, Any], bits: float, side_m: float) -> float:
    """Footprint of the chip's global X-Y bus over a square of side ``side_m`` (m^2), NeuroSim
    V1.4's (``XYBus.cpp``, folded ``treeFoldedRatio`` = 4 times, ``Param.cpp``): each repeated
    bit takes a repeater inverter's width along the Y run and its height along the X run; the
    inverter is ``2 CPP`` wide, CPP = ``logic_area_scale`` x 3.8 x 28 F / ``cell_height_F``
    (formula.cpp, planar CPP 3.8 F)."""
    h_f = float(tech["logic"]["cell_height_F"])
    cpp_f = float(tech["device"]["logic_area_scale"]) * 3.8 * 28.0 / h_f
    return bits * (2 * cpp_f + h_f) * comp.feature_size(tech) / 4 * side_m


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
    total["interconnect"] += xy_bus_area(d.tech, d.bus_bits, side)
    return total
