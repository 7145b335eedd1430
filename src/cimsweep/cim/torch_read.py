"""The torch mirror of :func:`.kernel.read` for one chunk of reads (CUDA, no compiler, or a
per-level output-noise table): the same numbers, from batched matrix multiplies."""

from __future__ import annotations

from typing import TYPE_CHECKING

import torch

from cimsweep.cim import devices, kernel
from cimsweep.cim.converters import adc_codes_

if TYPE_CHECKING:
    from cimsweep.cim.engine import LayerEngine


def read_torch(
    engine: LayerEngine,
    cc: torch.Tensor,
    w_c: torch.Tensor,
    inv: torch.Tensor,
    inv2: torch.Tensor,
    variances: tuple[torch.Tensor, torch.Tensor],
    noise: devices.NoiseStream | None,
    step: torch.Tensor,
    coef_x: torch.Tensor,
    z: torch.Tensor,
    n_x: int,
) -> int:
    """Torch ops of :func:`kernel.read` (same numbers; plus ``output_noise_file``)."""
    g_c, mc, _ = cc.shape
    n_w, pc = engine.map.n_w, engine.map.phys_cols
    x, sx2 = kernel.dac_slices(cc, engine.dac, n_x, noise is not None)
    y = torch.bmm(x.reshape(g_c, n_x * mc, -1), w_c)  # unit products
    y5 = y.view(g_c, n_x, mc, n_w, pc).mul_(inv.view(g_c, 1, 1, n_w, 1))  # ADC steps
    if noise is not None:
        read_var, out_var = variances
        assert sx2 is not None  # dac_slices returns the squares when asked
        var = sx2.unsqueeze(-1) * inv2.view(g_c, 1, 1, n_w) * read_var + out_var
        sd = kernel.sqrt_rn(var).unsqueeze(-1)  # (G_c, n_x, mc, n_w, 1), steps
        if engine.out_table is not None:  # per-level statistics, unit products
            lsb = step.float().view(g_c, 1, 1, n_w, 1)
            offset, out_sd = engine.out_table(y5 * lsb)
            sd = torch.sqrt(sd.square() + (out_sd / lsb).square())
            y5.add_(offset / lsb)
        # same operation order as the kernel: y + (eps * sd)
        y5.add_(noise.standard_normal(y5.shape).mul_(sd))
    clipped = adc_codes_(y, engine.kmax)
    cx = coef_x.view(1, 1, n_x).expand(g_c, 1, n_x)
    z.copy_(torch.bmm(cx, y.view(g_c, n_x, -1)).view_as(z))  # input shift-add
    return clipped
