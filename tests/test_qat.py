"""Quantization-aware and noise-aware training layers: bit-exact quantizers and STE gradients."""

from __future__ import annotations

import pytest
import torch
from torch import nn

from cimsweep.cim.engine import LayerEngine
from cimsweep.cim.evaluate import sim_config
from cimsweep.nn.quant import calibrate, input_qparams, weight_scale
from cimsweep.training import qat
from cimsweep.workflow.config import load

WP, IP = 6, 5


def _values(mode: str, **extra) -> dict:
    sweep = load({"params": {"training": mode, "weight_precision": WP, "input_precision": IP}})
    values = sweep.stage_values("train", {"dataset": "digits", "model": "mlp"})
    values.update(extra)
    return values


def _layer(kind: str) -> tuple[nn.Module, torch.Tensor]:
    torch.manual_seed(0)
    if kind == "linear":
        return nn.Linear(40, 7), torch.randn(32, 40)
    return nn.Conv2d(3, 5, 3, padding=1), torch.randn(4, 3, 6, 6)


def _calibrated(module: nn.Module, x: torch.Tensor, ip: int = IP, wp: int = WP) -> dict:
    ranges = calibrate(
        nn.Sequential(module),
        x,
        input_precision=ip,
        weight_precision=wp,
        input_method="max",
        weight_method="max",
        percentile=99.99,
    )
    return ranges["0"]


def _qat_layer(module: nn.Module, rng: dict, mode: str = "qat", **extra) -> qat.HardwareAwareLayer:
    values = _values(mode, weight_calib_method="max", input_calib_method="max", **extra)
    gen = torch.Generator().manual_seed(1)
    layer = qat.HardwareAwareLayer("0", module, values, gen)
    layer.input_range.copy_(torch.tensor([rng["input_min"], rng["input_max"]]))
    layer.range_seen.fill_(True)
    return layer


@pytest.mark.parametrize("kind", ["linear", "conv2d"])
def test_fake_quant_codes_equal_simulator_codes_bit_for_bit(kind):
    module, x = _layer(kind)
    rng = _calibrated(module, x)
    layer = _qat_layer(module, rng).eval()
    sim = sim_config(weight_precision=WP, input_precision=IP, adc_precision=16)
    engine = LayerEngine("0", module, rng, sim)
    w_scale = weight_scale(rng["weight_max"], WP)
    w_q = qat.fake_quant_weight_ste(module.weight, layer.weight_max(), WP)
    w_codes = torch.round(w_q.detach() / w_scale)
    assert torch.equal(w_codes.reshape(w_codes.shape[0], -1).T, engine.q_w)
    scale, zp = input_qparams(rng["input_min"], rng["input_max"], IP)
    x_q = qat.fake_quant_input_ste(x, rng["input_min"], rng["input_max"], IP).detach()
    x_codes = torch.round(x_q / scale) + zp
    sim_codes, _ = engine.input_codes(x)
    if kind == "conv2d":
        x_codes = nn.functional.unfold(x_codes - zp, 3, padding=1).transpose(1, 2) + zp
        x_codes = x_codes.reshape(-1, x_codes.shape[-1])
    assert torch.equal(x_codes, sim_codes)
    # ... and so the layer output equals the noise-free simulator's (to float rounding).
    codes, meta = engine.input_codes(x)
    y_sim = engine.finish(engine.mvm(codes, engine.program(None)), meta)
    with torch.no_grad():
        y_qat = layer(x)
    torch.testing.assert_close(y_qat, y_sim, rtol=1e-5, atol=1e-5)


def test_ste_gradients_are_those_of_the_fake_quantized_layer():
    module, x = _layer("linear")
    rng = _calibrated(module, x)
    layer = _qat_layer(module, rng).train()
    x = x.clone()
    x[0, :5] = 10 * rng["input_max"] + 1.0  # beyond the input range: clipped, no gradient
    x.requires_grad_(True)
    g = torch.randn(32, 7)
    (layer(x) * g).sum().backward()
    lo, hi = (float(v) for v in layer.input_range)
    x_q = qat.fake_quant_input_ste(x.detach(), lo, hi, IP)
    w_q = qat.fake_quant_weight_ste(module.weight.detach(), layer.weight_max(), WP)
    torch.testing.assert_close(module.weight.grad, g.T @ x_q)
    torch.testing.assert_close(module.bias.grad, g.sum(0))
    scale, zp = input_qparams(lo, hi, IP)
    inside = (x.detach() >= -zp * scale) & (x.detach() <= (2**IP - 1 - zp) * scale)
    assert not inside[0, :5].any() and inside.sum() > 0.9 * x.numel()
    torch.testing.assert_close(x.grad, (g @ w_q) * inside)
    assert module.weight.grad.abs().sum() > 0


def test_rounded_noise_power_closed_form():
    var = torch.tensor([1e-4, 0.04, 1.0, 25.0], dtype=torch.float64)
    power = qat.rounded_noise_power(var)
    n = torch.randn(400_000, dtype=torch.float64)
    for v, p in zip(var, power, strict=True):
        measured = torch.round(n * v.sqrt()).square().mean()
        assert abs(float(p) - float(measured)) <= 0.02 * float(p) + 1e-5
    assert float(power[0]) < 1e-30 and abs(float(power[-1]) - (25 + 1 / 12)) < 0.01


DIGITAL_OFFSET = dict(signed_mapping="offset", offset_reference="digital", off_current="subtract")


@pytest.mark.parametrize(
    ("read_noise", "adc", "rows", "sparse", "mapping"),
    [
        (0.1, 8, 64, False, {}),
        (0.0, 4, 64, False, {}),
        (0.05, 5, 128, False, {}),
        (0.1, 8, 64, True, {}),
        (0.1, 8, 64, False, DIGITAL_OFFSET),  # one column read per output, not two
        (0.0, 4, 64, False, DIGITAL_OFFSET),
    ],
)
def test_noise_aware_error_power_matches_the_simulator(read_noise, adc, rows, sparse, mapping):
    """The injected noise has the power of the simulator's error (read noise + ADC) vs the
    digital reference, within 15 %, for fine (unit-step) and coarse ADCs (8-bit weights and
    inputs; sparse inputs only with the fine ADC: a coarse ADC rounds sparse small partial
    sums to less than the uniform step**2/12 the model assumes, up to 2.5x less)."""
    from cimsweep.cim.devices import NoiseStream
    from cimsweep.cim.engine import LayerStats

    torch.manual_seed(0)
    module = nn.Linear(100, 16)
    x = torch.randn(256, 100).relu() if sparse else torch.rand(256, 100)
    rng = _calibrated(module, x, 8, 8)
    layer = _qat_layer(
        module,
        rng,
        "noise_aware",
        train_noise=read_noise,
        adc_precision=adc,
        weight_precision=8,
        input_precision=8,
        **mapping,
    )
    layer.sim = sim_config(**{**layer.sim, "sub_array": (rows, 64)})
    predicted = layer.noise_var(x, rng)
    engine = LayerEngine("0", module, rng, layer.sim)
    codes, _ = engine.input_codes(x)
    reference = engine.reference(codes)
    gen = torch.Generator().manual_seed(1)
    errors = []
    for _ in range(10):
        t = engine.mvm(codes, engine.program(gen), NoiseStream(gen, "cpu"), LayerStats())
        errors.append((t - reference).square().mean(1))
    measured = torch.stack(errors).mean()
    assert float(predicted.mean()) == pytest.approx(float(measured), rel=0.15)


def test_noise_aware_training_forward_is_noisy_with_qat_gradients():
    module, x = _layer("linear")
    rng = _calibrated(module, x)
    noisy = _qat_layer(module, rng, "noise_aware", train_noise=0.2, adc_precision=5).train()
    reference = _qat_layer(module, rng).train()
    g = torch.randn(32, 7)
    y_noisy = noisy(x)
    (y_noisy * g).sum().backward()
    grad_noisy = module.weight.grad.clone()
    module.zero_grad()
    y_ref = reference(x)
    (y_ref * g).sum().backward()
    assert (y_noisy - y_ref).abs().mean() > 1e-3
    torch.testing.assert_close(grad_noisy, module.weight.grad)
    with torch.no_grad():  # evaluation runs the deterministic fake-quantized layer
        torch.testing.assert_close(noisy.eval()(x), reference.eval()(x))


def test_wrap_and_unwrap_keep_the_state_dict_and_digital_layers():
    from cimsweep.nn.models import build_model

    model = build_model("mlp", (1, 8, 8), 10)
    keys = list(model.state_dict())
    wrapped = qat.wrap(model, _values("qat", digital_layers="last"))
    names = [w.name for w in wrapped]
    assert len(names) >= 1 and all(isinstance(w, qat.HardwareAwareLayer) for w in wrapped)
    last = [n for n, m in model.named_modules() if isinstance(m, nn.Linear)][-1]
    assert last not in names
    ranges = qat.unwrap(model)
    assert set(ranges) == set(names)
    assert list(model.state_dict()) == keys
    assert qat.wrap(model, _values("float")) == []


def test_training_reads_only_the_parameters_of_its_mode():
    grid = {"adc_precision": [3, 5], "t": [1.0, 100.0], "read_noise": [0.0, 0.1]}
    only_float = load({"grid": {**grid, "training": ["float"]}})
    both = load({"grid": {**grid, "training": ["float", "noise_aware"]}})
    wc = {"dataset": "digits", "model": "mlp", "training": "float", "trained_for": "any"}
    assert only_float.stage_values("train", wc) == both.stage_values("train", wc)
    assert "adc_precision" not in only_float.stage_dir("train")
    # float models are shared by every ADC; noise-aware ones are trained per ADC
    models = both.expand("train")
    assert len(models) == 3 and sum("trained_for~any" in m for m in models) == 1
    assert "trained_for~adc_precision=5" in models[-1]
    na = {**wc, "training": "noise_aware", "trained_for": "adc_precision=5"}
    noise_aware = both.stage_values("train", na)
    assert noise_aware["adc_precision"] == 5 and noise_aware["train_noise"] == 0.05
    for sweep in (only_float, both):
        train_dir = sweep.stage_dir("train")
        assert "/t~" not in train_dir and "read_noise" not in train_dir
        assert "t" not in sweep.stage_values("train", na)
    # inference of a float model never sees the noise-aware training's noise level
    infer_wc = {**wc, "adc_precision": "3", "t": "1.0", "read_noise": "0.1"}
    assert "train_noise" not in both.stage_values("infer", infer_wc)
    assert both.stage_values("infer", infer_wc)["adc_precision"] == 3
    # every full grid point's inference sits under the model trained for it
    for infer, _ in both.point_paths():
        if "training~noise_aware" in infer:
            adc = infer.split("infer/adc_precision~")[1].split("/")[0]
            assert f"trained_for~adc_precision={adc}/" in infer
        else:
            assert "trained_for~any/" in infer


def test_noise_aware_training_clips_weights_to_a_multiple_of_their_std():
    module, x = _layer("linear")
    with torch.no_grad():
        module.weight[0, 0] = 50.0  # an outlier that would set the quantization range
    rng = _calibrated(module, x)
    std = float(module.weight.detach().std())
    _qat_layer(module, rng).train()(x)  # qat: weights untouched
    assert float(module.weight.detach().abs().max()) == 50.0
    layer = _qat_layer(module, rng, "noise_aware", weight_clip=2.0).train()
    layer(x)
    assert float(module.weight.detach().abs().max()) == pytest.approx(2.0 * std, rel=1e-6)


NEUROSIM_KEYS = dict(
    adc_range="unit",
    read_noise_model="multiplicative",
    read_noise_resample="cycle",
    signed_mapping="offset",
    offset_reference="layer",
    input_offset="dummy_row",
    off_current="subtract",
    input_quant="symmetric",
    weight_quant_axis="channel",
)


def test_neurosim_semantics_fake_quant_equals_the_noise_free_simulator() -> None:
    module, x = _layer("linear")
    rng = _calibrated(module, x)
    layer = _qat_layer(module, rng, **NEUROSIM_KEYS).eval()
    sim = sim_config(weight_precision=WP, input_precision=IP, adc_precision=16, **NEUROSIM_KEYS)
    engine = LayerEngine("0", module, rng, sim)
    codes, meta = engine.input_codes(x)
    y_sim = engine.finish(engine.mvm(codes, engine.program(None)), meta)
    with torch.no_grad():
        y_qat = layer(x)
    torch.testing.assert_close(y_qat, y_sim, rtol=1e-5, atol=1e-5)


def test_noise_aware_error_power_follows_multiplicative_per_cycle_noise() -> None:
    """NeuroSim's read noise (sigma * G per cell, drawn per call and DAC cycle) on a unit-step
    ADC that does not clip (64 rows, 7 bits): predicted power within 10 % of the measured
    (2 % measured)."""
    from cimsweep.cim.devices import NoiseStream

    torch.manual_seed(0)
    module = nn.Linear(100, 16)
    x = torch.rand(256, 100)
    rng = _calibrated(module, x, 8, 8)
    kw = dict(train_noise=0.1, adc_precision=7, weight_precision=8, input_precision=8)
    layer = _qat_layer(module, rng, "noise_aware", **kw, **NEUROSIM_KEYS)
    layer.sim = sim_config(**{**layer.sim, "sub_array": (64, 64)})
    assert layer.sim["read_noise_model"] == "multiplicative"
    predicted = layer.noise_var(x, rng)
    engine = LayerEngine("0", module, rng, layer.sim)
    assert engine.cell_noise is not None and engine.lossless
    codes, _ = engine.input_codes(x)
    reference = engine.reference(codes)
    gen = torch.Generator().manual_seed(1)
    errors = []
    for _ in range(10):
        t = engine.mvm(codes, engine.program(gen), NoiseStream(gen, "cpu"))
        errors.append((t - reference).square().mean(1))
    measured = torch.stack(errors).mean()
    assert float(predicted.mean()) == pytest.approx(float(measured), rel=0.10)
