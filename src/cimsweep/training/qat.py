"""Quantization-aware and noise-aware training (the ``training`` parameter).

:func:`wrap` replaces every crossbar-mapped Linear / Conv2d of a model by a
:class:`HardwareAwareLayer` for the duration of training, and :func:`unwrap` puts the plain
layers back, so the saved state_dict is that of the zoo model.

* ``qat``: weights and inputs are fake-quantized with the simulator's own quantizers
  (:mod:`cimsweep.nn.quant`: symmetric ``weight_precision``-bit weights clipped at the range chosen
  by ``weight_calib_method``, asymmetric ``input_precision``-bit inputs over a running range
  chosen by ``input_calib_method``); gradients pass a clipped straight-through estimator
  (identity inside the range, zero outside).
* ``noise_aware``: as ``qat``, plus, in every training forward, Gaussian noise on each output
  with the variance the simulator's crossbars add to it (:func:`HardwareAwareLayer.noise_var`):
  read noise of std ``train_noise`` on every cell of every weight slice and both columns of the
  signed pair, read once per DAC input slice, then the ADC's rounding of each read (for a step
  of one unit product E[round(n)**2] of that noise, for a coarser step step**2 / 12 per
  conversion that carries signal; ``output_noise`` on every conversion), all from the
  simulator's own mapping and ADC steps
  (:class:`cimsweep.cim.engine.LayerEngine`, refreshed every ``REFRESH_STEPS`` forwards).
  Gradients pass straight through the noise. Before each training forward the weights are
  clipped to +-``weight_clip`` standard deviations (Joshi et al. 2020), so they fill the
  quantization range and their signal outweighs the weight-independent read noise.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from typing import Any

import torch
import torch.nn.functional as F
from torch import nn

from cimsweep.nn.models import (
    cim_layers,
    digital_layer_names,
    layer_bias,
    layer_weight,
    replace_layer,
)
from cimsweep.nn.quant import (
    channel_weight_max,
    choose_input_range,
    choose_weight_max,
    fake_quant_input,
    fake_quant_weight,
    input_code_max,
    input_qparams,
    quantize_input,
    weight_scale,
)

RANGE_MOMENTUM = 0.1  # EMA weight of each training batch's input range
REFRESH_STEPS = 200  # training forwards between re-derivations of the ADC steps
# Simulator parameters a noise-aware training forward uses (the rest stay ideal: no
# programming variation, drift, stuck cells or output noise during training).
_SIM_KEYS = (
    "weight_precision",
    "input_precision",
    "sub_array",
    "parallel_read",
    "bitcell",
    "dac_precision",
    "adc_precision",
    "signed_mapping",
    "mem_type",
    "on_state",
    "off_state",
    "adc_range",
    "offset_reference",
    "input_offset",
    "off_current",
    "read_noise_model",
    "read_noise_resample",
    "input_quant",
    "weight_quant_axis",
)


def rounded_noise_power(var: torch.Tensor) -> torch.Tensor:
    """``E[round(n)**2]`` for ``n ~ N(0, var)``: the error power left after an ADC with a step
    of one rounds zero-mean Gaussian noise (about ``var + 1/12`` for large ``var``, far below
    ``var`` for small)."""
    sd = var.clamp(min=1e-30).sqrt()
    terms = int(math.ceil(8.0 * float(sd.max()))) + 1 if sd.numel() else 1  # P(|n| > 8 sd) ~ 0
    k = torch.arange(1, terms + 1, device=var.device, dtype=var.dtype)
    upper = torch.special.ndtr(-(k - 0.5) / sd.unsqueeze(-1))  # P(n > k - 1/2)
    # sum_k k**2 P(round(n) = +-k) = sum_k (2k - 1) P(|n| > k - 1/2)
    return (2.0 * (2.0 * k - 1.0) * upper).sum(-1)


def straight_through(value: torch.Tensor, surrogate: torch.Tensor) -> torch.Tensor:
    """``value`` in the forward pass, the gradient of ``surrogate`` in the backward pass."""
    return surrogate + (value - surrogate).detach()


def fake_quant_weight_ste(
    w: torch.Tensor, weight_max: float | torch.Tensor, bits: int
) -> torch.Tensor:
    """Fake-quantized weights; gradient 1 inside ``|w| <= weight_max`` (a float, or per-channel
    clips broadcasting against ``w``), 0 outside."""
    if isinstance(weight_max, torch.Tensor):
        clipped = torch.minimum(torch.maximum(w, -weight_max), weight_max)
    else:
        clipped = torch.clamp(w, -weight_max, weight_max)
    return straight_through(fake_quant_weight(clipped.detach(), weight_max, bits), clipped)


def fake_quant_input_ste(
    x: torch.Tensor, lo: float, hi: float, bits: int, scheme: str = "asymmetric"
) -> torch.Tensor:
    """Fake-quantized inputs over the representable range of ``(lo, hi)``; clipped STE."""
    scale, zero_point = input_qparams(lo, hi, bits, scheme)
    low = -zero_point * scale
    high = (input_code_max(bits, zero_point, scheme) - zero_point) * scale
    clipped = torch.clamp(x, low, high)
    return straight_through(fake_quant_input(clipped.detach(), lo, hi, bits, scheme), clipped)


class HardwareAwareLayer(nn.Module):
    """A Linear / Conv2d trained through fake quantization (plus the crossbar's error power)."""

    input_range: torch.Tensor  # registered buffers
    range_seen: torch.Tensor

    def __init__(
        self,
        name: str,
        module: nn.Module,
        values: Mapping[str, Any],
        generator: torch.Generator | None = None,
    ):
        super().__init__()
        if values["training"] not in ("qat", "noise_aware"):
            raise ValueError(f"training = {values['training']!r} has no hardware-aware layer")
        self.name = name
        self.inner = module
        self.mode = values["training"]
        self.weight_bits = int(values["weight_precision"])
        self.input_bits = int(values["input_precision"])
        self.weight_method = str(values["weight_calib_method"])
        self.input_method = str(values["input_calib_method"])
        self.percentile = float(values["calib_percentile"])
        self.input_scheme = str(values.get("input_quant", "asymmetric"))
        self.per_channel = values.get("weight_quant_axis", "tensor") == "channel"
        self.generator = generator
        self.weight_clip = (
            float(values.get("weight_clip", 0.0)) if self.mode == "noise_aware" else 0.0
        )
        if self.mode == "noise_aware":
            from cimsweep.cim.evaluate import sim_config

            self.sim = sim_config(
                **{k: values[k] for k in _SIM_KEYS}, read_noise=float(values["train_noise"])
            )
        # Running input range (EMA over training batches); part of the checkpoint.
        self.register_buffer("input_range", torch.zeros(2))
        self.register_buffer("range_seen", torch.zeros((), dtype=torch.bool))

    # ------------------------------------------------------------------ ranges
    def weight_max(self) -> float:
        """Weight clip of the current weights (``weight_calib_method``)."""
        return choose_weight_max(
            layer_weight(self.inner), self.weight_bits, self.weight_method, self.percentile
        )

    def weight_clips(self, weight_max: float) -> float | torch.Tensor:
        """The clip(s) the weights are quantized at: ``weight_max``, or per output channel
        (``weight_quant_axis = channel``, shaped like the weight's first axis)."""
        if not self.per_channel:
            return weight_max
        return channel_weight_max(layer_weight(self.inner), weight_max, dim=0)

    def ranges(self) -> dict[str, float]:
        """Current quantization ranges, in the calibration file's layout."""
        lo, hi = (float(v) for v in self.input_range)
        return {"input_min": lo, "input_max": hi, "weight_max": self.weight_max()}

    def _track_input_range(self, x: torch.Tensor) -> None:
        lo, hi = choose_input_range(x, self.input_bits, self.input_method, self.percentile)
        new = torch.tensor([lo, hi], dtype=self.input_range.dtype, device=self.input_range.device)
        if bool(self.range_seen):
            self.input_range.lerp_(new, RANGE_MOMENTUM)
        else:
            self.input_range.copy_(new)
            self.range_seen.fill_(True)

    # ------------------------------------------------------------------ forward
    def _layer(self, x: torch.Tensor, w: torch.Tensor) -> torch.Tensor:
        m = self.inner
        if isinstance(m, nn.Conv2d):
            return F.conv2d(x, w, layer_bias(m), m.stride, m.padding, m.dilation, m.groups)
        return F.linear(x, w, layer_bias(m))

    def clip_weights(self) -> None:
        """Clip the layer's weights (in place) to +-``weight_clip`` standard deviations."""
        with torch.no_grad():
            w = layer_weight(self.inner)
            limit = self.weight_clip * float(w.std())
            w.clamp_(-limit, limit)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if self.training:
            if self.weight_clip > 0:
                self.clip_weights()  # the weights of the last update, before they are used
            self._track_input_range(x.detach())
        rng = self.ranges()
        clips = self.weight_clips(rng["weight_max"])
        w_q = fake_quant_weight_ste(layer_weight(self.inner), clips, self.weight_bits)
        x_q = fake_quant_input_ste(
            x, rng["input_min"], rng["input_max"], self.input_bits, self.input_scheme
        )
        y = self._layer(x_q, w_q)
        if self.mode == "noise_aware" and self.training:
            y = y + self.sample_noise(x.detach(), rng, y)
        return y

    # ------------------------------------------------------------------ noise-aware
    def _refresh(self, x: torch.Tensor, rng: Mapping[str, float]) -> None:
        """Per-layer noise constants from a simulator engine of the current weights."""
        from cimsweep.cim.engine import LayerEngine

        engine = LayerEngine(self.name, self.inner, dict(rng), self.sim)
        if engine.adc.calibrated:
            codes = engine.input_codes(x.float())[0]
            engine.calibrate_adc(codes)
            if engine.adc.tuned:
                engine.tune_adc(codes)
        self._dac, n_x = engine.dac, engine.n_x
        self._coef2 = [4.0 ** (self._dac * b) for b in range(n_x)]  # (2 ** (dac * b)) ** 2
        self._read_var = engine.read_sigma**2  # per cell and unit input, unit products**2
        # per-call cell noise (read_noise_resample = forward / cycle): the per-cell variance of
        # its law (multiplicative: (sigma * G)**2) summed over an output's column and its
        # negative / reference column, averaged over the outputs: (rows, G * n_w) weights
        self._cell_var: torch.Tensor | None = None
        if engine.cell_noise is not None:
            g = engine.levels.double() + engine.c_cell  # (n_w, rows, phys_cols), unit levels
            sd = engine.cell_noise.model.std(g, engine.cell_levels)
            v = torch.as_tensor(sd, dtype=torch.float64).expand_as(g).square()
            main = v[..., : engine.map.cols]
            ref = main - engine.map.combine(v)  # each output's negative / reference column
            member = torch.zeros(engine.map.rows, len(engine.map.groups), dtype=torch.float64)
            for gi, (first, rows) in enumerate(engine.map.groups):
                member[first : first + rows, gi] = 1.0
            self._cell_var = torch.cat(
                [(member[:, :, None] * c.mean(-1).t()[:, None, :]).flatten(1) for c in (main, ref)],
                dim=1,
            ).float()  # (rows, 2 * G * n_w): column, then reference
            self._sw2 = engine.map.slice_weights().square().float()  # (n_w,)
            self._step2 = engine.step.square().float()  # (G, n_w)
            self._fine_w = engine.step <= 1  # (G, n_w)
        self._out_var = engine.out_sigma**2  # per conversion, ADC steps**2
        # both columns of the differential pair (or column and reference); one column where
        # the offset is removed digitally
        pair = float(engine.map.mapping.read_columns_per_output)
        w2 = pair * engine.map.slice_weights().square()[None, :]  # (1, n_w)
        step = engine.step.double()  # (G, n_w), unit products
        fine = (step <= 1).double()
        self._fine = (w2 * fine).sum(1).float()  # (G,)
        self._has_fine = bool(fine.any())
        self._coarse = (w2 * (1 - fine)).sum(1).float()
        self._coarse_step2 = (w2 * (1 - fine) * step.square()).sum(1).float()
        groups = torch.zeros(engine.map.rows, len(engine.map.groups))
        for gi, (first, rows) in enumerate(engine.map.groups):
            groups[first : first + rows, gi] = 1.0
        self._groups = groups
        self._steps_since_refresh = 0

    def noise_var(self, x: torch.Tensor, rng: Mapping[str, float]) -> torch.Tensor:
        """Error power the simulated crossbar adds to each output (integer-product units**2),
        one value per output vector (row of the layer's input matrix).

        Per read (read group, input slice, weight slice, column of the signed pair), noise of
        variance ``s2 = read_sigma**2 * sum_i x_i**2`` (plus output noise) meets the ADC: a
        step of one unit product rounds it (``E[round(n)**2]``, which removes most of a small
        noise), a coarser step adds ``step**2 / 12`` to reads that carry signal.
        """
        if getattr(self, "_steps_since_refresh", REFRESH_STEPS) >= REFRESH_STEPS:
            self._refresh(x, rng)
        self._steps_since_refresh += 1
        scheme = self.input_scheme
        scale, zp = input_qparams(rng["input_min"], rng["input_max"], self.input_bits, scheme)
        codes = quantize_input(x.float(), scale, zp, self.input_bits, scheme)
        if isinstance(self.inner, nn.Conv2d):
            from cimsweep.cim.mapping import im2col

            codes = im2col(codes, self.inner, float(zp))[0]
        else:
            codes = codes.reshape(-1, codes.shape[-1])
        codes = codes.to(torch.int64)
        dev = x.device
        groups = self._groups.to(dev)
        fine, coarse = self._fine.to(dev), self._coarse.to(dev)
        coarse_step2 = self._coarse_step2.to(dev)
        var = torch.zeros(codes.shape[0], device=dev)
        if self._cell_var is not None:
            return self._cell_noise_var(codes, var)
        for b, coef2 in enumerate(self._coef2):
            x_b = torch.bitwise_and(codes >> (self._dac * b), (1 << self._dac) - 1).float()
            sx2 = x_b.square() @ groups  # (M, G): sum of squared inputs per read group
            s2 = self._read_var * sx2 + self._out_var
            live = ((sx2 > 0) | (self._out_var > 0)).float()
            per_group = s2 * coarse + live * coarse_step2 / 12
            if self._has_fine:
                per_group = per_group + rounded_noise_power(s2) * fine
            var += coef2 * per_group.sum(1)
        return var

    def _cell_noise_var(self, codes: torch.Tensor, var: torch.Tensor) -> torch.Tensor:
        """:meth:`noise_var` for per-call cell noise: per read group and weight slice, the
        cells' own variances; two ADC conversions (column and reference) per output."""
        assert self._cell_var is not None
        dev = var.device
        cell_var, groups = self._cell_var.to(dev), self._groups.to(dev)
        sw2, step2, fine = self._sw2.to(dev), self._step2.to(dev), self._fine_w.to(dev)
        n_g, n_w = step2.shape
        for b, coef2 in enumerate(self._coef2):
            x_b = torch.bitwise_and(codes >> (self._dac * b), (1 << self._dac) - 1).float()
            s2 = (x_b.square() @ cell_var).view(-1, 2, n_g, n_w) + self._out_var
            live = (((x_b @ groups) > 0) | (self._out_var > 0)).float()[:, :, None]
            coarse = s2.sum(1) + 2 * live * step2 / 12
            per = torch.where(fine, rounded_noise_power(s2).sum(1), coarse)
            var += coef2 * (per * sw2).sum((1, 2))
        return var

    def sample_noise(
        self, x: torch.Tensor, rng: Mapping[str, float], y: torch.Tensor
    ) -> torch.Tensor:
        """Gaussian output noise (shape of ``y``) with the simulator's variance, in output units."""
        var = self.noise_var(x, rng)
        lo, hi = rng["input_min"], rng["input_max"]
        unit = input_qparams(lo, hi, self.input_bits, self.input_scheme)[0]
        w_unit = weight_scale(self.weight_clips(rng["weight_max"]), self.weight_bits)
        if isinstance(w_unit, torch.Tensor):  # per channel: one output unit per channel
            w_unit = w_unit.reshape(-1).to(var.dtype)
            sd = var.sqrt()[:, None] * (unit * w_unit)  # (M, channels)
            if y.dim() == 4:
                n, _, ho, wo = y.shape
                sd = sd.view(n, ho, wo, -1).permute(0, 3, 1, 2)
            else:
                sd = sd.view(*y.shape)
        else:
            sd = var.sqrt() * (unit * w_unit)
            if y.dim() == 4:  # conv: one variance per output position, shared by the channels
                n, _, ho, wo = y.shape
                sd = sd.view(n, ho, wo).unsqueeze(1)
            else:
                sd = sd.view(*y.shape[:-1], 1)
        eps = torch.randn(y.shape, generator=self.generator, device=y.device, dtype=y.dtype)
        return eps * sd.to(y.dtype)


def wrap(
    model: nn.Module, values: Mapping[str, Any], generator: torch.Generator | None = None
) -> list[HardwareAwareLayer]:
    """Replace the crossbar layers of ``model`` (in place) for ``training = qat / noise_aware``.

    Layers kept digital (``digital_layers``) stay float. Returns the new layers; a no-op
    returning ``[]`` for ``training = float``.
    """
    if values["training"] == "float":
        return []
    digital = digital_layer_names(model, values["digital_layers"])
    wrapped = []
    for name, module in cim_layers(model):
        if name in digital:
            continue
        layer = HardwareAwareLayer(name, module, values, generator)
        replace_layer(model, name, layer)
        wrapped.append(layer)
    return wrapped


def unwrap(model: nn.Module) -> dict[str, dict[str, float]]:
    """Put the plain layers back (in place); returns each wrapped layer's final ranges."""
    ranges = {}
    for name, module in list(model.named_modules()):
        if isinstance(module, HardwareAwareLayer):
            if module.weight_clip > 0:
                module.clip_weights()  # the last update too
            ranges[name] = module.ranges()
            replace_layer(model, name, module.inner)
    return ranges
