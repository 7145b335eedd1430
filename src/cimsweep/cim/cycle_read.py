"""Compiled reads of per-call chips: NeuroSim V1.5's read noise (one draw per cell, shared by
the batch, per call or per input cycle) without building perturbed cells in torch.

For every draw (one call, or one DAC input cycle with ``read_noise_resample = cycle``) the
cells' normals come from the layer's counter-based noise stream (:mod:`.kernel`, the same
calls and indices as :func:`.per_call.perturbed`), and ``cim_cycle_read`` in ``_kernel.c``
perturbs each chunk's cells from the programmed levels and reads them in one compiled call.
The numbers are those of :func:`.per_call.analog_per_call` on the compiled kernel, bit for bit
(same float32 operations in the same order); elsewhere that torch path runs unchanged.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import torch

from cimsweep.cim import kernel, semantics
from cimsweep.cim.chip import Chip, LayerStats
from cimsweep.cim.devices import NoiseStream
from cimsweep.cim.models.noise import AdditiveNoise, MultiplicativeNoise, ReadNoiseModel

if TYPE_CHECKING:
    from cimsweep.cim.engine import LayerEngine

# read-noise models the kernel computes: 0 level-independent std, 1 std proportional to G
LAWS: dict[type[ReadNoiseModel], int] = {AdditiveNoise: 0, MultiplicativeNoise: 1}


def applies(engine: LayerEngine, chip: Chip, device: torch.device) -> bool:
    """Whether :func:`analog` serves this per-call chip: cell read noise of a law in
    :data:`LAWS`, no per-read drift (drawn in torch), compiled kernel, no output-noise table."""
    cn = engine.cell_noise
    return (
        cn is not None
        and type(cn.model) in LAWS
        and not semantics.drift_per_read(engine.sim)
        and engine.out_table is None
        and chip.n0 is not None
        and chip.n0.dtype == torch.float32
        and kernel.fused(device)
    )


def analog(
    engine: LayerEngine,
    codes: torch.Tensor,
    chip: Chip,
    noise: NoiseStream,
    stats: LayerStats | None,
) -> torch.Tensor:
    """Physical column sums (M, phys_cols) of a per-call chip whose cells are perturbed once
    per call, or once per input cycle (see :func:`applies` for when it serves)."""
    cn, n0 = engine.cell_noise, chip.n0
    assert cn is not None and n0 is not None
    noise.generator()  # the call index the torch path's per-call generator takes
    n0 = n0.contiguous()
    levels = engine.cell_levels
    law = LAWS[type(cn.model)]
    sig = cn.model.sigma if law else float(cn.model.std(n0, levels))  # float32 in the kernel
    ref_std = cn.model.std(torch.full((1,), engine.c_cell, dtype=n0.dtype), levels)
    has_ref = engine.c != engine.c_cell  # subtracted off-state reference: one cell per row
    cells = (float(levels - 1), engine.c_cell, engine.c, law, sig, float(ref_std))
    if not cn.per_cycle or engine.n_x == 1:
        return _draw(engine, codes, chip, n0, cells, has_ref, noise, stats, None)
    out = None
    for b in range(engine.n_x):
        y = _draw(engine, codes, chip, n0, cells, has_ref, noise, stats, engine.dac * b)
        y.mul_(2.0 ** (engine.dac * b))
        out = y if out is None else out.add_(y)
    assert out is not None
    return out


def _draw(
    engine: LayerEngine,
    codes: torch.Tensor,
    chip: Chip,
    n0: torch.Tensor,
    cells: tuple[float, float, float, int, float, float],
    has_ref: bool,
    noise: NoiseStream,
    stats: LayerStats | None,
    shift: int | None,
) -> torch.Tensor:
    """Column sums of one draw of the cells: all input slices (``shift`` None) or the slice
    at bit ``shift`` alone. Chunks, operands and order as :meth:`LayerEngine._analog`."""
    w_slices, rows_total, pc = n0.shape
    eps = noise.standard_normal((w_slices, rows_total, pc))
    eps_ref = noise.standard_normal((w_slices, rows_total, 1)) if has_ref else None
    m_total, device = codes.shape[0], codes.device
    n_x = engine.n_x if shift is None else 1
    coef_x = (2.0 ** (engine.dac * torch.arange(n_x, dtype=torch.float64))).float()
    step, slice_w = engine.step, engine.map.slice_weights()
    codes = codes.to(torch.float32)
    variances = (
        float(torch.tensor(engine.read_sigma**2, dtype=torch.float32)),
        float(torch.tensor(engine.out_sigma**2, dtype=torch.float32)),
    )
    out = torch.zeros(m_total, pc, device=device, dtype=torch.float32)
    clipped = 0
    buckets = zip(engine.buckets, engine.bucket_first, strict=True)
    for (_size, idx, rows), first in buckets:
        g_b = rows.shape[0]
        d4 = slice_w[None, :] * step[idx]  # shift-add x step (x drift compensation)
        if chip.scale is not None:
            d4 = d4 * chip.scale[idx]
        d4 = d4.float()
        inv = 1.0 / step[idx]
        inv, inv2 = inv.float(), inv.pow(2).float()
        gc, mc_max = engine.chunks(g_b, m_total, n_x=n_x)
        cb = engine._bucket_codes(codes, rows, first)  # (G_b, M, p_b)
        zbuf = torch.empty(gc * mc_max * w_slices * pc)
        for g0 in range(0, g_b, gc):
            gs = slice(g0, g0 + gc)
            g_c = min(gc, g_b - g0)
            for m0 in range(0, m_total, mc_max):
                cc = cb[gs, m0 : m0 + mc_max]
                z = zbuf[: g_c * cc.shape[1] * w_slices * pc]
                stream = (noise.key, noise.next_call()) if engine.noisy_reads else None
                clipped += _call(
                    cc, engine.dac, n_x, shift, n0, rows[gs].contiguous(), cells, eps,
                    eps_ref, inv[gs].contiguous(), inv2[gs].contiguous(), variances, stream,
                    engine.kmax, coef_x, d4[gs].contiguous(), z, out[m0 : m0 + cc.shape[1]],
                )  # fmt: skip
    if stats is not None:
        stats.reads += m_total * n_x * len(engine.map.groups) * w_slices * pc
        stats.clipped += clipped
    return out


def _call(
    cc: torch.Tensor,
    dac: int,
    n_x: int,
    shift: int | None,
    n0: torch.Tensor,
    rows: torch.Tensor,
    cells: tuple[float, float, float, int, float, float],
    eps: torch.Tensor,
    eps_ref: torch.Tensor | None,
    inv: torch.Tensor,
    inv2: torch.Tensor,
    variances: tuple[float, float],
    stream: tuple[int, int] | None,
    kmax: int,
    coef: torch.Tensor,
    digital: torch.Tensor,
    scratch: torch.Tensor,
    out: torch.Tensor,
) -> int:
    """One ``cim_cycle_read`` call on one chunk (arguments as :func:`.kernel.read`, plus the
    programmed levels, row indices, cell constants and the draw's normals)."""
    g, m, p = cc.shape
    w_slices, rows_total, pc = n0.shape
    if cc.stride(2) != 1 or rows.dtype != torch.int64 or rows.shape != (g, p):
        raise ValueError("cycle_read: codes need unit stride along P and rows (G, P) int64")
    k, c_cell, c, law, sig, ref_std = cells
    key, call = stream if stream is not None else (0, 0)
    clipped = kernel.loaded().cim_cycle_read(
        cc.data_ptr(), g, m, p, cc.stride(0), cc.stride(1), n_x, dac,
        -1 if shift is None else shift, n0.data_ptr(), rows.data_ptr(), rows_total, w_slices, pc,
        k, c_cell, c, law, sig, eps.data_ptr(), None if eps_ref is None else eps_ref.data_ptr(),
        ref_std, inv.data_ptr(), inv2.data_ptr(), variances[0], variances[1],
        stream is not None, key, call, kernel.normal_table().data_ptr(), float(kmax),
        coef.data_ptr(), digital.data_ptr(), scratch.data_ptr(), out.data_ptr(),
    )  # fmt: skip
    if clipped < 0:
        raise MemoryError("cim_cycle_read: out of memory for its cell buffer")
    return int(clipped)

