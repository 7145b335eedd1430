"""The read cycle and clock, and each layer's latency (s) counted in clock cycles."""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from cimsweep.ppa import components as comp
from cimsweep.ppa.dataflow import ChipBus, TileShape, chip_cycles, tile_cycles
from cimsweep.ppa.design import Design
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


@dataclass(frozen=True)
class LayerFlow:
    """How a layer's data moves: shape: its tile; chip: the chip's bus and global buffer;
    kept: the share of its outputs that goes back to the global buffer (1, or 1/4 after a
    2 x 2 pooling: the next layer's distinct inputs / this layer's outputs)."""

    shape: TileShape
    chip: ChipBus
    kept: float = 1.0


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
    flow: LayerFlow,
    copies: int = 1,
) -> dict[str, float]:
    """Latency parts (s) of one layer: compute, accumulation, buffer, interconnect.

    ``copies`` of the weights split the vectors of the arrays and their adder trees; the
    tile buffers and buses still move every vector (NeuroSim V1.4 ``Tile.cpp``: "no matter
    speedup or not, the total number of data transferred is fixed"). ``tile_side``: a tile's
    side (m); ``flow``: its tile, the chip's bus and how much of its output goes on
    (:mod:`cimsweep.ppa.dataflow`)."""
    vec, rows, cols = v["vectors"], v["rows"], v["cols"]
    vec_pe = math.ceil(vec / max(1, copies))
    t_clk = c.t_clk
    # per input bit: `reads` sensing cycles (read groups x mux); the partial-sum adders and
    # shift-adds are pipelined behind the ADC when they are faster than the sensing cycle
    # (NeuroSim V1.4 SubArray.cpp synchronous mode: readLatencyADC = numColMuxed * numAdd)
    reads = m.max_read_groups * d.cm
    n_compute = vec_pe * d.cycles * reads
    # row-tile partial sums: `passes` words through a pipelined adder tree, plus the signed
    # (offset) subtraction / output register
    n_accum = vec_pe * (c.passes + math.ceil(math.log2(m.row_tiles)) + 1)
    tile_wire = max(1, math.ceil(comp.repeated_wire_delay(d.tech, tile_side) / t_clk))
    n_tile_buf, n_tile_bus = tile_cycles(vec, m, cols / m.cols, flow.shape, d, tile_wire)
    # the chip's global buffer sends the im2col inputs (a kernel-split tile gets each input
    # row once per kernel row) and takes back the (pooled) outputs
    in_bits = rows * d.ip * vec / (v["kernel"][0] if flow.shape.split else 1)
    out_bits = cols * d.ip * vec * flow.kept
    n_glb, n_chip_bus = chip_cycles(in_bits, out_bits, flow.shape.grid, flow.chip)
    return {
        "compute": n_compute * t_clk,
        "accumulation": n_accum * t_clk,
        "buffer": (n_tile_buf + n_glb) * t_clk,
        "interconnect": (n_tile_bus + n_chip_bus) * t_clk,
    }
