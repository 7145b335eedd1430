"""NeuroSim V1.5 semantics options of the simulator against an independent bit-serial oracle
and closed forms (issue 17, item 1)."""

from __future__ import annotations

import pytest
import torch
from torch import nn

from cimsweep.cim import sim_config
from cimsweep.cim.devices import NoiseStream
from cimsweep.cim.engine import LayerEngine
from cimsweep.nn.quant import input_code_max, input_qparams

NS = dict(preset="neurosim_v1.5")


def _linear(rows: int, cols: int, seed: int = 0) -> nn.Linear:
    torch.manual_seed(seed)
    return nn.Linear(rows, cols).requires_grad_(False)


def _oracle(codes, q_w, z, *, adc, rows_per_read, dac, bitcell, ip, wp):
    """NeuroSim's data path as its code means it, in plain integer loops over slices:
    weights shifted by max(0, -min q) with a dummy column, a dummy input row of z, per read
    group / input slice / weight slice an integer partial sum clipped to [0, 2**adc]."""
    shift = max(0, -int(q_w.min()))
    w = torch.cat([q_w + shift, torch.full((q_w.shape[0], 1), float(shift))], 1).long()
    x = torch.cat([codes, torch.full((1, codes.shape[1]), float(z))]).long()
    base, n_w = 2**bitcell, -(-wp // bitcell)
    out = torch.zeros(x.shape[0], w.shape[1], dtype=torch.long)
    for b in range(-(-ip // dac)):
        xb = (x >> (dac * b)) & ((1 << dac) - 1)
        for j in range(n_w):
            wj = (w // base**j) % base
            for r0 in range(0, x.shape[1], rows_per_read):
                p = xb[:, r0 : r0 + rows_per_read] @ wj[r0 : r0 + rows_per_read]
                out += p.clamp(0, 2**adc) * (2 ** (dac * b)) * base**j
    main = out[:-1, :-1] - out[:-1, -1:]
    return main - (out[-1, :-1] - out[-1, -1])


@pytest.mark.parametrize(
    "adc,parallel,dac,bitcell",
    [(3, 0, 1, 1), (5, 0, 1, 1), (8, 0, 1, 1), (4, 64, 1, 1), (4, 32, 4, 1), (5, 0, 1, 2)],
)
def test_neurosim_preset_matches_bit_serial_oracle_exactly(adc, parallel, dac, bitcell) -> None:
    layer = _linear(256, 16)
    sim = sim_config(
        **NS, adc_precision=adc, parallel_read=parallel, dac_precision=dac, bitcell=bitcell
    )
    rng = {"input_min": -1.0, "input_max": 2.0, "weight_max": float(layer.weight.abs().max())}
    e = LayerEngine("l", layer, rng, sim)
    x = torch.randn(6, 256, generator=torch.Generator().manual_seed(2)).clamp(-1, 2)
    codes, _ = e.input_codes(x)
    got = e.mvm(codes, e.program(None, shortcut=False))
    ref = _oracle(
        codes, e.q_w, e.zero_point, adc=adc, rows_per_read=parallel or 128, dac=dac,
        bitcell=bitcell, ip=8, wp=8,
    )  # fmt: skip
    assert torch.equal(got.long(), ref)


def test_unit_adc_seven_bits_on_128_rows_is_lossless() -> None:
    layer = _linear(256, 8)
    sim = sim_config(**NS, adc_precision=7)
    rng = {"input_min": 0.0, "input_max": 1.0, "weight_max": float(layer.weight.abs().max())}
    e = LayerEngine("l", layer, rng, sim)
    assert e.lossless and e.kmax == 128
    codes, _ = e.input_codes(torch.rand(5, 256, generator=torch.Generator().manual_seed(0)))
    assert torch.equal(e.mvm(codes, e.program(None, shortcut=False)), e.reference(codes))
    e6 = LayerEngine("l", layer, rng, sim_config(**NS, adc_precision=6))
    assert not e6.lossless


def test_symmetric_inputs_and_per_channel_weights() -> None:
    scale, zp = input_qparams(0.0, 1.0, 8, "symmetric")
    assert zp == 0 and scale == pytest.approx(1 / 127) and input_code_max(8, zp, "symmetric") == 127
    scale, zp = input_qparams(-0.5, 1.0, 8, "symmetric")
    assert zp == 64 and input_code_max(8, zp, "symmetric") == 64 + 127
    layer = _linear(20, 4)
    with torch.no_grad():
        layer.weight[2] *= 0.1  # a quiet output channel keeps its own full code range
    rng = {"input_min": 0.0, "input_max": 1.0, "weight_max": float(layer.weight.abs().max())}
    e = LayerEngine("l", layer, rng, sim_config(**NS))
    torch.testing.assert_close(e.w_scale, layer.weight.abs().amax(1) / 127)
    assert torch.equal(e.q_w.abs().amax(0), torch.full((4,), 127.0))
    tensor = LayerEngine("l", layer, rng, sim_config())
    assert float(tensor.q_w[:, 2].abs().max()) < 20


def test_multiplicative_noise_is_shared_by_the_batch_and_has_its_closed_form_variance() -> None:
    layer = _linear(4, 3)
    sigma = 0.1
    sim = sim_config(**NS, adc_precision=16, read_noise=sigma, dac_precision=8, bitcell=8)
    rng = {"input_min": 0.0, "input_max": 1.0, "weight_max": float(layer.weight.abs().max())}
    e = LayerEngine("l", layer, rng, sim)
    assert e.map.n_w == 1 and e.n_x == 1  # one read per column: variance in closed form
    gen = torch.Generator().manual_seed(5)
    chip = e.program(gen)
    noise = NoiseStream(gen, "cpu")
    x = torch.full((1, 4), 0.25)
    codes, _ = e.input_codes(x)
    twice = e.mvm(codes.repeat(2, 1), chip, noise)
    assert torch.equal(twice[0], twice[1])  # one draw per forward call, shared by the batch
    ref = e.reference(codes)[0]
    err = torch.stack([e.mvm(codes, chip, noise)[0] - ref for _ in range(1500)])
    # column j = sum_i x_i (g_ij + n_ij - c - r_i), n_ij ~ N(0, (sigma g_ij)^2), minus the
    # dummy column's (the off-state reference noise r_i of a row cancels in the difference);
    # the ADC's unit rounding of the two reads adds 2 / 12
    g = e.levels[0].double() + e.c_cell  # (rows, phys_cols) conductances, unit levels
    x2 = codes[0].double() ** 2
    var_col = (x2[:, None] * sigma**2 * g**2).sum(0)
    expect = var_col[:3] + var_col[3] + 2 / 12
    measured = err.double().var(0)
    assert torch.allclose(measured, expect, rtol=0.12), (measured, expect)


def test_exclusive_output_noise_bypasses_cell_effects() -> None:
    layer = _linear(32, 4)
    rng = {"input_min": 0.0, "input_max": 1.0, "weight_max": float(layer.weight.abs().max())}
    kw = dict(read_noise=0.2, prog_noise=0.1, t=1e4, v=0.05, output_noise=0.5)
    e = LayerEngine("l", layer, rng, sim_config(**NS, **kw))
    assert e.sim["read_noise"] == 0 and e.sim["prog_noise"] == 0 and e.cell_noise is None
    assert e.out_sigma == 0.5 and e.c == 0.0
    additive = LayerEngine("l", layer, rng, sim_config(**NS, **kw, output_noise_mode="additive"))
    assert additive.cell_noise is not None and additive.sim["prog_noise"] == 0.1


def test_drift_per_read_changes_between_calls_and_not_within_one() -> None:
    layer = _linear(32, 4)
    rng = {"input_min": 0.0, "input_max": 1.0, "weight_max": float(layer.weight.abs().max())}
    sim = sim_config(**NS, t=1e5, v=0.1, adc_precision=8)
    e = LayerEngine("l", layer, rng, sim)
    gen = torch.Generator().manual_seed(1)
    chip, noise = e.program(gen), NoiseStream(gen, "cpu")
    codes, _ = e.input_codes(torch.rand(1, 32, generator=gen))
    a, b = e.mvm(codes.repeat(2, 1), chip, noise), e.mvm(codes, chip, noise)
    assert torch.equal(a[0], a[1]) and not torch.equal(a[0], b[0])
    once = LayerEngine("l", layer, rng, {**sim, "drift_resample": "instance"})
    chip1, noise1 = once.program(torch.Generator().manual_seed(1)), NoiseStream(gen, "cpu")
    assert torch.equal(once.mvm(codes, chip1, noise1), once.mvm(codes, chip1, noise1))


def test_multiplicative_per_read_is_refused() -> None:
    layer = _linear(8, 2)
    rng = {"input_min": 0.0, "input_max": 1.0, "weight_max": 1.0}
    sim = sim_config(read_noise=0.1, read_noise_model="multiplicative")
    with pytest.raises(ValueError, match="read_noise_resample = forward or cycle"):
        LayerEngine("l", layer, rng, sim)


def test_additive_noise_per_forward_keeps_its_variance() -> None:
    layer = _linear(4, 2)
    rng = {"input_min": 0.0, "input_max": 1.0, "weight_max": float(layer.weight.abs().max())}
    sigma = 0.05
    kw = dict(read_noise=sigma, dac_precision=8, bitcell=8, adc_precision=16, adc_range="unit")
    e = LayerEngine("l", layer, rng, sim_config(**kw, read_noise_resample="forward"))
    gen = torch.Generator().manual_seed(3)
    chip, noise = e.program(gen), NoiseStream(gen, "cpu")
    codes, _ = e.input_codes(torch.full((1, 4), 0.5))
    ref = e.reference(codes)[0]
    err = torch.stack([e.mvm(codes, chip, noise)[0] - ref for _ in range(1500)]).double()
    s2 = float((codes[0].double() ** 2).sum()) * (sigma * 255) ** 2  # per physical column
    assert float(err.var(0).mean()) == pytest.approx(2 * s2, rel=0.12)  # differential pair
