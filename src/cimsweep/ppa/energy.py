"""Event counts of one inference of a layer and their dynamic energy (J)."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from cimsweep.ppa import components as comp
from cimsweep.ppa.design import Design, unique_inputs, zeros
from cimsweep.ppa.mapping import LayerMapping


@dataclass(frozen=True)
class UnitEnergies:
    """Energy (J) of one cell read, bit-line, word-line, driver, mux and ADC event."""

    cell: float
    bitline: float
    wordline: float
    driver: float
    mux: float
    adc: float


def unit_energies(d: Design) -> UnitEnergies:
    """Per-event energies of the design point."""
    tech, hw = d.tech, d.hw
    return UnitEnergies(
        # the column conducts for the whole conversion (NeuroSim V1.4 SarADC/MultilevelSenseAmp)
        cell=comp.cell_read_energy(
            tech,
            hw["mem_type"],
            comp.cell_conductance(
                tech, d.cell_type, hw["mem_type"], hw["on_state"], hw["off_state"]
            ),
            max(float(tech["cells"]["sense_time_s"]), comp.adc_time(tech, d.adc_bits, d.adc_type)),
        ),
        bitline=comp.bitline_energy(tech, d.sr, d.cell_type),
        wordline=comp.wordline_energy(tech, d.sc, d.cell_type),
        driver=comp.driver_energy(tech, hw["dac_precision"]),
        mux=comp.mux_energy(tech) if d.cm > 1 else 0.0,
        adc=comp.adc_energy(tech, d.adc_bits, d.adc_type),
    )


def input_activity(v: Mapping[str, Any], tech: Mapping[str, Any]) -> float:
    """Fraction of a layer's input bits that are 1: the layer's ``input_activity`` where its
    geometry carries one (measured on real activations), else ``cells.input_activity``."""
    measured = v.get("input_activity")
    return float(tech["cells"]["input_activity"] if measured is None else measured)


def layer_events(v: Mapping[str, Any], m: LayerMapping, d: Design) -> dict[str, float]:
    """Event counts of one inference of a layer (row activations, reads, conversions, adds,
    buffer bytes)."""
    vec, rows, cols = v["vectors"], v["rows"], v["cols"]
    conversions = vec * d.cycles * m.read_groups * m.cols
    uniq = unique_inputs(v)
    cell_reads = vec * d.cycles * rows * m.cols
    return {
        "row_activations": vec * d.cycles * rows * m.col_tiles,
        "cell_reads": cell_reads,
        # cells whose input bit is 1 conduct: the layer's measured fraction, else the tech's
        "conducting_cell_reads": cell_reads * input_activity(v, d.tech),
        "adc_conversions": conversions,
        # read groups of a row tile are summed at ADC width first (NeuroSim V1.4 SubArray.cpp
        # "add partial sums": an adder per ADC when numAdd > 1), then one weight-slice
        # shift-add per further weight slice of a column group (s slices need s - 1 adds:
        # SubArray.cpp shiftAddWeight, (cells per synapse - 1) per ADC group), one input
        # shift-add per output word
        "group_adds": conversions - vec * d.cycles * m.row_tiles * m.cols,
        "weight_shift_adds": vec * d.cycles * m.row_tiles * m.cols * (d.slices - 1) / d.slices,
        "input_shift_adds": vec * d.cycles * m.row_tiles * cols,
        "psum_adds": vec * cols * m.row_tiles,  # (row_tiles - 1) merges + 1 subtraction
        "unique_inputs": uniq,
        "buffer_read_bytes": (vec * rows + uniq) * d.ip / 8,
        "buffer_write_bytes": (uniq + vec * cols) * d.ip / 8,
    }


def wire_bit_m(
    v: Mapping[str, Any], m: LayerMapping, d: Design, tile_side: float, l_chip: float
) -> tuple[float, float]:
    """Bit-metres a layer moves, (inputs, partial sums and outputs): inputs broadcast once per
    row tile over the tile H-tree (shared wire), partial sums from every row tile to the tile
    adder tree; unique inputs, and outputs, over the chip H-tree."""
    vec, rows, cols = v["vectors"], v["rows"], v["cols"]
    inputs = vec * rows * d.ip * tile_side + unique_inputs(v) * d.ip * l_chip
    outputs = vec * cols * (m.row_tiles * d.psum_width(m.row_tiles) * tile_side + d.ip * l_chip)
    return inputs, outputs


def layer_energy(
    ev: Mapping[str, float],
    bit_m: tuple[float, float],
    m: LayerMapping,
    d: Design,
    u: UnitEnergies,
) -> dict[str, float]:
    """Dynamic energy breakdown (J) of one layer from its event counts and its wire
    bit-metres (inputs, outputs: :func:`wire_bit_m`)."""
    tech, zeta = d.tech, d.zeta
    conversions, row_act = ev["adc_conversions"], ev["row_activations"]
    e = zeros()
    # an SRAM column is charged its whole active-row current in every read group's
    # conversion (NeuroSim V1.4 ProcessingUnit.cpp GetColumnResistance divides the column
    # conductance by the read groups for resistive cells only; SRAM energy grows ~linearly
    # with the groups: x7.3 for 8 groups on the DOE's 14 nm 256 x 256 point, RRAM x2)
    per_read = m.read_groups / m.row_tiles if d.cell_type.startswith("SRAM") else 1.0
    e["array"] = ev["conducting_cell_reads"] * per_read * u.cell + zeta * (
        conversions * u.bitline + row_act * u.wordline
    )
    e["adc"] = zeta * conversions * u.adc
    e["accumulation"] = zeta * (
        ev["group_adds"] * comp.add_energy(tech, d.group_add_width(m.max_read_groups))
        + ev["weight_shift_adds"] * comp.add_energy(tech, d.w_ws, d.ws_register)
        + ev["input_shift_adds"] * comp.add_energy(tech, d.w_sa, d.sa_register)
        + ev["psum_adds"] * comp.add_energy(tech, d.psum_width(m.row_tiles))
    )
    e["buffer"] = zeta * comp.sram_energy(tech, ev["buffer_read_bytes"] + ev["buffer_write_bytes"])
    e["interconnect"] = zeta * comp.wire_energy(tech, *bit_m)
    control = float(d.logic["control_overhead"])
    e["other"] = zeta * (
        row_act * u.driver + conversions * u.mux + control * (e["adc"] + e["accumulation"]) / zeta
    )
    return e
