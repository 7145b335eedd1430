"""ADC range calibration of one layer: clips from noise-free partial sums (``adc_range =
calibrated``) and one per-layer scale of them chosen by the output error (``tuned``)."""

from __future__ import annotations

from typing import TYPE_CHECKING

import torch

from cimsweep.cim.converters import calibrate_hi

if TYPE_CHECKING:
    from cimsweep.cim.engine import LayerEngine

CAL_ROWS = 2048  # input vectors used to calibrate ADC ranges
CAL_SAMPLES = 1 << 14  # partial sums per (read group, weight slice) in the MSE search
CAL_ELEMENTS = 1 << 22  # input slice values per matmul of sampled reads (float64: 32 MB)
TUNE_OCTAVES = tuple(k / 2 for k in range(-6, 5))  # adc_range = tuned: clip x 2**o, 1/8..4


def calibrate_adc(engine: LayerEngine, codes: torch.Tensor, elements: int = CAL_ELEMENTS) -> None:
    """Set ``adc_range = calibrated`` clips from noise-free partial sums of ``codes``.

    Per (read group, weight slice), the partial sums of every input slice, input vector and
    physical column (in that order) are sampled at a fixed stride (at most
    :data:`CAL_SAMPLES`). Only the sampled reads are formed, column by column of the crossbar,
    at most ``elements`` input slice values at a time (peak memory bounded; any ``elements``
    gives the same clips), in float64: exact for integer cell levels (where float32 sums are
    exact too) and otherwise far below float32 rounding.
    """
    if codes.shape[0] > CAL_ROWS:
        codes = codes[:: -(-codes.shape[0] // CAL_ROWS)]
    chip = engine.program(None, shortcut=False)
    device = codes.device
    n_x, n_w, pc, m = engine.n_x, engine.map.n_w, engine.map.phys_cols, codes.shape[0]
    codes_i = codes.to(torch.int32)
    sig = 4.0 ** (engine.dac * torch.arange(n_x, dtype=torch.float64, device=device))
    # sampled reads: every stride-th of the flat (input slice, vector, column) index, taken
    # column by column (runs of one column, in ascending sample order)
    stride = max(1, -(-(n_x * m * pc) // CAL_SAMPLES))
    j = torch.arange(0, n_x * m * pc, stride, device=device)
    order = torch.argsort(j % pc, stable=True)
    ix, vec, col = j[order] // (m * pc), (j[order] // pc) % m, j[order] % pc
    shift, mask = (ix * engine.dac).to(torch.int32), 2**engine.dac - 1
    cols, counts = torch.unique_consecutive(col, return_counts=True)
    hi = engine.hi.clone()
    buckets = zip(engine.buckets, engine.bucket_first, chip.bucket_weights, strict=True)
    for (_size, idx, rows), first, w_b in buckets:
        g_b, p_b = rows.shape
        cb = engine._bucket_codes(codes_i, rows, first)  # (G_b, M, p_b) int32, a view
        w4 = w_b.view(g_b, p_b, n_w, pc)
        per = max(1, elements // (g_b * p_b))  # sampled reads per matmul
        y = torch.empty(g_b, len(j), n_w, dtype=torch.float64, device=device)
        start = 0
        for c, n in zip(cols.tolist(), counts.tolist(), strict=True):
            w_c = w4[:, :, :, c].double()  # (G_b, p_b, n_w)
            for s0 in range(start, start + n, per):
                s = slice(s0, min(s0 + per, start + n))
                x = (cb[:, vec[s]] >> shift[s, None]) & mask  # (G_b, S, p_b) slice values
                torch.bmm(x.double(), w_c, out=y[:, s])
            start += n
        samples = torch.empty_like(y)
        samples[:, order] = y  # back to ascending sample order
        fs = engine.full_scale[idx].to(device)[:, None].expand(g_b, n_w).reshape(-1)
        flat = samples.permute(0, 2, 1).reshape(g_b * n_w, -1)
        h = calibrate_hi(flat, sig[j // (m * pc)], engine.adc_bits, fs)
        hi[idx] = h.view(g_b, n_w).to(hi.device, hi.dtype)
    engine.hi = hi


def tune_adc(engine: LayerEngine, codes: torch.Tensor) -> float:
    """``adc_range = tuned``: scale the calibrated clips to minimise this layer's output MSE.

    After Laubeuf et al.'s per-layer range control: one factor ``2**o`` multiplies every
    calibrated clip (capped at full scale). ``o`` runs over :data:`TUNE_OCTAVES`, then is
    refined by +-1/4 and +-1/8 octave around the best; the full-scale range is a candidate
    too. The candidate with the least squared error of the noise-free, ideally programmed
    layer output vs. the digital reference on ``codes`` (the calibration inputs, at most
    ``CAL_ROWS``) wins, the earliest on ties, so the result is deterministic and never
    worse than ``calibrated`` (``o = 0``) or ``full`` on ``codes``. Call after
    :meth:`calibrate_adc`. Returns the winning error (integer sums squared, summed).
    """
    if codes.shape[0] > CAL_ROWS:
        codes = codes[:: -(-codes.shape[0] // CAL_ROWS)]
    ref = engine.reference(codes).double()
    full = engine.full_scale[:, None].expand_as(engine.hi).clone()
    base = engine.hi.clone()
    noise = engine.read_sigma, engine.out_sigma, engine.out_table
    engine.read_sigma, engine.out_sigma, engine.out_table = 0.0, 0.0, None  # noise-free search
    # (program(None) is the ideal chip: no per-call perturbation either)
    errors: dict[float | None, float] = {}

    def error(octave: float | None) -> float:  # None: full scale
        if octave not in errors:
            engine.hi = full if octave is None else torch.minimum(base * 2.0**octave, full)
            t = engine.mvm(codes, engine.program(None)).double()
            errors[octave] = float((t - ref).pow(2).sum())
        return errors[octave]

    try:
        best = min(TUNE_OCTAVES, key=error)
        for delta in (0.25, 0.125):
            best = min((best, best - delta, best + delta), key=error)
        choice = min((best, None), key=error)
        engine.hi = full if choice is None else torch.minimum(base * 2.0**choice, full)
    finally:
        engine.read_sigma, engine.out_sigma, engine.out_table = noise
    return errors[choice]
