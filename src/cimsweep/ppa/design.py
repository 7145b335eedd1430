"""Derived constants of one analytical design point, shared by the area/energy/latency parts."""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from cimsweep.layout import column_tiles, crossbar_columns, n_input_slices, n_weight_slices

BREAKDOWN_KEYS = ("array", "adc", "accumulation", "buffer", "interconnect", "other")


def zeros() -> dict[str, float]:
    """A breakdown dictionary with every component at 0."""
    return dict.fromkeys(BREAKDOWN_KEYS, 0.0)


@dataclass(frozen=True)
class Design:
    """The normalized hardware point, its technology and the counts derived from them.

    sr, sc: subarray rows/columns; cm: columns per ADC; slices: cells per weight; cycles: input
    slices per input; n_adc: ADCs per subarray; w_ws, w_sa: weight-slice and input shift-add
    adder widths (bit) as NeuroSim V1.4 sizes them (``SubArray.cpp``: the ADC output, and it
    plus the cells per weight): a shift-add only adds its input onto the unfinished high bits,
    the finished low bits shift into a register (:meth:`ws_register`, :meth:`sa_register`);
    w_out: the finished output word (ADC + weight + input bits); alpha, zeta: wiring-area and
    energy fit factors; tile_buffer (bytes).
    """

    hw: Mapping[str, Any]
    tech: Mapping[str, Any]
    spp: int
    ppt: int
    sr: int
    sc: int
    wp: int
    ip: int
    adc_bits: int
    adc_type: str
    cell_type: str
    cm: int
    slices: int
    cycles: int
    n_adc: int
    w_ws: int
    w_sa: int
    w_out: int
    alpha: float
    zeta: float
    tile_buffer: float
    bus_bits: int

    def crossbar_columns(self, cols: int) -> int:
        """Physical crossbar columns of a layer of ``cols`` outputs under this point's
        ``signed_mapping`` and ``offset_reference`` (:func:`cimsweep.layout.crossbar_columns`)."""
        hw = self.hw
        return crossbar_columns(
            cols, self.sc, self.slices, hw["signed_mapping"], hw["offset_reference"]
        )

    def column_tiles(self, cols: int) -> tuple[int, int]:
        """(outputs per subarray, subarrays across the columns) of a layer of ``cols``
        outputs, as the simulator places them (:func:`cimsweep.layout.column_tiles`)."""
        hw = self.hw
        return column_tiles(
            cols, self.sc, self.slices, hw["signed_mapping"], hw["offset_reference"]
        )

    @property
    def logic(self) -> Mapping[str, Any]:
        """The technology file's ``logic`` section."""
        return self.tech["logic"]

    def group_add_width(self, read_groups: int) -> int:
        """Width (bit) of the adder summing ``read_groups`` ADC outputs of one column."""
        return self.adc_bits + math.ceil(math.log2(read_groups)) if read_groups > 1 else 0

    @property
    def ws_register(self) -> int:
        """Register bits of a weight-slice shift-adder: its sum plus one shifted-out bit per
        further slice (NeuroSim V1.4 ``ShiftAdd.cpp`` numDff = adder bits + 1 + pulses - 1)."""
        return self.w_ws + self.slices

    @property
    def sa_register(self) -> int:
        """Register bits of an input shift-adder (as :attr:`ws_register`, per input cycle)."""
        return self.w_sa + self.cycles

    def psum_width(self, row_tiles: int) -> int:
        """Width (bit) of a row-tile partial sum."""
        return self.w_out + math.ceil(math.log2(row_tiles)) if row_tiles > 1 else self.w_out


def design(hw: Mapping[str, Any], tech: Mapping[str, Any]) -> Design:
    """The :class:`Design` of a normalized ``hw`` in ``tech``."""
    arch = tech["arch"]
    sr, sc = hw["sub_array"]
    wp, ip = hw["weight_precision"], hw["input_precision"]
    adc_bits = hw["adc_precision"]
    cm = min(hw["column_mux"], sc)
    return Design(
        hw=hw,
        tech=tech,
        spp=int(arch["subarrays_per_pe"]),
        ppt=int(arch["pes_per_tile"]),
        sr=sr,
        sc=sc,
        wp=wp,
        ip=ip,
        adc_bits=adc_bits,
        adc_type=hw["adc_type"],
        cell_type=hw["cell_type"],
        cm=cm,
        # cells per weight and array, as the simulator maps them (cimsweep.cim.mapping)
        slices=n_weight_slices(wp, hw["bitcell"], hw["signed_mapping"]),
        cycles=n_input_slices(ip, hw["dac_precision"]),
        n_adc=math.ceil(sc / cm),
        w_ws=adc_bits,
        w_sa=adc_bits + n_weight_slices(wp, hw["bitcell"], hw["signed_mapping"]),
        w_out=adc_bits + wp + ip,
        alpha=float(arch["wiring_area_factor"]),
        zeta=float(arch["zeta"]),
        tile_buffer=float(tech["sram_buffer"]["tile_buffer_bytes"]),
        bus_bits=int(tech["wire"]["bus_bits"]),
    )


def unique_inputs(v: Mapping[str, Any]) -> float:
    """Distinct input values of a layer (a conv layer's feature map, not its im2col rows)."""
    if v["kind"].startswith("conv"):
        kh, kw = v["kernel"]
        return v["vectors"] * v["rows"] / (kh * kw)
    return float(v["rows"])


def pipeline_duplication(views: list[dict[str, Any]], d: Design) -> list[int]:
    """Weight copies per layer in pipeline mode, NeuroSim V1.4's rule (``Chip.cpp``
    ``ChipDesignInitialize``): with the largest input map ``S_max``, the smallest conv input map
    ``S_min`` and ``k = min(speed_up_degree, S_max // S_min)``, a layer with input map ``S``
    gets ``ceil((S / ceil(S_max / k))^2)`` copies (FC layers: input map 1). The technology
    file's optional ``arch.pipeline_speedup_degree`` sets the degree: absent = 1 (no copies);
    NeuroSim V1.4's default is 8 (``Param.cpp:108`` ``speedUpDegree``)."""
    degree = int(d.tech["arch"].get("pipeline_speedup_degree", 1))
    sizes = [int(v["out_hw"][0]) if v["kind"].startswith("conv") else 1 for v in views]
    convs = [s for s, v in zip(sizes, views, strict=True) if tuple(v["kernel"]) != (1, 1)]
    s_max = max(sizes)
    s_min = min(convs) if convs else s_max
    k = max(1, min(degree, s_max // max(1, s_min)))
    bound = math.ceil(s_max / k)
    return [max(1, math.ceil((s / bound) ** 2)) for s in sizes]


def spare_duplication(arrays: int, allocated_arrays: int) -> int:
    """Copies of a layer's weights that fit in the idle subarrays of its own tiles.

    NeuroSim V1.4 (``Chip.cpp`` ``SubArrayDup`` / ``PEDesign``) copies a small layer's matrix
    into the unused subarrays of its PE and the unused PEs of its tile in every mode and splits
    the layer's input vectors over the copies: it costs no area, only programming. Counted here
    on the flat allocation: ``allocated_arrays // arrays`` (>= 1).
    """
    return max(1, allocated_arrays // max(1, arrays))


# the tech files' access_gate_width_F is sized for this on-resistance (docs/ppa.md)
ACCESS_SIZED_FOR_OHM = 6e3


def size_access_transistor(tech: Mapping[str, Any], hw: Mapping[str, Any]) -> Mapping[str, Any]:
    """``tech`` with the 1T1R access transistor sized for the point's on-resistance.

    NeuroSim's rule (``SubArray.cpp``: linear-region resistance <= 0.25 R_on) makes the width
    inversely proportional to R_on = 1 / on_state; the tech file's width is the one for 6 kOhm.
    Other cells (SRAM) and capacitive devices keep the tech file's value. Width >= 1 F.
    """
    if hw["cell_type"] != "1T1R" or hw["mem_type"] != "resistive":
        return tech
    base = float(tech["cells"]["access_gate_width_F"])
    width = max(1.0, base * ACCESS_SIZED_FOR_OHM * float(hw["on_state"]))
    if width == base:
        return tech
    return {**tech, "cells": {**tech["cells"], "access_gate_width_F": width}}
