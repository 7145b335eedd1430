"""Circuit component models: energy (J), area (m^2) and delay (s) of one instance or event.

Every function takes the validated technology mapping (see :mod:`cimsweep.ppa.tech`); the
constants it reads, and their sources, are in ``config/tech/<node>nm.yaml`` and ``docs/ppa.md``.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from typing import Any

Tech = Mapping[str, Any]

# Access-transistor gates on a word line, per cell: 1T1R one, 6T SRAM two (pass gates), 8T
# SRAM one (decoupled read port).
_WL_GATES_PER_CELL = {"1T1R": 1.0, "SRAM6T": 2.0, "SRAM8T": 1.0}


def feature_size(tech: Tech) -> float:
    """Feature size F (m)."""
    return float(tech["device"]["feature_size_m"])


def vdd(tech: Tech) -> float:
    """Supply voltage (V)."""
    return float(tech["device"]["vdd_V"])


def fo4(tech: Tech) -> float:
    """Fan-out-of-4 inverter delay (s)."""
    return float(tech["device"]["fo4_s"])


def min_gate_cap(tech: Tech) -> float:
    """Gate capacitance of a minimum-width (1 F) transistor (F)."""
    return float(tech["device"]["gate_cap_F_per_m"]) * feature_size(tech)


def gate_energy(tech: Tech) -> float:
    """Energy to charge one minimum gate to Vdd, C_g Vdd^2 (J)."""
    return min_gate_cap(tech) * vdd(tech) ** 2


def effective_width(tech: Tech, width_F: float) -> float:
    """Electrical width (m) of a transistor drawn ``width_F`` F wide: the drawn width on a
    planar node, its fins' (sheets') effective width on a FinFET / GAA node (NeuroSim V1.4
    ``formula.cpp`` ``CalculateGateCap`` / ``CalculateOnResistance`` / ``CalculateGateLeakage``:
    ceil(W / 2F) fins of ``Technology.cpp`` ``effective_width``), ``device.leak_width_scale``
    per drawn F (exact for widths in whole fins, 2F each)."""
    return width_F * feature_size(tech) * float(tech["device"]["leak_width_scale"])


def f2(tech: Tech, n: float) -> float:
    """Area of ``n`` F^2 (m^2)."""
    return n * feature_size(tech) ** 2


def logic_area(tech: Tech, n: float) -> float:
    """Area of ``n`` F^2 of standard-cell logic drawn on the planar rule (m^2): scaled by
    ``device.logic_area_scale`` (FinFET / GAA cells take more F^2 for the same transistors)."""
    return f2(tech, n) * float(tech["device"]["logic_area_scale"])


# --- memory cells and the array ------------------------------------------------------------


def cell_dims(tech: Tech, cell_type: str) -> tuple[float, float]:
    """Cell (height, width) (m); height runs along the bit line."""
    h, w = tech["cells"]["dims_F"][cell_type]
    return h * feature_size(tech), w * feature_size(tech)


def cell_area(tech: Tech, cell_type: str) -> float:
    """Cell footprint (m^2)."""
    h, w = cell_dims(tech, cell_type)
    return h * w


def cell_conductance(
    tech: Tech, cell_type: str, mem_type: str, on_state: float, off_state: float
) -> float:
    """Mean conductance of one active cell in a read (S; capacitive: mean capacitance, F).

    Resistive 1T1R: the mean programmed level between ``off_state`` and ``on_state``.
    SRAM: every active row conducts through its access NMOS whatever the stored bit
    (NeuroSim V1.4 ``ProcessingUnit.cpp`` ``GetColumnResistance``: ``1 / (resCellAccess +
    wireResistanceCol)`` per input 1; ``SubArray.cpp`` ``resCellAccess`` =
    ``CalculateOnResistance`` of ``cells.sram_read_width_F``), over its effective width
    (:func:`effective_width`) and with the large-load switching resistance
    ``device.drive_res_factor`` x Vdd / (Ion W) of ``formula.cpp``.
    """
    cells = tech["cells"]
    if cell_type.startswith("SRAM") and mem_type == "resistive":
        w = effective_width(tech, float(cells["sram_read_width_F"]))
        dev = tech["device"]
        r = float(dev["drive_res_factor"]) * vdd(tech) / (float(dev["ion_A_per_m"]) * w)
        return 1.0 / r
    level = float(cells["mean_level"])
    return off_state + level * (on_state - off_state)


def cell_read_energy(
    tech: Tech, mem_type: str, level: float, conduct_s: float | None = None
) -> float:
    """Energy of one active cell in one read (J).

    Resistive: ``cells.column_power_V2`` x G x t with ``level`` = G the mean cell conductance
    (S, :func:`cell_conductance`) and t the time the column conducts, ``conduct_s`` (s; default
    ``cells.sense_time_s``): the power the ADC front end spends per unit of column conductance
    while it holds the column at its read voltage (NeuroSim V1.4 ``SarADC.cpp``
    ``GetColumnPower``, a Cadence fit per node at its ``readVoltage``). NeuroSim charges the
    column current for the whole conversion (``GetColumnPower`` x its latency;
    ``MultilevelSenseAmp.cpp`` likewise), so :func:`cimsweep.ppa.energy.unit_energies` passes
    the ADC's conversion time.
    Capacitive: C * V_read^2 with ``level`` = C the mean programmed capacitance (F).
    """
    cells = tech["cells"]
    if mem_type == "capacitive":
        v = float(cells["read_voltage_V"])
        return level * v * v
    t = float(cells["sense_time_s"]) if conduct_s is None else conduct_s
    return float(cells["column_power_V2"]) * level * t


def bitline_energy(tech: Tech, rows: int, cell_type: str) -> float:
    """Charging one bit line of ``rows`` cells to V_read, C_BL V_read^2 (J)."""
    h, _ = cell_dims(tech, cell_type)
    c_bl = rows * h * float(tech["wire"]["cap_F_per_m"])
    return c_bl * float(tech["cells"]["read_voltage_V"]) ** 2


def wordline_energy(tech: Tech, cols: int, cell_type: str) -> float:
    """Charging one word line across ``cols`` cells (wire + access gates) to Vdd (J).

    SRAM: the access NMOS is ``cells.sram_read_width_F`` wide (NeuroSim V1.4 ``SubArray.cpp``
    ``capRow1``: ``widthAccessCMOS`` x 2 at <= 14 nm) and loads the line over its effective
    width (``formula.cpp`` ``CalculateGateCap``: fins of effective width at FinFET / GAA
    nodes, :func:`effective_width`). 1T1R: ``cells.access_gate_width_F`` of drawn width.
    """
    _, w = cell_dims(tech, cell_type)
    c_wire = cols * w * float(tech["wire"]["cap_F_per_m"])
    cells = tech["cells"]
    if cell_type.startswith("SRAM"):
        gate_w = effective_width(tech, float(cells["sram_read_width_F"]))
    else:
        gate_w = float(cells["access_gate_width_F"]) * feature_size(tech)
    c_gates = (
        cols * _WL_GATES_PER_CELL[cell_type] * gate_w * float(tech["device"]["gate_cap_F_per_m"])
    )
    return (c_wire + c_gates) * vdd(tech) ** 2


def driver_energy(tech: Tech, dac_bits: int) -> float:
    """Word-line driver / input DAC self energy per row activation (J).

    A 1-bit input is an inverter-chain driver; a d-bit DAC switches (2^d - 1) unit drivers.
    """
    units = 2**dac_bits - 1
    return units * float(tech["logic"]["wl_driver_gates"]) * gate_energy(tech)


def mux_energy(tech: Tech) -> float:
    """Column-mux select energy per column read (J)."""
    return float(tech["logic"]["mux_gates"]) * gate_energy(tech)


# --- ADC ------------------------------------------------------------------------------------


def comparator_energy(tech: Tech) -> float:
    """One comparator decision (J)."""
    return float(tech["adc"]["comparator_gates"]) * gate_energy(tech)


def adc_energy(tech: Tech, bits: int, adc_type: str) -> float:
    """Energy per conversion (J), without the column current (in :func:`cell_read_energy`).

    flash: NeuroSim's current-mode multilevel sense amplifier (``MultilevelSenseAmp.cpp``,
    ``levelOutput - 1`` current comparators per column, each switching ``mlsa_unit_gates``
    min-gate loads) plus a thermometer encoder (one register load per output bit).
    SAR: ``bits`` decisions, each a comparator plus SAR logic and CDAC switching.
    """
    adc = tech["adc"]
    eg = gate_energy(tech)
    if adc_type == "flash":
        return (2**bits - 1) * float(adc["mlsa_unit_gates"]) * eg + bits * float(
            tech["logic"]["register_J_per_bit"]
        )
    per_bit = (
        comparator_energy(tech)
        + (float(adc["sar_logic_gates_per_bit"]) + float(adc["sar_cdac_unit_gates"])) * eg
    )
    return bits * per_bit


def adc_area(tech: Tech, bits: int, adc_type: str) -> float:
    """Footprint of one ADC (m^2): flash ~ 2^bits S/A levels, SAR ~ bits (NeuroSim V1.4
    ``SarADC.cpp`` area grows linearly with the bits, ``MultilevelSenseAmp.cpp`` with the
    levels)."""
    adc = tech["adc"]
    if adc_type == "flash":
        n = (2**bits - 1) * float(adc["mlsa_unit_area_F2"]) + bits * float(
            adc["encoder_area_per_bit_F2"]
        )
    else:
        n = float(adc["comparator_area_F2"]) + bits * float(adc["sar_area_per_bit_F2"])
    return logic_area(tech, n)


def comparator_time(tech: Tech) -> float:
    """One regenerative comparator decision, ``comparator_delay_fo4`` FO4 (s)."""
    return float(tech["adc"]["comparator_delay_fo4"]) * fo4(tech)


def adc_time(tech: Tech, bits: int, adc_type: str) -> float:
    """Conversion time (s).

    flash: the current-mode multilevel sense amplifier resolves all ``2^bits - 1`` levels at
    once in ``mlsa_sense_time_s`` (NeuroSim ``MultilevelSenseAmp``), then a
    thermometer-to-binary encoder of ``bits`` gate levels (1 FO4 each).
    SAR: ``bits + 1`` cycles of ``sar_cycle_s`` (NeuroSim V1.4 ``SarADC.cpp``: (bits + 1) ns
    at every node).
    """
    if adc_type == "flash":
        t_sa = max(float(tech["adc"]["mlsa_sense_time_s"]), comparator_time(tech))
        return t_sa + bits * fo4(tech)
    return (bits + 1) * float(tech["adc"]["sar_cycle_s"])


# --- read-cycle timing ----------------------------------------------------------------------


def on_resistance(tech: Tech, width_F: float) -> float:
    """Effective switching resistance of an NMOS of ``width_F`` F, 0.75 Vdd / Ion (Ohm).

    Rabaey, Chandrakasan, Nikolic, Digital Integrated Circuits, 2nd ed., Sec. 3.3.
    """
    ion = float(tech["device"]["ion_A_per_m"]) * width_F * feature_size(tech)
    return 0.75 * vdd(tech) / ion


def wire_res_per_m(tech: Tech) -> float:
    """Wire resistance per metre, rho / (width * width * aspect_ratio) (Ohm/m)."""
    wire = tech["wire"]
    w = float(wire["width_m"])
    return float(wire["resistivity_ohm_m"]) / (w * w * float(wire["aspect_ratio"]))


def settle_periods(bits: int) -> float:
    """Time constants for a first-order node to settle within half an LSB of ``bits``."""
    return math.log(2.0 ** (bits + 1))


def wordline_delay(tech: Tech, cols: int, cell_type: str) -> float:
    """Word line (input) turn-on (s): a driver sized to its load, then the distributed line.

    NeuroSim V1.4 sizes the word-line switch matrix per node (``Param.cpp`` sizing factors,
    repeaters at 2/1 nm) and counts its 50 % (Horowitz) delay, not a settling to an LSB: an
    optimally tapered chain from a ``wl_driver_width_F`` gate takes ``log4(C_load / C_in)``
    FO4, and the line's wire resistance into wire + access-gate load
    ``0.69 R_w (C_w / 2 + C_gates)``.
    """
    _, w = cell_dims(tech, cell_type)
    length = cols * w
    c_wire = length * float(tech["wire"]["cap_F_per_m"])
    c_gates = (
        cols
        * _WL_GATES_PER_CELL[cell_type]
        * float(tech["cells"]["access_gate_width_F"])
        * min_gate_cap(tech)
    )
    c_in = float(tech["logic"]["wl_driver_width_F"]) * min_gate_cap(tech)
    stages = max(1.0, math.log((c_wire + c_gates) / c_in, 4))
    r_wire = length * wire_res_per_m(tech)
    return stages * fo4(tech) + 0.69 * r_wire * (0.5 * c_wire + c_gates)


def bitline_settle_time(
    tech: Tech, rows: int, cell_type: str, active_rows: float, cell_g: float, bits: int
) -> float:
    """Bit line settling: its capacitance through the parallel active cells (s).

    ``cell_g`` is the mean cell conductance (S); capacitive cells (``cell_g <= 0``) settle
    through their access transistors. Wire + access-drain capacitance (~ gate cap per width).
    """
    h, _ = cell_dims(tech, cell_type)
    c_bl = rows * (
        h * float(tech["wire"]["cap_F_per_m"])
        + float(tech["cells"]["access_gate_width_F"]) * min_gate_cap(tech)
    )
    n = max(active_rows, 1.0)
    if cell_g > 0:
        r_col = 1.0 / (n * cell_g)
    else:
        r_col = on_resistance(tech, float(tech["cells"]["access_gate_width_F"])) / n
    return c_bl * r_col * settle_periods(bits)


def mux_select_time(
    tech: Tech, column_mux: int, cols: int = 0, column_res_ohm: float = math.inf
) -> float:
    """Column-mux select (s): log2(mux) decoder levels + driver + transmission gate, 1 FO4
    each, plus the decoder's final driver charging the gates of the ``cols / column_mux``
    transmission gates it selects (:func:`mux_drive_time`; 0 without ``cols``)."""
    if column_mux <= 1:
        return 0.0
    logic = (math.ceil(math.log2(column_mux)) + 2) * fo4(tech)
    return logic + mux_drive_time(tech, cols / column_mux, column_res_ohm)


def mux_gate_width(tech: Tech, column_res_ohm: float) -> float:
    """Gate width (m) of one column-mux transmission gate, NMOS + PMOS.

    The gate is sized so that it drops at most a quarter of the read voltage in series with
    the column it passes (``column_res_ohm``: the bit line with its active cells), each device
    of the pair taking half: ``R_N = R_P = 2 x 0.25 R_col`` with the linear-region resistance
    ``Vdd / (Ion W)``; the PMOS is ``device.pn_ratio`` wider (NeuroSim V1.4 ``Mux.cpp`` sizes
    its analog mux the same way, ``IR_DROP_TOLERANCE`` = 0.25). Low-resistance columns (all
    rows in parallel) need very wide gates: 45 um of NMOS at 130 nm for a 155 Ohm column.
    """
    if not math.isfinite(column_res_ohm) or column_res_ohm <= 0:
        return 0.0
    w_n = vdd(tech) / (float(tech["device"]["ion_A_per_m"]) * 0.5 * column_res_ohm)
    return w_n * (1.0 + float(tech["device"]["pn_ratio"]))


def mux_drive_time(tech: Tech, gates: float, column_res_ohm: float) -> float:
    """The mux decoder's final inverter charging ``gates`` transmission-gate pairs (s).

    ``ln 2 R_drv C`` with ``C = gates x`` :func:`mux_gate_width` ``x C_g`` and the driver a
    ``4 x logic.mux_driver_sizing`` F inverter of switching resistance
    ``device.drive_res_factor x Vdd / (Ion W)``. NeuroSim V1.4 sizes this driver per node
    (``Param.cpp`` ``sizingfactor_MUX``: 110 at 22 nm, 25-130 below, and its default of 1 at
    32-130 nm), so at 32-130 nm a minimum driver charges nanofarads of gate per micron and
    the select takes 19-74 ns for a 128 x 128 array with 8:1 muxing: the sensing cycle grows
    from 8.65 ns at 22 nm to 35-112 ns there (measured with NeuroSim V1.4, docs/ppa.md).
    """
    c_load = (
        gates * mux_gate_width(tech, column_res_ohm) * float(tech["device"]["gate_cap_F_per_m"])
    )
    if c_load <= 0:
        return 0.0
    w_drv = 4.0 * float(tech["logic"]["mux_driver_sizing"]) * feature_size(tech)
    r_drv = (
        float(tech["device"]["drive_res_factor"])
        * vdd(tech)
        / (float(tech["device"]["ion_A_per_m"]) * w_drv)
    )
    return math.log(2.0) * r_drv * c_load


def repeated_wire_delay(tech: Tech, length_m: float) -> float:
    """Delay of an optimally repeated wire of ``length_m`` (s).

    Bakoglu: ~ 2 sqrt(0.69 r c tau_inv) per metre with tau_inv ~ FO4 / 5 (Ho, Mai, Horowitz,
    Proc. IEEE 89(4), 2001).
    """
    rc = wire_res_per_m(tech) * float(tech["wire"]["cap_F_per_m"])
    return length_m * 2.0 * math.sqrt(0.69 * rc * fo4(tech) / 5.0)


# --- digital ---------------------------------------------------------------------------------


def add_energy(tech: Tech, bits: float, register_bits: float | None = None) -> float:
    """One ``bits``-wide ripple add plus its result register of ``register_bits`` (default
    ``bits``) clocked once (J)."""
    logic = tech["logic"]
    reg = bits if register_bits is None else register_bits
    return bits * float(logic["adder_J_per_bit"]) + reg * float(logic["register_J_per_bit"])


def adder_area(tech: Tech, bits: float, register_bits: float | None = None) -> float:
    """A ``bits``-wide adder with its register of ``register_bits`` (default ``bits``) (m^2)."""
    logic = tech["logic"]
    reg = bits if register_bits is None else register_bits
    return logic_area(
        tech, bits * float(logic["full_adder_area_F2"]) + reg * float(logic["dff_area_F2"])
    )


def sram_energy(tech: Tech, nbytes: float) -> float:
    """Accessing ``nbytes`` of an SRAM buffer (J)."""
    return nbytes * float(tech["sram_buffer"]["access_J_per_byte"])


def sram_area(tech: Tech, nbytes: float) -> float:
    """SRAM buffer macro of ``nbytes`` capacity, 6T cells plus periphery (m^2)."""
    buf = tech["sram_buffer"]
    return nbytes * 8 * cell_area(tech, "SRAM6T") / float(buf["array_efficiency"])


# --- interconnect ---------------------------------------------------------------------------


def wire_energy(tech: Tech, input_bit_m: float, output_bit_m: float = 0.0) -> float:
    """Moving input activations over ``input_bit_m`` and partial sums / outputs over
    ``output_bit_m`` bit-metres of wire (J): each toggling bit costs C_w Vdd^2 / 2 per metre,
    inputs toggle ``wire.input_toggle``, outputs ``wire.output_toggle`` of the time (NeuroSim
    V1.4 ``HTree.cpp`` / ``Bus.cpp`` with ``Param.cpp`` inputtoggle / outputtoggle)."""
    wire = tech["wire"]
    toggled = input_bit_m * float(wire["input_toggle"])
    toggled += output_bit_m * float(wire["output_toggle"])
    return toggled * 0.5 * float(wire["cap_F_per_m"]) * vdd(tech) ** 2


def bus_area(tech: Tech, bits: float, length_m: float) -> float:
    """Footprint of a ``bits``-wide bus ``length_m`` long (m^2)."""
    wire = tech["wire"]
    return bits * float(wire["pitch_factor"]) * float(wire["width_m"]) * length_m


def htree_length(area_m2: float) -> float:
    """Root-to-leaf length of an H-tree spanning a square of ``area_m2`` (m): ~ its side."""
    return math.sqrt(max(area_m2, 0.0))


# --- leakage --------------------------------------------------------------------------------


def leakage_power(tech: Tech, periphery_area_m2: float, sram_cells: float = 0.0) -> float:
    """Static power (W) of CMOS periphery of a given area plus ``sram_cells`` SRAM bit cells.

    Transistor width is estimated as ``leak_width_per_area`` F per F^2 of periphery; at FinFET
    / GAA nodes it leaks over ``device.leak_width_scale`` times its drawn width (NeuroSim V1.4
    ``formula.cpp`` ``CalculateGateLeakage``: fins of its effective width per 2 F).
    """
    f = feature_size(tech)
    width = float(tech["arch"]["leak_width_per_area"]) * periphery_area_m2 / f
    width += sram_cells * float(tech["cells"]["sram_cell_leak_width_F"]) * f
    width *= float(tech["device"]["leak_width_scale"])
    return width * float(tech["device"]["ioff_A_per_m"]) * vdd(tech)
