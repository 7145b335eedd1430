"""Cell non-idealities and converters (closed-form checks)."""

from __future__ import annotations

import pytest
import torch

from cimsweep.cim.converters import adc_quantize, adc_step, calibrate_hi, dac_slices
from cimsweep.cim.devices import NoiseStream, baseline, chip_levels, drift, program, stuck


def _gen(seed=0):
    return torch.Generator().manual_seed(seed)


def test_stuck_at_rates_on_large_array():
    n = torch.full((1000, 1000), 0.5)
    out = stuck(n, 0.03, 0.07, _gen())
    assert (out == 0).float().mean().item() == pytest.approx(0.03, abs=0.002)
    assert (out == 1).float().mean().item() == pytest.approx(0.07, abs=0.002)
    assert (out == 0.5).float().mean().item() == pytest.approx(0.90, abs=0.002)


def test_no_drift_at_t0_or_zero_coefficient():
    n = torch.rand(1000, generator=_gen())
    assert torch.equal(drift(n, t=1.0, v=0.3, detect=0, target=0.5, generator=_gen()), n)
    assert torch.equal(drift(n, t=1e5, v=0.0, detect=1, target=0.5, generator=_gen()), n)


def test_detect_drift_moves_toward_target():
    n = torch.linspace(0.01, 0.99, 99, dtype=torch.float64)
    target = 0.4
    out = drift(n, t=100.0, v=0.05, detect=1, target=target, generator=_gen())
    below, above = n < target, n > target
    assert (out[below] > n[below]).all() and (out[above] < n[above]).all()
    assert out.min() >= 0 and out.max() <= 1
    # NeuroSim law g = g0 * t**(v*s)
    torch.testing.assert_close(out[above], n[above] * 100.0**-0.05)


def test_random_drift_directions_are_balanced():
    n = torch.full((300000,), 0.5, dtype=torch.float64)
    out = drift(n, t=10.0, v=0.1, detect=0, target=0.0, generator=_gen())
    for frac in (
        (out > 0.5).double().mean(),
        (out < 0.5).double().mean(),
        (out == 0.5).double().mean(),
    ):
        assert float(frac) == pytest.approx(1 / 3, abs=0.01)


def test_programming_variation_std_and_clamp():
    n = torch.full((200000,), 0.5, dtype=torch.float64)
    out = program(n, 0.05, _gen())
    assert float(out.std()) == pytest.approx(0.05, rel=0.02)
    edge = program(torch.zeros(1000, dtype=torch.float64), 0.1, _gen())
    assert edge.min() >= 0  # levels stay within [off, on]


def test_chip_levels_ideal_is_identity():
    from cimsweep.cim import sim_config

    levels = torch.randint(0, 4, (50, 50)).float()
    out = chip_levels(levels, 4, sim_config(), _gen())
    assert torch.equal(out * 3, levels)


def test_baseline_in_unit_levels():
    assert baseline(2, 1e-4, 1e-6) == pytest.approx(1 / 99)
    assert baseline(4, 1.0, 0.0) == 0.0
    with pytest.raises(ValueError):
        baseline(2, 1e-6, 1e-4)


def test_noise_stream_is_standard_normal_and_deterministic():
    a = NoiseStream(_gen(5), "cpu").standard_normal((400000,))
    b = NoiseStream(_gen(5), "cpu").standard_normal((400000,))
    assert torch.equal(a, b)
    assert abs(float(a.mean())) < 0.01
    assert float(a.var()) == pytest.approx(1.0, abs=0.01)
    assert float((a.abs() > 1.96).float().mean()) == pytest.approx(0.05, abs=0.003)
    c = NoiseStream(_gen(6), "cpu").standard_normal((400000,))
    assert not torch.equal(a, c)


@pytest.mark.parametrize("bits", [3, 5, 8])
def test_adc_quantization_error_variance_is_step_squared_over_12(bits):
    hi = 1000.0
    step = float(adc_step(torch.tensor(hi), bits))
    assert step == pytest.approx(hi / (2**bits - 1))
    y = torch.rand(400000, generator=_gen(bits), dtype=torch.float64) * hi
    q, clipped = adc_quantize(y, step, bits)
    assert clipped == 0
    err = q - y
    assert float(err.abs().max()) <= step / 2 + 1e-9
    assert float(err.var()) == pytest.approx(step**2 / 12, rel=0.05)


def test_adc_clips_and_counts_out_of_range_reads():
    y = torch.tensor([-5.0, 0.2, 3.0, 7.4, 7.6, 20.0])
    q, clipped = adc_quantize(y, 1.0, 3)
    assert clipped == 3  # -5, 7.6 and 20 fall outside [-0.5, 7.5]
    assert q.tolist() == [0.0, 0.0, 3.0, 7.0, 7.0, 7.0]


def test_adc_step_never_finer_than_one_unit():
    assert float(adc_step(torch.tensor(10.0), 8)) == 1.0


def test_calibrated_clip_beats_full_range_on_sparse_sums():
    g = _gen(2)
    y = torch.poisson(torch.full((1, 20000), 3.0), generator=g)  # mostly small partial sums
    full = torch.tensor([128.0])
    hi = calibrate_hi(y, torch.ones(20000), 4, full)
    assert 0 < float(hi) <= 128
    e_cal = (adc_quantize(y, adc_step(hi, 4), 4)[0] - y).pow(2).mean()
    e_full = (adc_quantize(y, adc_step(full, 4), 4)[0] - y).pow(2).mean()
    assert e_cal < 0.2 * e_full


def test_dac_slices_reassemble_codes():
    codes = torch.arange(256)
    for bits in (1, 2, 3, 8):
        n = -(-8 // bits)
        s = dac_slices(codes, bits, n)
        assert s.max() <= 2**bits - 1
        weights = (2.0 ** (bits * torch.arange(n))).view(-1, 1)
        assert torch.equal((s * weights).sum(0), codes.float())
