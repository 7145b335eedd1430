"""Quantizers and range calibration (closed-form checks)."""

from __future__ import annotations

import json

import pytest
import torch

from cimsweep.nn.models import build_model, cim_layers
from cimsweep.nn.quant import (
    calibrate,
    choose_input_range,
    choose_weight_max,
    entropy_threshold,
    fake_quant_input,
    fake_quant_weight,
    input_qparams,
    layer_inputs,
    quantize_input,
    quantize_weight,
)


def _heavy_tailed(n: int = 20000, seed: int = 0) -> torch.Tensor:
    g = torch.Generator().manual_seed(seed)
    # Gaussian scale mixture: heavy (power-law) tails
    return torch.randn(n, generator=g) / torch.rand(n, generator=g).clamp(min=1e-3).sqrt()


def test_weight_codes_are_symmetric_and_in_range():
    w = torch.linspace(-2.0, 2.0, 1001)
    q = quantize_weight(w, 1.0, 4)
    assert q.min() == -7 and q.max() == 7
    assert torch.equal(quantize_weight(-w, 1.0, 4), -q)
    # inside the range, the error is at most half a step
    inside = w.abs() <= 1.0
    assert (fake_quant_weight(w, 1.0, 4) - w)[inside].abs().max() <= 0.5 / 7 + 1e-7


def test_input_zero_is_exact_and_codes_unsigned():
    scale, zp = input_qparams(-1.3, 2.9, 8)
    assert 0 <= zp <= 255
    assert fake_quant_input(torch.zeros(3), -1.3, 2.9, 8).abs().max() == 0
    codes = quantize_input(torch.linspace(-5, 5, 101), scale, zp, 8)
    assert codes.min() == 0 and codes.max() == 255
    assert input_qparams(0.0, 4.0, 8)[1] == 0  # post-ReLU: no zero point


def test_max_method_returns_true_extremes():
    x = torch.randn(5000) * 3
    lo, hi = choose_input_range(x, 8, "max", 99.9)
    assert lo == pytest.approx(float(x.min())) and hi == pytest.approx(float(x.max()))
    w = torch.randn(64, 32)
    assert choose_weight_max(w, 8, "max", 99.9) == pytest.approx(float(w.abs().max()))


def test_percentile_is_within_max():
    x = _heavy_tailed()
    lo_m, hi_m = choose_input_range(x, 8, "max", 99.0)
    lo_p, hi_p = choose_input_range(x, 8, "percentile", 99.0)
    assert lo_m <= lo_p <= 0 <= hi_p <= hi_m
    assert hi_p < hi_m  # heavy tail actually clipped
    assert choose_weight_max(x, 8, "percentile", 99.0) <= choose_weight_max(x, 8, "max", 99.0)


@pytest.mark.parametrize("bits", [3, 4, 6])
def test_mse_clip_lowers_error_on_heavy_tails(bits):
    x = _heavy_tailed(seed=bits)
    wmax = choose_weight_max(x, bits, "max", 99.9)
    wmse = choose_weight_max(x, bits, "mse", 99.9)
    assert 0 < wmse <= wmax
    err_max = (fake_quant_weight(x, wmax, bits) - x).pow(2).mean()
    err_mse = (fake_quant_weight(x, wmse, bits) - x).pow(2).mean()
    assert err_mse < 0.9 * err_max
    lo, hi = choose_input_range(x, bits, "mse", 99.9)
    lo_m, hi_m = choose_input_range(x, bits, "max", 99.9)
    assert lo_m <= lo <= 0 <= hi <= hi_m
    e_mse = (fake_quant_input(x, lo, hi, bits) - x).pow(2).mean()
    e_max = (fake_quant_input(x, lo_m, hi_m, bits) - x).pow(2).mean()
    assert e_mse < 0.9 * e_max


@pytest.mark.parametrize("levels", [4, 16, 256])
def test_histogram_keeps_max_on_uniform_data(levels):
    u = torch.rand(50000, generator=torch.Generator().manual_seed(levels)) * 3.0
    # any clip of a flat histogram moves tail mass into P's last bin, which Q cannot match
    assert entropy_threshold(u, levels) >= 0.97 * float(u.max())


@pytest.mark.parametrize("bits", [3, 8])
def test_histogram_clips_outliers(bits):
    g = torch.Generator().manual_seed(bits)
    x = torch.randn(50000, generator=g)
    x[:5] = 40.0  # a few outliers, 10x beyond the Gaussian bulk
    wmax = choose_weight_max(x, bits, "histogram", 99.9)
    assert 2.0 < wmax < 0.25 * 40.0  # clipped below the outliers, above 2 sigma
    bulk = x[5:]
    err_hist = (fake_quant_weight(bulk, wmax, bits) - bulk).pow(2).mean()
    err_max = (fake_quant_weight(bulk, 40.0, bits) - bulk).pow(2).mean()
    assert err_hist < 0.5 * err_max
    lo, hi = choose_input_range(x, bits, "histogram", 99.9)
    assert float(x.min()) <= lo < -2.0 and 2.0 < hi < 10.0
    relu = x.clamp(min=0)
    lo_r, hi_r = choose_input_range(relu, bits, "histogram", 99.9)
    assert lo_r == 0.0 and 2.0 < hi_r < 10.0


def test_unknown_method_rejected():
    with pytest.raises(ValueError, match="unknown calibration method"):
        choose_weight_max(torch.randn(10), 8, "median", 99.0)


def test_calibrate_every_layer_json_floats():
    torch.manual_seed(0)
    model = build_model("cnn", (1, 8, 8), 10)
    x = torch.randn(32, 1, 8, 8)
    ranges = calibrate(
        model, x, input_precision=8, weight_precision=8,
        input_method="max", weight_method="max", percentile=99.9,
    )  # fmt: skip
    names = [n for n, _ in cim_layers(model)]
    assert list(ranges) == names
    json.dumps(ranges)
    inputs = layer_inputs(model, x)
    first, later = names[0], names[1:]
    assert ranges[first]["input_min"] == pytest.approx(float(inputs[first].min()))
    assert ranges[first]["input_min"] < 0  # standardised images are signed
    for n in later:
        assert ranges[n]["input_min"] == 0.0  # post-ReLU
        assert ranges[n]["input_max"] == pytest.approx(float(inputs[n].max()))
    for n, m in cim_layers(model):
        assert ranges[n]["weight_max"] == pytest.approx(float(m.weight.detach().abs().max()))
