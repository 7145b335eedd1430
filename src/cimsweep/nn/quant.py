"""Uniform quantizers and range calibration.

Weights are symmetric and signed: ``bits`` include the sign, integer codes lie in
``[-(2**(bits-1) - 1), 2**(bits-1) - 1]`` and ``scale = weight_max / (2**(bits-1) - 1)``.

Inputs (activations) are asymmetric and unsigned on the crossbar: codes lie in ``[0, 2**bits - 1]``
and ``x ~= scale * (code - zero_point)`` with ``scale = (input_max - input_min) / (2**bits - 1)``
and an integer ``zero_point = round(-input_min / scale)``. Post-ReLU layers have
``input_min = 0`` and therefore ``zero_point = 0``; the first layer's signed inputs get a
zero point that the simulator removes digitally (``zero_point * sum_i q_w[i, col]``) or through
a dummy input row. ``input_quant = symmetric`` (NeuroSim V1.5) uses signed codes of
``2**(bits-1) - 1`` steps each side of 0 instead (one bit fewer), and ``weight_quant_axis =
channel`` one weight scale per output channel (:func:`channel_weight_max`).

All ranges are in the units of the tensor they describe (activations: standardised input
units; weights: the layer's weight units).
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np
import torch
from torch import nn

from cimsweep.nn.models import cim_layers, layer_weight

METHODS = ("max", "percentile", "mse", "histogram")
_MAX_SAMPLES = 1 << 18  # values used by percentile / mse searches (strided subsample)
_MSE_CANDIDATES = 100  # clip candidates: k/100 * max, k = 1..100
_HIST_BINS = 2048  # histogram bins of |x| over [0, max|x|] for the entropy method


def weight_qmax(bits: int) -> int:
    """Largest signed weight code magnitude for ``bits`` (sign included)."""
    return 2 ** (bits - 1) - 1 if bits > 1 else 1


def weight_scale(weight_max: float | torch.Tensor, bits: int) -> Any:
    """Weight units per integer code (float, or a tensor for per-channel ranges); 1.0 for an
    all-zero range."""
    if isinstance(weight_max, torch.Tensor):
        return torch.where(weight_max > 0, weight_max / weight_qmax(bits), 1.0)
    return float(weight_max) / weight_qmax(bits) if weight_max > 0 else 1.0


def channel_weight_max(w: torch.Tensor, weight_max: float, dim: int) -> torch.Tensor:
    """Per-channel clips (``weight_quant_axis = channel``) along ``dim`` of ``w``: each
    channel's max |w| times ``weight_max / max|w|`` (the layer's calibrated clip fraction),
    shaped to broadcast against ``w``."""
    a = w.detach().abs().float()
    others = [d for d in range(a.dim()) if d != dim % a.dim()]
    per = a.amax(dim=others, keepdim=True) if others else a
    top = float(a.max()) if a.numel() else 0.0
    return per * (float(weight_max) / top if top > 0 else 0.0)


def quantize_weight(w: torch.Tensor, weight_max: float | torch.Tensor, bits: int) -> torch.Tensor:
    """Integer weight codes (float tensor) of symmetric ``bits``-bit quantization."""
    q = weight_qmax(bits)
    return torch.clamp(torch.round(w / weight_scale(weight_max, bits)), -q, q)


def input_qparams(
    input_min: float, input_max: float, bits: int, scheme: str = "asymmetric"
) -> tuple[float, int]:
    """(scale, zero_point) of ``bits``-bit input quantization; 0 is representable.

    asymmetric: ``2**bits - 1`` steps over [min(lo, 0), max(hi, 0)]; symmetric (NeuroSim):
    ``2**(bits-1) - 1`` steps of max(|lo|, |hi|) each side of 0, zero point = the range's
    lowest code (0 for a non-negative range).
    """
    lo, hi = min(float(input_min), 0.0), max(float(input_max), 0.0)
    if scheme == "symmetric":
        q = weight_qmax(bits)
        top = max(-lo, hi)
        scale = top / q if top > 0 else 1.0
        return scale, int(min(max(round(-lo / scale), 0), q))
    if scheme != "asymmetric":
        raise ValueError(f"unknown input quantization {scheme!r}; expected asymmetric|symmetric")
    levels = 2**bits - 1
    scale = (hi - lo) / levels if hi > lo else 1.0
    zero_point = int(min(max(round(-lo / scale), 0), levels))
    return scale, zero_point


def input_code_max(bits: int, zero_point: int, scheme: str = "asymmetric") -> int:
    """Largest unsigned input code (symmetric: ``zero_point + 2**(bits-1) - 1``)."""
    return zero_point + weight_qmax(bits) if scheme == "symmetric" else 2**bits - 1


def quantize_input(
    x: torch.Tensor, scale: float, zero_point: int, bits: int, scheme: str = "asymmetric"
) -> torch.Tensor:
    """Unsigned input codes in [0, :func:`input_code_max`] (float tensor)."""
    top = input_code_max(bits, zero_point, scheme)
    return torch.clamp(torch.round(x / scale) + zero_point, 0, top)


def fake_quant_input(
    x: torch.Tensor, input_min: float, input_max: float, bits: int, scheme: str = "asymmetric"
) -> torch.Tensor:
    """Quantize-dequantize activations."""
    scale, zp = input_qparams(input_min, input_max, bits, scheme)
    return (quantize_input(x, scale, zp, bits, scheme) - zp) * scale


def fake_quant_weight(w: torch.Tensor, weight_max: float | torch.Tensor, bits: int) -> torch.Tensor:
    """Quantize-dequantize weights (``weight_max`` a float or per-channel tensor)."""
    return quantize_weight(w, weight_max, bits) * weight_scale(weight_max, bits)


def _subsample(x: torch.Tensor, limit: int = _MAX_SAMPLES) -> torch.Tensor:
    flat = x.detach().reshape(-1).float()
    if flat.numel() > limit:
        flat = flat[:: math.ceil(flat.numel() / limit)]
    return flat


def _quantile(x: torch.Tensor, q: float) -> float:
    return float(torch.quantile(_subsample(x, 1 << 22), q))


def _kl_divergence(p: np.ndarray, q: np.ndarray) -> float:
    """KL(p || q) of two unnormalised histograms; empty bins get 1e-4 of mass (totals kept)."""
    eps = 1e-4
    for arr in (p, q):
        zero = arr == 0
        n_zero = int(zero.sum())
        if n_zero and n_zero < arr.size:
            arr[zero] = eps
            arr[~zero] -= eps * n_zero / (arr.size - n_zero)
    p, q = p / p.sum(), q / q.sum()
    return float((p * np.log(p / q)).sum())


def entropy_threshold(a: torch.Tensor, levels: int, bins: int = _HIST_BINS) -> float:
    """Clip threshold ``T`` on non-negative values ``a`` by entropy (KL) calibration.

    NVIDIA TensorRT's INT8 calibration (Migacz, GTC 2017; MXNet ``_get_optimal_threshold``):
    histogram ``a`` into ``bins`` bins over ``[0, max a]``; for every candidate edge ``i >= levels``
    the reference ``P`` is bins ``[0, i)`` with the clipped tail added to its last bin, the
    candidate ``Q`` merges those ``i`` bins into ``levels`` quantization bins and spreads each
    bin's count evenly over its non-empty source bins; empty bins get ``1e-4`` of mass; ``T``
    is the edge minimising KL(P || Q) (the first on ties), searched on every ``bins/256``-th
    edge and then on every edge around the four best. ``levels``: quantization levels
    covering ``[0, T]`` (``2**bits`` for unsigned codes). With ``levels > bins / 4`` the
    histogram cannot resolve clipping and ``max a`` is returned. Exact zeros (post-ReLU
    activations, pruned weights) are skipped, as pytorch-quantization's ``skip_zeros``: they
    are exact at any clip, and their spike in bin 0 would otherwise drive ``T`` far too low at
    few bits. Units: those of ``a``.
    """
    s = _subsample(a, 1 << 22).double().numpy()
    s = s[s != 0]
    top = float(s.max()) if s.size else 0.0
    if top <= 0 or levels > bins // 4:
        return top
    hist, edges = np.histogram(s, bins=bins, range=(0.0, top))
    hist = hist.astype(np.float64)
    nonzero = hist != 0
    csum = np.concatenate([[0.0], np.cumsum(hist)])
    cnz = np.concatenate([[0.0], np.cumsum(nonzero)])
    k1 = np.arange(1, bins + 1)

    def kl_at(i: int) -> float:
        p = hist[:i].copy()
        p[-1] += csum[-1] - csum[i]  # clipped tail
        # merge group j covers bins [floor(j i / levels), floor((j + 1) i / levels))
        bounds = (np.arange(levels + 1) * i) // levels
        counts = np.diff(csum[bounds])
        norms = np.maximum(np.diff(cnz[bounds]), 1)
        group = (k1[:i] * levels + i - 1) // i - 1
        q = np.where(nonzero[:i], (counts / norms)[group], 0.0)
        return _kl_divergence(p, q) if q.any() else math.inf

    # every `stride`-th edge, then every edge within one stride of the 4 best (~6x fewer KLs)
    stride = max(1, (bins - levels) // 256)
    coarse = list(range(levels, bins + 1, stride))
    if coarse[-1] != bins:
        coarse.append(bins)
    kls = {i: kl_at(i) for i in coarse}
    for mid in sorted(kls, key=lambda i: (kls[i], i))[:4]:
        for i in range(max(levels, mid - stride + 1), min(bins, mid + stride - 1) + 1):
            if i not in kls:
                kls[i] = kl_at(i)
    i = min(kls, key=lambda i: (kls[i], i))
    return float(edges[i]) if math.isfinite(kls[i]) else top


def choose_weight_max(w: torch.Tensor, bits: int, method: str, percentile: float) -> float:
    """Symmetric weight clip |w| <= weight_max chosen by ``method``."""
    a = w.detach().abs()
    wmax = float(a.max()) if a.numel() else 0.0
    if method == "max" or wmax == 0.0:
        return wmax
    if method == "percentile":
        return min(_quantile(a, percentile / 100.0), wmax)
    if method == "histogram":
        return min(entropy_threshold(a, weight_qmax(bits) + 1), wmax)
    if method == "mse":
        s = _subsample(w)
        ks = torch.arange(1, _MSE_CANDIDATES + 1, dtype=torch.float32, device=s.device)
        clips = wmax * ks / _MSE_CANDIDATES
        scales = (clips / weight_qmax(bits))[:, None]
        q = weight_qmax(bits)
        err = (torch.clamp(torch.round(s[None] / scales), -q, q) * scales - s[None]).pow(2)
        return float(clips[int(err.mean(1).argmin())])
    raise ValueError(f"unknown calibration method {method!r}; expected one of {METHODS}")


def choose_input_range(
    x: torch.Tensor, bits: int, method: str, percentile: float
) -> tuple[float, float]:
    """(input_min, input_max) with input_min <= 0 <= input_max, chosen by ``method``.

    ``percentile`` clips each sign's tail at ``percentile`` % of that side's magnitude
    distribution; ``mse`` scales the true (min, max) by the factor k/100 (k = 1..100) that
    minimises the quantization MSE at ``bits``; ``histogram`` picks each side's clip by
    entropy calibration (:func:`entropy_threshold`) with ``2**bits`` levels for one-signed data
    and ``2**(bits-1)`` per side for data of both signs.
    """
    x = x.detach().float()
    lo, hi = min(float(x.min()), 0.0), max(float(x.max()), 0.0)
    if method == "max" or hi == lo:
        return lo, hi
    if method == "percentile":
        q = percentile / 100.0
        phi = _quantile(x.clamp(min=0), q) if hi > 0 else 0.0
        plo = -_quantile((-x).clamp(min=0), q) if lo < 0 else 0.0
        return plo, phi
    if method == "histogram":
        levels = 2**bits if lo == 0 or hi == 0 else 2 ** (bits - 1)
        phi = min(entropy_threshold(x[x >= 0], levels), hi) if hi > 0 else 0.0
        plo = -min(entropy_threshold(-x[x <= 0], levels), -lo) if lo < 0 else 0.0
        return plo, phi
    if method == "mse":
        s = _subsample(x)
        ks = torch.arange(1, _MSE_CANDIDATES + 1, dtype=torch.float32, device=s.device)
        alpha = ks / _MSE_CANDIDATES
        best, best_err = (lo, hi), math.inf
        for chunk in alpha.split(25):
            scales = (hi - lo) * chunk / (2**bits - 1)
            zps = torch.clamp(torch.round(-lo * chunk / scales), 0, 2**bits - 1)
            codes = torch.clamp(
                torch.round(s[None] / scales[:, None]) + zps[:, None], 0, 2**bits - 1
            )
            err = ((codes - zps[:, None]) * scales[:, None] - s[None]).pow(2).mean(1)
            i = int(err.argmin())
            if float(err[i]) < best_err:
                best_err = float(err[i])
                best = (lo * float(chunk[i]), hi * float(chunk[i]))
        return best
    raise ValueError(f"unknown calibration method {method!r}; expected one of {METHODS}")


def layer_inputs(model: nn.Module, x: torch.Tensor) -> dict[str, torch.Tensor]:
    """Input tensor of every CIM layer (cim_layers order) when ``model`` runs on ``x`` (float)."""
    captured: dict[str, torch.Tensor] = {}
    hooks = [
        m.register_forward_hook(
            lambda _m, inp, _out, name=name: captured.__setitem__(name, inp[0].detach())
        )
        for name, m in cim_layers(model)
    ]
    was_training = model.training
    model.eval()
    try:
        with torch.no_grad():
            model(x)
    finally:
        for h in hooks:
            h.remove()
        model.train(was_training)
    return captured


def calibrate(
    model: nn.Module,
    x_calib: torch.Tensor,
    *,
    input_precision: int,
    weight_precision: int,
    input_method: str,
    weight_method: str,
    percentile: float,
) -> dict[str, dict[str, float]]:
    """Quantization ranges of every CIM layer from float activations on ``x_calib``.

    Returns ``{layer: {"input_min", "input_max", "weight_max", "input_scale",
    "input_zero_point", "weight_scale"}}`` (plain floats; the scales are derived from the
    ranges and the precisions and are informational).
    """
    for m in (input_method, weight_method):
        if m not in METHODS:
            raise ValueError(f"unknown calibration method {m!r}; expected one of {METHODS}")
    inputs = layer_inputs(model, x_calib)
    ranges: dict[str, dict[str, float]] = {}
    for name, module in cim_layers(model):
        lo, hi = choose_input_range(inputs[name], input_precision, input_method, percentile)
        wmax = choose_weight_max(layer_weight(module), weight_precision, weight_method, percentile)
        scale, zp = input_qparams(lo, hi, input_precision)
        ranges[name] = {
            "input_min": float(lo),
            "input_max": float(hi),
            "weight_max": float(wmax),
            "input_scale": float(scale),
            "input_zero_point": float(zp),
            "weight_scale": weight_scale(wmax, weight_precision),
        }
    return ranges
