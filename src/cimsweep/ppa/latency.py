"""The read cycle and clock, and each layer's latency (s) counted in clock cycles."""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from cimsweep.ppa import components as comp
from cimsweep.ppa.design import Design, unique_inputs
from cimsweep.ppa.mapping import LayerMapping
from cimsweep.signed_mapping import signed_mapping


@dataclass(frozen=True)
class Clock:
    """t_read: analog sensing cycle (s); t_clk: the synchronous clock period (s); passes:
    output words per array drained through its ADC lanes; t_chip_wire: chip H-tree delay (s)."""

    t_read: float
    t_clk: float
    passes: int
    t_chip_wire: float


def clock(d: Design, l_chip: float) -> Clock:
    """The analog sensing cycle is the critical path (WL/BL turn-on, column current settling,
    ADC), NeuroSim V1.3 synchronous mode; the clock cannot be faster than the logic allows."""
    tech, hw = d.tech, d.hw
    cells = tech["cells"]
    activity = float(cells["input_activity"])
    if hw["mem_type"] == "resistive":
        g_mean = comp.cell_conductance(
            tech, d.cell_type, hw["mem_type"], hw["on_state"], hw["off_state"]
        )
    else:
        g_mean = 0.0
    rows_per_read = min(d.sr, hw["parallel_read"]) if hw["parallel_read"] > 0 else d.sr
    t_wl = comp.wordline_delay(tech, d.sc, d.cell_type)
    # the mux decoder drives the gates of every selected transmission gate, sized to the
    # column with its parallel rows conducting (NeuroSim V1.4: numRowParallel, mean cell)
    r_col = 1.0 / (rows_per_read * g_mean) if g_mean > 0 else math.inf
    t_mux = comp.mux_select_time(tech, d.cm, d.sc, r_col)
    # the bit line settles while the ADC samples: NeuroSim V1.4 computes its delay (colDelay)
    # but leaves it out of the sensing cycle; it counts only where it is longer than the ADC
    t_bl = comp.bitline_settle_time(
        tech, d.sr, d.cell_type, rows_per_read * activity, g_mean, d.adc_bits
    )
    t_adc = comp.adc_time(tech, d.adc_bits, d.adc_type)
    t_read = float(tech["arch"]["beta"]) * (max(t_wl, t_mux) + max(t_bl, t_adc))
    t_clk = max(t_read, 1.0 / float(tech["device"]["clock_Hz"]))
    # output words per array (one per weight = `slices` columns per cell array of the mapping)
    words = math.ceil(d.sc / (d.slices * signed_mapping(str(hw["signed_mapping"])).arrays))
    return Clock(t_read, t_clk, math.ceil(words / d.n_adc), comp.repeated_wire_delay(tech, l_chip))


def layer_latency(
    v: Mapping[str, Any],
    m: LayerMapping,
    d: Design,
    c: Clock,
    tile_side: float,
    copies: int = 1,
) -> dict[str, float]:
    """Latency parts (s) of one layer: compute, accumulation, buffer, interconnect.

    ``copies`` of the weights split the vectors of the arrays and their adder trees; the
    tile buffers and buses still move every vector (NeuroSim V1.4 ``Tile.cpp``: "no matter
    speedup or not, the total number of data transferred is fixed")."""
    vec, rows, cols = v["vectors"], v["rows"], v["cols"]
    vec_pe = math.ceil(vec / max(1, copies))
    t_clk, sc = c.t_clk, d.sc
    w_ps = d.psum_width(m.row_tiles)
    # per input bit: `reads` sensing cycles (read groups x mux); the partial-sum adders and
    # shift-adds are pipelined behind the ADC when they are faster than the sensing cycle
    # (NeuroSim V1.4 SubArray.cpp synchronous mode: readLatencyADC = numColMuxed * numAdd)
    reads = m.max_read_groups * d.cm
    n_compute = vec_pe * d.cycles * reads
    # row-tile partial sums: `passes` words through a pipelined adder tree, plus the signed
    # (offset) subtraction / output register
    n_accum = vec_pe * (c.passes + math.ceil(math.log2(m.row_tiles)) + 1)
    # tile buffer (SRAM, sub_cols-bit port): write unique inputs, read im2col vectors for this
    # tile's row tiles, write outputs; the tile H-tree (sub_cols bits) moves the same vectors to
    # the arrays and partial sums to the adder tree
    uniq = unique_inputs(v)
    rows_tile = min(rows, math.ceil(m.row_tiles / m.tiles) * d.sr)
    cols_tile = math.ceil(cols / max(1, m.tiles // m.row_tiles))
    in_bits = vec * rows_tile * d.ip
    uniq_bits = uniq * d.ip * rows_tile / rows
    out_bits = vec * cols_tile * d.ip
    n_tile_buf = math.ceil((uniq_bits + in_bits + out_bits) / sc)
    tile_wire = comp.repeated_wire_delay(d.tech, tile_side)
    n_tile_bus = math.ceil((in_bits + vec * cols_tile * w_ps) / sc) + math.ceil(tile_wire / t_clk)
    # global buffer (bus_bits port) and chip H-tree: unique inputs in, outputs out
    n_glb = math.ceil((uniq + vec * cols) * d.ip / d.bus_bits)
    n_chip_bus = n_glb + math.ceil(c.t_chip_wire / t_clk)
    return {
        "compute": n_compute * t_clk,
        "accumulation": n_accum * t_clk,
        "buffer": (n_tile_buf + n_glb) * t_clk,
        "interconnect": (n_tile_bus + n_chip_bus) * t_clk,
    }
