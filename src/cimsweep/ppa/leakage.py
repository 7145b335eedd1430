"""Leakage power of a pipelined chip as NeuroSim V1.4 averages it (W)."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from cimsweep.ppa import components as comp
from cimsweep.ppa.area import leaking
from cimsweep.ppa.design import Design
from cimsweep.ppa.mapping import LayerMapping


def idle_leakage(
    tech: Mapping[str, Any],
    chip_area: Mapping[str, float],
    areas: Sequence[Mapping[str, float]],
    maps: Sequence[LayerMapping],
    extra: Sequence[int],
    layers: Sequence[Mapping[str, Any]],
    d: Design,
    idle: Sequence[float],
    htree: Sequence[float] = (),
) -> float:
    """Pipeline leakage power (W) as NeuroSim V1.4 averages it (``main.cpp``, "average leakage
    power considering read latency"): a layer's periphery is charged while it waits for the
    slowest layer, ``1 - t_i / T_i`` of the period (``T_i``: the slowest of layers 1..i, the
    running maximum ``main.cpp`` divides by), its SRAM cells while it computes, ``t_i / T``;
    the chip-level buffer and bus leak all the time. Selected by the technology setting
    ``arch.pipeline_leakage: idle`` (a calibration to NeuroSim V1.4 carries it); the default,
    ``always``, charges every transistor for the whole period. ``idle``: each layer's area
    without leaking transistors (m², :func:`cimsweep.ppa.area.idle_area`); ``htree``: each
    layer's tile H-tree repeater leakage (W, :func:`cimsweep.ppa.area.tile_htree_leakage`),
    periphery like the rest of its tiles (NeuroSim's tileLeakage holds hTree leakage)."""
    layer_periph = [leaking(tech, a) for a in areas]
    chip_periph = leaking(tech, chip_area) - sum(layer_periph)
    layer_periph = [p - x for p, x in zip(layer_periph, idle, strict=True)]
    power = comp.leakage_power(tech, max(chip_periph, 0.0))
    sram = d.cell_type.startswith("SRAM")
    period = 0.0
    h = list(htree) or [0.0] * len(maps)
    for periph, m, n, r, hl in zip(layer_periph, maps, extra, layers, h, strict=True):
        # NeuroSim takes the period as it goes: the slowest of the layers so far
        period = max(period, r["latency_s"])
        busy = r["latency_s"] / period
        power += (comp.leakage_power(tech, periph) + hl) * (1.0 - busy)
        if sram:
            power += comp.leakage_power(tech, 0.0, m.allocated_arrays * n * d.sr * d.sc) * busy
    return power
