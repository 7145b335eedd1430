"""DAC input slicing and ADC models.

Column sums are expressed in *unit products*: one DAC input step times one cell level step
(``(on - off) / (L - 1)`` of conductance or capacitance), so an ideal noise-free read of
integer inputs and levels is ``integer + c * sum(x)`` (``c``: off-state baseline, see
:mod:`.devices`).

ADC: ``2**adc_precision`` codes ``k = 0..kmax`` at ``k * step``, input range ``[0, hi]`` with
``step = max(1, hi / kmax)`` (an ADC with more codes than distinct ideal sums resolves every
unit product and no finer). ``hi`` is the column's full scale (``adc_range = full``: read rows
* DAC full scale * on-state level, ``rows * (2**dac - 1) * (L - 1 + c)``) or a calibrated clip
(``adc_range = calibrated``, after Laubeuf et al.: the ``hi`` minimising the input-significance
weighted ADC MSE on noise-free calibration partial sums), or that clip scaled by one per-layer
factor minimising the layer's output error (``adc_range = tuned``,
:meth:`.engine.LayerEngine.tune_adc`). Rounding is round-half-to-even;
reads outside ``[-step/2, hi + step/2]`` saturate and count as clipped.
"""

from __future__ import annotations

import torch

_CAL_CANDIDATES = 64


def dac_slices(codes: torch.Tensor, dac_bits: int, n_slices: int) -> torch.Tensor:
    """Input slices (n_slices, ...) of integer codes, least significant first, as float32."""
    shifts = torch.arange(n_slices, device=codes.device, dtype=torch.int32) * dac_bits
    shifts = shifts.view(-1, *([1] * codes.dim()))
    mask = (1 << dac_bits) - 1
    return torch.bitwise_and(
        torch.bitwise_right_shift(codes.to(torch.int32)[None], shifts), mask
    ).float()


def adc_full_scale(rows: torch.Tensor, dac_bits: int, cell_levels: int, c: float) -> torch.Tensor:
    """Full-scale column sum (unit products) of reads over ``rows`` rows."""
    return rows.to(torch.float64) * (2**dac_bits - 1) * (cell_levels - 1 + c)


def adc_step(hi: torch.Tensor, bits: int) -> torch.Tensor:
    """ADC step (unit products) covering [0, hi] with 2**bits codes, never finer than 1."""
    return torch.clamp(hi / (2**bits - 1), min=1.0)


def adc_codes_(y: torch.Tensor, kmax: int) -> int:
    """In place: ``y`` (in ADC steps) -> integer codes in [0, kmax]; returns the clipped count."""
    lo, hi = (float(v) for v in torch.aminmax(y))
    y.round_()
    clipped = 0.0
    # counts via float clamps of the integer codes (cheaper than boolean comparisons)
    if hi > kmax + 0.5:
        clipped += float(torch.clamp(y, kmax, kmax + 1).sub_(kmax).sum())
    if lo < -0.5:
        clipped -= float(torch.clamp(y, -1, 0).sum())
    if clipped:
        y.clamp_(0, kmax)
    return int(round(clipped))


def adc_quantize(
    y: torch.Tensor, step: torch.Tensor | float, bits: int
) -> tuple[torch.Tensor, int]:
    """Reference ADC: quantized values (unit products) and the clipped count."""
    q = y / step
    clipped = adc_codes_(q, 2**bits - 1)
    return q * step, clipped


def calibrate_hi(
    samples: torch.Tensor, weights: torch.Tensor, bits: int, full_scale: torch.Tensor
) -> torch.Tensor:
    """Per-row ADC clip ``hi`` (unit products) minimising the weighted ADC MSE.

    samples: (B, S) noise-free partial sums; weights: (S,) or (B, S) error weights (the
    squared shift-add significance); full_scale: (B,) upper bound. Candidates are
    ``k/64 * max(samples)`` for k = 1..64 and ``kmax`` (step 1: integer sums up to ``kmax``
    read exactly; no grid point reaches it when ``max > 64 * kmax``); returns (B,) float64.
    """
    kmax = 2**bits - 1
    y = samples.to(torch.float64)
    w = weights.to(torch.float64).expand_as(y)
    top = y.amax(dim=1).clamp(min=1e-12)
    frac = (
        torch.arange(1, _CAL_CANDIDATES + 1, dtype=torch.float64, device=y.device) / _CAL_CANDIDATES
    )
    best = torch.full_like(top, float("inf"))
    hi = top.clone()
    for cand in [top * f for f in frac] + [torch.full_like(top, float(kmax))]:
        step = torch.clamp(cand / kmax, min=1.0)[:, None]
        q = torch.clamp(torch.round(y / step), 0, kmax) * step
        err = ((q - y).pow(2) * w).sum(dim=1)
        better = err < best
        best = torch.where(better, err, best)
        hi = torch.where(better, cand, hi)
    return torch.minimum(hi, full_scale.to(torch.float64))
