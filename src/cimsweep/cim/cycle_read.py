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
    cells = (float(levels - 1), engine.c_cell, engine.c, law, sig, float(ref_std))
    has_ref = engine.c != engine.c_cell  # subtracted off-state reference: one cell per row
    cycles = cn.per_cycle and engine.n_x > 1
    n_x = 1 if cycles else engine.n_x
    chunks = _chunks(engine, codes.to(torch.float32), chip, n_x)
    draw = _Draw(engine, n0, cells, has_ref, noise, chunks, codes.shape[0])
    if not cycles:
        out = draw(-1)
    else:
        out = draw(0)
        for b in range(1, engine.n_x):  # as the torch path: out + y_b * 2**(dac * b)
            out.add_(draw(engine.dac * b).mul_(2.0 ** (engine.dac * b)))
    if stats is not None:
        n_w, pc = engine.map.n_w, engine.map.phys_cols
        stats.reads += codes.shape[0] * engine.n_x * len(engine.map.groups) * n_w * pc
        stats.clipped += draw.clipped
    return out


def _chunks(engine: LayerEngine, codes: torch.Tensor, chip: Chip, n_x: int) -> list[tuple]:
    """The reads of one draw, chunked as :meth:`LayerEngine._analog` chunks them: per chunk
    (first vector, tensors the kernel reads: codes, rows, inv, inv2, digital, scratch)."""
    m_total = codes.shape[0]
    n_w, pc = engine.map.n_w, engine.map.phys_cols
    step, slice_w = engine.step, engine.map.slice_weights()
    out = []
    for (_size, idx, rows), first in zip(engine.buckets, engine.bucket_first, strict=True):
        g_b = rows.shape[0]
        d4 = slice_w[None, :] * step[idx]  # shift-add x step (x drift compensation)
        if chip.scale is not None:
            d4 = d4 * chip.scale[idx]
        d4 = d4.float()
        inv = 1.0 / step[idx]
        inv, inv2 = inv.float(), inv.pow(2).float()
        gc, mc_max = engine.chunks(g_b, m_total, n_x=n_x)
        cb = engine._bucket_codes(codes, rows, first)  # (G_b, M, p_b)
        zbuf = torch.empty(gc * mc_max * n_w * pc)
        for g0 in range(0, g_b, gc):
            gs = slice(g0, g0 + gc)
            for m0 in range(0, m_total, mc_max):
                cc = cb[gs, m0 : m0 + mc_max]
                if cc.stride(2) != 1:
                    raise ValueError("cycle_read: codes need unit stride along P")
                z = zbuf[: cc.shape[0] * cc.shape[1] * n_w * pc]
                tensors = (cc, rows[gs].contiguous(), inv[gs].contiguous())
                out.append((m0, *tensors, inv2[gs].contiguous(), d4[gs].contiguous(), z))
    return out


class _Draw:
    """Column sums of one draw of the cells (``cim_cycle_read`` on every chunk): all input
    slices (shift -1) or the single slice at bit ``shift``; counts clipped reads."""

    def __init__(
        self,
        engine: LayerEngine,
        n0: torch.Tensor,
        cells: tuple[float, float, float, int, float, float],
        has_ref: bool,
        noise: NoiseStream,
        chunks: list[tuple],
        m_total: int,
    ) -> None:
        self.engine, self.n0, self.cells, self.has_ref = engine, n0, cells, has_ref
        self.noise, self.chunks, self.m_total = noise, chunks, m_total
        self.clipped = 0
        self.variances = (  # float32 values, as LayerEngine._analog passes them
            float(torch.tensor(engine.read_sigma**2, dtype=torch.float32)),
            float(torch.tensor(engine.out_sigma**2, dtype=torch.float32)),
        )
        # buffers reused by every draw: the cells' normals and the kernel's scratch
        w_slices, rows_total, pc = n0.shape
        self.eps = torch.empty(w_slices * rows_total * pc)
        self.eps_ref = torch.empty(w_slices * rows_total) if has_ref else None
        n = w_slices * pc
        sizes = [cc.shape[0] * cc.shape[2] * (n + cc.shape[1]) for _m0, cc, *_ in chunks]
        self.scratch = torch.empty(max(sizes, default=0))
        self.coef = (2.0 ** (engine.dac * torch.arange(engine.n_x, dtype=torch.float64))).float()

    def _normals(self, out: torch.Tensor) -> None:
        """The stream's next call of normals into ``out``: :meth:`NoiseStream.standard_normal`
        on the compiled kernel, without a fresh tensor per draw."""
        table = kernel.normal_table().data_ptr()
        call = self.noise.next_call()
        kernel.loaded().cim_normals(self.noise.key, call, out.numel(), table, out.data_ptr())

    def __call__(self, shift: int) -> torch.Tensor:
        e, noise, n0 = self.engine, self.noise, self.n0
        w_slices, rows_total, pc = n0.shape
        eps, eps_ref = self.eps, self.eps_ref
        self._normals(eps)
        if eps_ref is not None:
            self._normals(eps_ref)
        n_x = 1 if shift >= 0 else e.n_x
        coef = self.coef[:n_x]
        out = torch.zeros(self.m_total, pc)
        k, c_cell, c, law, sig, ref_std = self.cells
        lib, table = kernel.loaded(), kernel.normal_table()
        for m0, cc, rows, inv, inv2, d4, z in self.chunks:
            g, m, p = cc.shape
            key, call = (noise.key, noise.next_call()) if e.noisy_reads else (0, 0)
            clipped = lib.cim_cycle_read(
                cc.data_ptr(), g, m, p, cc.stride(0), cc.stride(1), n_x, e.dac, shift,
                n0.data_ptr(), rows.data_ptr(), rows_total, w_slices, pc, k, c_cell, c, law, sig,
                eps.data_ptr(), None if eps_ref is None else eps_ref.data_ptr(), ref_std,
                inv.data_ptr(), inv2.data_ptr(), *self.variances, e.noisy_reads, key, call,
                table.data_ptr(), float(e.kmax), coef.data_ptr(), d4.data_ptr(), z.data_ptr(),
                out[m0:].data_ptr(), self.scratch.data_ptr(), kernel.threads(),
            )  # fmt: skip
            if clipped < 0:
                raise MemoryError("cim_cycle_read: out of memory for its cell buffer")
            self.clipped += int(clipped)
        return out
