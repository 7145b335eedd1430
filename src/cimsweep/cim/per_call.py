"""Per-call chips (NeuroSim's reading of read noise and drift): cells programmed once, then
perturbed afresh at every call (or every input cycle) and read on the noise-free fast path."""

from __future__ import annotations

from typing import TYPE_CHECKING

import torch

from cimsweep.cim import cycle_read, devices, semantics
from cimsweep.cim.chip import Chip, LayerStats

if TYPE_CHECKING:
    from cimsweep.cim.engine import LayerEngine


def program_per_call(engine: LayerEngine, generator: torch.Generator) -> Chip:
    """A chip whose cells are perturbed afresh at every call (:meth:`perturbed`): the
    programmed levels and stuck masks, drift and read noise left for each call."""
    sim = engine.sim
    if semantics.drift_per_read(sim):
        n0 = devices.program_cells(engine.levels, engine.cells, float(sim["prog_noise"]), generator)
        masks = devices.stuck_masks(
            n0, float(sim["rate_stuck_0"]), float(sim["rate_stuck_1"]), generator
        )
    else:  # drift (if any) once per instance, with the stuck cells
        n0 = devices.chip_levels(engine.levels, engine.cell_levels, sim, generator, engine.cells)
        masks = None
    return Chip([], None, None, n0, masks)


def perturbed(
    engine: LayerEngine,
    chip: Chip,
    generator: torch.Generator,
    noise: devices.NoiseStream | None = None,
) -> Chip:
    """One call's cells of a per-call chip: drift (``drift_resample = read``) and one
    draw of cell read noise (:attr:`cell_noise`), as unit products the ADC sees."""
    assert chip.n0 is not None
    k = engine.cell_levels - 1
    n = chip.n0
    if semantics.drift_per_read(engine.sim):
        model = devices.drift_model(engine.sim)
        n = model.apply(
            n.clone(), cell_levels=engine.cell_levels, c=engine.c_cell, generator=generator
        )
        n = devices.apply_stuck(n, chip.masks)
    g = n * k + engine.c_cell  # conductance, unit levels
    units = g - engine.c_cell + engine.c  # what the column sums before the ADC
    if engine.cell_noise is not None:
        read_model = engine.cell_noise.model

        def draw(x: torch.Tensor) -> torch.Tensor:  # one draw of noise, unit levels
            if noise is None:
                return read_model.perturb(x, engine.cell_levels, generator)
            eps = noise.standard_normal(tuple(x.shape))  # the stream's fast normals
            return eps.mul_(read_model.std(x, engine.cell_levels))

        units = units + draw(g)
        if engine.c != engine.c_cell:  # subtracted off-state reference: one cell per row
            units = units - draw(torch.full_like(g[..., :1], engine.c_cell))
    return Chip(engine._bucket_weights(units.contiguous()), None, chip.scale)


def analog_per_call(
    engine: LayerEngine,
    codes: torch.Tensor,
    chip: Chip,
    noise: devices.NoiseStream,
    stats: LayerStats | None,
) -> torch.Tensor:
    """Physical column sums with cells perturbed once per call, or once per call and
    input slice (``read_noise_resample = cycle``, drift per read): noise-free fast
    reads of the perturbed cells (plus any per-read output noise). On the compiled kernel,
    read noise without per-read drift takes :func:`.cycle_read.analog` (the same numbers)."""
    if cycle_read.applies(engine, chip, codes.device):
        return cycle_read.analog(engine, codes, chip, noise, stats)
    gen = noise.generator()
    cycle = semantics.drift_per_read(engine.sim) or (
        engine.cell_noise is not None and engine.cell_noise.per_cycle
    )
    if not cycle or engine.n_x == 1:
        return engine._analog(codes, engine.perturbed(chip, gen, noise), noise, stats)
    ci = codes.to(torch.int32)
    mask = (1 << engine.dac) - 1
    out = None
    for b in range(engine.n_x):
        part = torch.bitwise_and(ci >> (engine.dac * b), mask).to(codes.dtype)
        y = engine._analog(part, engine.perturbed(chip, gen, noise), noise, stats, n_x=1)
        y.mul_(2.0 ** (engine.dac * b))
        out = y if out is None else out.add_(y)
    assert out is not None
    return out
