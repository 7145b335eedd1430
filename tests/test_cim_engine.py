"""Crossbar mapping and the noisy MVM engine against closed-form references."""

from __future__ import annotations

import itertools

import pytest
import torch
from torch import nn

from cimsweep.cim import adc_calibration, kernel, sim_config
from cimsweep.cim.converters import calibrate_hi
from cimsweep.cim.devices import NoiseStream
from cimsweep.cim.engine import LayerEngine, LayerStats
from cimsweep.cim.mapping import CrossbarMap, n_weight_slices


def _ranges(wmax=1.0, lo=-2.0, hi=2.0):
    return {"input_min": lo, "input_max": hi, "weight_max": wmax}


@pytest.mark.parametrize(
    "mapping,bitcell,wp",
    list(itertools.product(("differential", "offset", "offset/digital"), (1, 2, 3), (2, 5, 8))),
)
def test_encode_round_trips_to_signed_weights(mapping, bitcell, wp):
    q = torch.arange(-(2 ** (wp - 1) - 1), 2 ** (wp - 1)).float().view(-1, 1).repeat(1, 3)
    name, _, reference = mapping.partition("/")
    m = CrossbarMap(q.shape[0], 3, 64, 64, 0, bitcell, wp, name, reference or "tile")
    levels = m.encode(q)
    assert levels.shape == (m.n_w, q.shape[0], m.phys_cols)
    assert levels.min() >= 0 and levels.max() <= 2**bitcell - 1
    assert torch.equal(m.signed_matrix(levels), q)


def test_slice_counts_and_groups():
    assert n_weight_slices(8, 1, "differential") == 7
    assert n_weight_slices(8, 1, "offset") == 8
    assert n_weight_slices(8, 3, "offset") == 3
    m = CrossbarMap(300, 10, 128, 128, 48, 1, 8, "differential")
    sizes = [n for _, n in m.groups]
    assert sizes == [48, 48, 32, 48, 48, 32, 44]  # 128-row tiles, 48-row reads
    assert sum(sizes) == 300
    assert CrossbarMap(300, 10, 128, 128, 0, 1, 8, "offset").groups == [
        (0, 128),
        (128, 128),
        (256, 44),
    ]


def _layer(kind: str, seed: int = 0) -> nn.Module:
    torch.manual_seed(seed)
    return nn.Conv2d(3, 5, 3, padding=1) if kind == "conv" else nn.Linear(150, 7)


def _input(kind: str, seed: int = 1) -> torch.Tensor:
    g = torch.Generator().manual_seed(seed)
    return torch.randn((4, 3, 6, 6) if kind == "conv" else (9, 150), generator=g)


EXACT_CASES = [
    dict(),
    dict(signed_mapping="offset"),
    dict(bitcell=2, dac_precision=2),
    dict(bitcell=3, dac_precision=3, signed_mapping="offset"),
    # a digitally removed offset is exact where no off-state baseline reaches the ADC
    dict(signed_mapping="offset", offset_reference="digital", off_state=0.0),
    dict(
        bitcell=2,
        dac_precision=2,
        signed_mapping="offset",
        offset_reference="digital",
        off_current="subtract",
    ),
    dict(
        signed_mapping="offset", offset_reference="digital", input_offset="dummy_row", off_state=0.0
    ),
    dict(parallel_read=16, sub_array=(32, 64)),
    dict(input_precision=5, weight_precision=6, dac_precision=4, sub_array=(40, 40)),
    dict(off_state=0.0),
]


@pytest.mark.parametrize("kind", ["linear", "conv"])
@pytest.mark.parametrize("over", EXACT_CASES)
def test_noise_free_lossless_adc_is_exact(kind, over):
    """Zero noise + ADC resolving every unit product: equals the integer fake-quant result."""
    sim = sim_config(adc_precision=14, **over)
    eng = LayerEngine("l", _layer(kind), _ranges(wmax=0.2), sim)
    assert eng.lossless
    codes, _ = eng.input_codes(_input(kind))
    ref = eng.reference(codes)
    eng.allow_linear_path = False  # the full bit-sliced analog path
    slow = eng.mvm(codes, eng.program(None))
    assert torch.equal(slow, ref)
    eng.allow_linear_path = True
    chip = eng.program(None)
    assert chip.effective is not None
    assert torch.equal(eng.mvm(codes, chip), ref)


@pytest.mark.parametrize("kind", ["linear", "conv"])
def test_reference_matches_float_layer(kind):
    layer = _layer(kind)
    x = _input(kind)
    sim = sim_config(weight_precision=16, input_precision=16)
    wmax = float(layer.weight.detach().abs().max())
    eng = LayerEngine("l", layer, _ranges(wmax=wmax, lo=-5, hi=5), sim)
    codes, meta = eng.input_codes(x)
    out = eng.finish(eng.reference(codes), meta)
    torch.testing.assert_close(out, layer(x).detach(), atol=1e-3, rtol=1e-3)


def test_linear_path_with_stuck_cells_matches_analog_path():
    sim = sim_config(adc_precision=12, rate_stuck_0=0.05, rate_stuck_1=0.05)
    eng = LayerEngine("l", _layer("linear"), _ranges(wmax=0.2), sim)
    codes, _ = eng.input_codes(_input("linear"))
    fast = eng.mvm(codes, eng.program(torch.Generator().manual_seed(3)))
    eng.allow_linear_path = False
    slow = eng.mvm(codes, eng.program(torch.Generator().manual_seed(3)))
    assert torch.equal(fast, slow)
    assert not torch.equal(fast, eng.reference(codes))  # faults do change the result


def test_digital_offset_leaves_only_the_baselines_rounding():
    """offset_reference = digital with the off-state baseline in the ADC range: no reference
    column rounds the same baseline, so each read's ADC rounding of c * sum(x) stays, at most
    half a unit product per read (shift-add weighted), and the rest is removed exactly."""
    sim = sim_config(adc_precision=14, signed_mapping="offset", offset_reference="digital")
    eng = LayerEngine("l", _layer("linear"), _ranges(wmax=0.2), sim)
    assert eng.lossless and eng.c > 0 and eng.map.phys_cols == 7  # no reference column
    codes, _ = eng.input_codes(_input("linear"))
    eng.allow_linear_path = False
    err = eng.mvm(codes, eng.program(None)) - eng.reference(codes)
    reads = len(eng.map.groups) * float(eng.map.slice_weights().sum()) * (2**8 - 1)
    assert 0 < float(err.abs().max()) <= 0.5 * reads
    # one baseline per read, so every output of an input vector errs alike
    assert torch.allclose(err, err[:, :1].expand_as(err), atol=0.5)


def test_lossy_adc_error_bounded_by_half_step():
    """Full-range 4-bit ADC, no noise: every read errs by <= step / 2 (shift-add weighted)."""
    sim = sim_config(adc_precision=4, input_precision=4, weight_precision=3)
    eng = LayerEngine("l", _layer("linear"), _ranges(wmax=0.2), sim)
    assert not eng.lossless
    codes, _ = eng.input_codes(_input("linear"))
    err = (eng.mvm(codes, eng.program(None)) - eng.reference(codes)).abs()
    step = eng.step * eng.map.slice_weights()  # (groups, n_w), weighted by slice significance
    bound = 0.5 * float(step.sum()) * (2**4 - 1) * 2  # groups, slices, input bits, +/- arrays
    assert err.max() > 0 and err.max() <= bound


def test_read_noise_variance_matches_sum_x2_sigma2():
    """Var of a noisy column sum = sum_i x_i^2 sigma^2 (unit levels) + ADC rounding 1/12."""
    rows, sigma, reps = 64, 0.3, 4000
    layer = nn.Linear(rows, 4, bias=False)
    with torch.no_grad():
        layer.weight.copy_(torch.tensor([1.0, -1.0, 0.0, 1.0]).view(4, 1).repeat(1, rows))
    # 3-bit inputs fed by a 3-bit DAC: one read per column and array, x in 0..7
    sim = sim_config(
        input_precision=3, dac_precision=3, weight_precision=2, adc_precision=16,
        read_noise=sigma, sub_array=(rows, 64), on_state=1e-4, off_state=2.5e-5,
    )  # fmt: skip
    # the off-state baseline (c = 1/3 unit per input step) keeps every read far above the
    # ADC's lower clip, so rounding is the only ADC effect
    eng = LayerEngine("l", layer, {"input_min": 0.0, "input_max": 7.0, "weight_max": 1.0}, sim)
    x = torch.arange(rows).remainder(8).float()
    codes = x.repeat(reps, 1)
    noise = NoiseStream(torch.Generator().manual_seed(0), "cpu")
    t = eng.mvm(codes, eng.program(None), noise)
    ideal = eng.reference(codes[:1])
    # each logical output = positive column - negative column, both read with fresh noise
    expected = 2 * (float((x**2).sum()) * sigma**2 + 1 / 12)
    var = t.var(dim=0)
    torch.testing.assert_close(t.mean(0), ideal[0], atol=4 * expected**0.5 / reps**0.5, rtol=0)
    assert var.div(expected).sub(1).abs().max() < 0.1, var / expected


def test_output_noise_is_in_adc_lsb():
    rows, reps = 32, 4000
    layer = nn.Linear(rows, 2, bias=False)
    with torch.no_grad():
        layer.weight.fill_(1.0)
    sim = sim_config(input_precision=1, weight_precision=2, adc_precision=3, output_noise=0.7,
                     sub_array=(rows, 64), off_state=0.0)  # fmt: skip
    eng = LayerEngine("l", layer, {"input_min": 0.0, "input_max": 1.0, "weight_max": 1.0}, sim)
    step = float(eng.step[0, 0])  # 32 / 7 unit products per LSB
    assert step == pytest.approx(32 / 7)
    codes = torch.zeros(reps, rows)  # zero inputs: the negative column reads noise only
    codes[:, :16] = 1
    noise = NoiseStream(torch.Generator().manual_seed(1), "cpu")
    stats_t = eng.mvm(codes, eng.program(None), noise)
    # positive column: 16 + noise, negative: 0 + noise (clipped at code 0, so not Gaussian);
    # the spread must be of the order of 0.7 LSB = 0.7 * step units, not of 0.7 units
    assert stats_t.std(0).min() > 0.4 * step


def test_tuned_adc_range_beats_calibrated_and_full():
    """adc_range = tuned: layer output error on the calibration set <= calibrated and full."""
    layer = _layer("linear", seed=2)
    g = torch.Generator().manual_seed(4)
    x = torch.randn(256, 150, generator=g).clamp(min=0) ** 2  # skewed post-ReLU inputs
    sim = sim_config(adc_precision=4, read_noise=0.1, adc_range="tuned")
    rng = {"input_min": 0.0, "input_max": float(x.max()), "weight_max": 0.1}

    def out_error(eng: LayerEngine, codes: torch.Tensor) -> float:
        eng.read_sigma = 0.0  # compare the ranges on noise-free reads
        t = eng.mvm(codes, eng.program(None)).double()
        return float((t - eng.reference(codes).double()).pow(2).sum())

    engines = [LayerEngine("l", layer, rng, sim) for _ in range(4)]
    full, cal, tuned, again = engines
    codes, _ = full.input_codes(x)
    for eng in (cal, tuned, again):
        eng.calibrate_adc(codes)
    tuned_err = tuned.tune_adc(codes)
    again.tune_adc(codes)
    assert tuned.read_sigma > 0  # the noise setting is restored after the noise-free search
    assert torch.equal(tuned.hi, again.hi)  # deterministic
    assert (tuned.hi <= tuned.full_scale[:, None]).all()
    errors = {name: out_error(e, codes) for name, e in (("full", full), ("cal", cal))}
    errors["tuned"] = out_error(tuned, codes)
    assert errors["tuned"] == pytest.approx(tuned_err)
    # here the per-ADC calibration is far from the layer optimum
    assert errors["tuned"] < 0.5 * errors["cal"] and errors["tuned"] < errors["full"], errors


def _all_partial_sums_clips(eng: LayerEngine, codes: torch.Tensor) -> torch.Tensor:
    """Calibrated clips from every noise-free partial sum formed at once (float32 bmm), then
    sampled at the calibration stride: the reference of the chunked sampled reads."""
    chip = eng.program(None, shortcut=False)
    n_x, n_w, pc = eng.n_x, eng.map.n_w, eng.map.phys_cols
    sig = 4.0 ** (eng.dac * torch.arange(n_x, dtype=torch.float64))
    hi = eng.hi.clone()
    for (_size, idx, rows), first, w_b in zip(
        eng.buckets, eng.bucket_first, chip.bucket_weights, strict=True
    ):
        g_b, p_b = rows.shape
        cb = eng._bucket_codes(codes.to(torch.int32), rows, first)
        x, _ = kernel.dac_slices(cb, eng.dac, n_x, False)
        y = torch.bmm(x.reshape(g_b, -1, p_b), w_b).view(g_b, n_x, -1, n_w, pc)
        y = y.permute(0, 3, 1, 2, 4).reshape(g_b * n_w, -1)
        wts = sig[:, None].expand(n_x, y.shape[1] // n_x).reshape(-1)
        stride = max(1, -(-y.shape[1] // adc_calibration.CAL_SAMPLES))
        fs = eng.full_scale[idx][:, None].expand(g_b, n_w).reshape(-1)
        h = calibrate_hi(y[:, ::stride], wts[::stride], eng.adc_bits, fs)
        hi[idx] = h.view(g_b, n_w).to(hi.dtype)
    return hi


@pytest.mark.parametrize("kind", ["linear", "conv"])
@pytest.mark.parametrize("over", [dict(off_state=0.0), dict(), dict(prog_noise=0.05)])
def test_calibrated_clips_do_not_depend_on_the_chunk_size(kind, over):
    """calibrate_adc forms only the sampled partial sums, a bounded number at a time (VGG8
    formed them all: ~17 GB): the same clips at any chunk size, equal to sampling all partial
    sums formed at once (bit for bit with integer cell levels, off_state 0; to float32
    rounding of the sums otherwise)."""
    layer = _layer(kind, seed=3)
    sim = sim_config(adc_precision=4, adc_range="calibrated", sub_array=(32, 64), **over)
    x = _input(kind).clamp(min=0)
    rng = {"input_min": 0.0, "input_max": float(x.max()), "weight_max": 0.5}
    engines = [LayerEngine("l", layer, rng, sim) for _ in range(3)]
    codes, _ = engines[0].input_codes(x)
    engines[0].calibrate_adc(codes)
    for e, elements in zip(engines[1:], (2_000, 30_000), strict=True):  # 10s to 100s of reads
        adc_calibration.calibrate_adc(e, codes, elements)
        assert torch.equal(e.hi, engines[0].hi)
    ref = _all_partial_sums_clips(LayerEngine("l", layer, rng, sim), codes)
    assert (engines[0].hi < engines[0].full_scale[:, None]).any()  # some clips calibrated
    if over == dict(off_state=0.0):
        assert torch.equal(engines[0].hi, ref)
    else:
        torch.testing.assert_close(engines[0].hi, ref, rtol=1e-5, atol=0)


@pytest.mark.parametrize("sigma", [0.0, 0.08, 0.3])
def test_column_snr_matches_analytic_csnr(sigma):
    """SNR of single-read outputs = E[ref^2] / (2 (E[sum x^2] sigma^2 + step^2 / 12)).

    One read per output (3-bit inputs on a 3-bit DAC, one weight slice, one read group) of a
    full-range 6-bit ADC; the output is positive - negative column, each read with its own
    read noise and ADC rounding error. sigma 0.08 makes both terms comparable; sigma 0 leaves
    the ADC alone (random sums spread the rounding error uniformly over a step).
    """
    rows, reps = 64, 3000
    layer = nn.Linear(rows, 4, bias=False)
    with torch.no_grad():
        layer.weight.copy_(torch.tensor([1.0, -1.0, 1.0, -1.0]).view(4, 1).repeat(1, rows))
    sim = sim_config(
        input_precision=3, dac_precision=3, weight_precision=2, adc_precision=6,
        read_noise=sigma, sub_array=(rows, 64), on_state=1e-4, off_state=2.5e-5,
    )  # fmt: skip
    eng = LayerEngine("l", layer, {"input_min": 0.0, "input_max": 7.0, "weight_max": 1.0}, sim)
    assert (eng.map.n_w, eng.n_x, len(eng.map.groups)) == (1, 1, 1)
    step = float(eng.step[0, 0])
    codes = torch.randint(0, 8, (reps, rows), generator=torch.Generator().manual_seed(5)).float()
    noise = NoiseStream(torch.Generator().manual_seed(6), "cpu")
    stats = LayerStats()
    t = eng.mvm(codes, eng.program(None), noise, stats)
    ref = eng.reference(codes)
    assert stats.clipped == 0
    snr = float(ref.pow(2).sum() / (t - ref).pow(2).sum())
    noise_var = float(codes.pow(2).sum(1).mean()) * sigma**2
    csnr = float(ref.pow(2).mean()) / (2 * (noise_var + step**2 / 12))
    if sigma == 0.08:  # both terms matter
        assert 0.5 < noise_var / (step**2 / 12) < 2
    assert snr / csnr == pytest.approx(1.0, abs=0.1), (snr, csnr)


def test_calibrated_clip_can_pick_unit_step():
    """Integer sums within the ADC's codes read exactly at step 1, even when the largest sum
    exceeds 64 * kmax, so that no k/64 * max candidate reaches step 1."""
    from cimsweep.cim.converters import adc_quantize, adc_step, calibrate_hi

    n = 40000
    y = torch.randint(0, 4, (1, n), generator=torch.Generator().manual_seed(0)).float()
    y[0, 0] = 250.0  # one outlier above 64 * kmax = 192 (2-bit ADC)
    hi = calibrate_hi(y, torch.ones(n), 2, torch.tensor([1000.0]))
    assert float(adc_step(hi, 2)) == 1.0
    err = (adc_quantize(y, adc_step(hi, 2), 2)[0] - y).pow(2).sum()
    assert float(err) == (250 - 3) ** 2  # only the outlier clips


@pytest.mark.parametrize(
    "kernel,stride,padding,dilation",
    [
        (3, 1, 1, 1),
        (3, 2, 0, 1),
        ((2, 3), (2, 1), (1, 2), (2, 1)),
        (1, 1, 0, 1),
        (5, 1, 2, 1),
        (7, 2, 3, 1),
        ((3, 2), 1, 1, (1, 2)),  # a run of two, strided: the generic copy
    ],
)
@pytest.mark.parametrize("compiled", [True, False])
def test_im2col_matches_unfold_with_any_pad_value(
    monkeypatch, kernel, stride, padding, dilation, compiled
):
    from cimsweep.cim import kernel as compiled_kernel
    from cimsweep.cim.mapping import im2col

    if compiled and compiled_kernel.library() is None:
        pytest.skip("no C compiler")
    monkeypatch.setattr(compiled_kernel, "fused", lambda device: compiled)
    conv = nn.Conv2d(3, 4, kernel, stride=stride, padding=padding, dilation=dilation)
    x = torch.randint(0, 256, (2, 3, 9, 7)).float()  # codes: exact in float
    cols, (ho, wo) = im2col(x, conv, pad_value=5.0)
    ref = nn.functional.unfold(x - 5.0, conv.kernel_size, conv.dilation, conv.padding, conv.stride)
    assert (ho, wo) == conv(x).shape[2:]
    assert torch.equal(cols, ref.transpose(1, 2).reshape(2 * ho * wo, -1) + 5.0)
