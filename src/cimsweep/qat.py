"""Quantization-aware and noise-aware training (the ``training`` parameter).

:func:`wrap` replaces every crossbar-mapped Linear / Conv2d of a model by a
:class:`HardwareAwareLayer` for the duration of training, and :func:`unwrap` puts the plain
layers back, so the saved state_dict is that of the zoo model.

* ``qat``: weights and inputs are fake-quantized with the simulator's own quantizers
  (:mod:`cimsweep.quant`: symmetric ``weight_precision``-bit weights clipped at the range chosen
  by ``weight_calib_method``, asymmetric ``input_precision``-bit inputs over a running range
  chosen by ``input_calib_method``); gradients pass a clipped straight-through estimator
  (identity inside the range, zero outside).
* ``noise_aware``: as ``qat``, but the forward value of every layer is the simulator's: a chip
  instance (:class:`cimsweep.cim.engine.LayerEngine`, same mapping, DAC and ADC) programmed
  from the current weights and read with fresh read noise of std ``train_noise``. Gradients
  are those of the fake-quantized layer (straight-through the noise and the ADC).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import torch
import torch.nn.functional as F
from torch import nn

from .models import cim_layers, digital_layer_names
from .quant import (
    choose_input_range,
    choose_weight_max,
    fake_quant_input,
    fake_quant_weight,
    input_qparams,
)

RANGE_MOMENTUM = 0.1  # EMA weight of each training batch's input range
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
)


def straight_through(value: torch.Tensor, surrogate: torch.Tensor) -> torch.Tensor:
    """``value`` in the forward pass, the gradient of ``surrogate`` in the backward pass."""
    return surrogate + (value - surrogate).detach()


def fake_quant_weight_ste(w: torch.Tensor, weight_max: float, bits: int) -> torch.Tensor:
    """Fake-quantized weights; gradient 1 inside ``|w| <= weight_max``, 0 outside."""
    clipped = torch.clamp(w, -weight_max, weight_max)
    return straight_through(fake_quant_weight(clipped.detach(), weight_max, bits), clipped)


def fake_quant_input_ste(x: torch.Tensor, lo: float, hi: float, bits: int) -> torch.Tensor:
    """Fake-quantized inputs over the representable range of ``(lo, hi)``; clipped STE."""
    scale, zero_point = input_qparams(lo, hi, bits)
    low, high = -zero_point * scale, (2**bits - 1 - zero_point) * scale
    clipped = torch.clamp(x, low, high)
    return straight_through(fake_quant_input(clipped.detach(), lo, hi, bits), clipped)


class HardwareAwareLayer(nn.Module):
    """A Linear / Conv2d trained through fake quantization (and the simulated crossbar)."""

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
        self.generator = generator
        if self.mode == "noise_aware":
            from .cim.evaluate import sim_config

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
            self.inner.weight, self.weight_bits, self.weight_method, self.percentile
        )

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
            return F.conv2d(x, w, m.bias, m.stride, m.padding, m.dilation, m.groups)
        return F.linear(x, w, m.bias)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if self.training:
            self._track_input_range(x.detach())
        rng = self.ranges()
        w_q = fake_quant_weight_ste(self.inner.weight, rng["weight_max"], self.weight_bits)
        x_q = fake_quant_input_ste(x, rng["input_min"], rng["input_max"], self.input_bits)
        y = self._layer(x_q, w_q)
        if self.mode == "noise_aware" and self.training:
            y = straight_through(self.simulate(x.detach(), rng).to(y.dtype), y)
        return y

    @torch.no_grad()
    def simulate(self, x: torch.Tensor, rng: Mapping[str, float]) -> torch.Tensor:
        """The layer's output on a freshly programmed, noisy simulated chip."""
        from .cim.devices import NoiseStream
        from .cim.engine import LayerEngine, LayerStats

        engine = LayerEngine(self.name, self.inner, dict(rng), self.sim)
        codes, meta = engine.input_codes(x.float())
        if self.sim["adc_range"] != "full":
            engine.calibrate_adc(codes)
        gen = self.generator
        chip = engine.program(gen)
        noise = NoiseStream(gen, codes.device) if gen is not None else None
        return engine.finish(engine.mvm(codes, chip, noise, LayerStats()), meta)


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
        parent_name, _, attr = name.rpartition(".")
        parent = model.get_submodule(parent_name) if parent_name else model
        setattr(parent, attr, layer)
        wrapped.append(layer)
    return wrapped


def unwrap(model: nn.Module) -> dict[str, dict[str, float]]:
    """Put the plain layers back (in place); returns each wrapped layer's final ranges."""
    ranges = {}
    for name, module in list(model.named_modules()):
        if isinstance(module, HardwareAwareLayer):
            ranges[name] = module.ranges()
            parent_name, _, attr = name.rpartition(".")
            parent = model.get_submodule(parent_name) if parent_name else model
            setattr(parent, attr, module.inner)
    return ranges
