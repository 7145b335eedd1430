"""Drop-in CIM modules and whole-model conversion.

:func:`convert` deep-copies a model and replaces every Linear / Conv2d (``cim_layers`` order)
by a :class:`CIMLayer`; everything else (ReLU, pooling, flatten) stays digital float. Each
CIMLayer runs in one of four modes:

* ``float``: the original layer;
* ``quant``: digital fake-quant reference (integer codes, no analog effects);
* ``calibrate``: sets calibrated ADC ranges from this batch (``adc_range = tuned``: then
  tunes them on the layer's output error), then passes the digital reference on (later
  layers calibrate on noise-free activations, as a design-time calibration would);
* ``cim``: the programmed chip instance (:func:`program`) with read noise from its generator.
"""

from __future__ import annotations

import copy
import weakref

import torch
from torch import nn

from cimsweep.cim.devices import NoiseStream
from cimsweep.cim.engine import Chip, LayerEngine, LayerStats
from cimsweep.nn.models import cim_layers, digital_layer_names, replace_layer

MODES = ("float", "quant", "calibrate", "cim")
MEMO_ELEMENTS = 1 << 24  # largest codes + reference (elements) kept for the next instance


class CIMLayer(nn.Module):
    """A Linear / Conv2d executed on simulated crossbars."""

    def __init__(self, name: str, module: nn.Module, rng: dict, sim: dict):
        super().__init__()
        self.name = name
        self._float = [module]  # not registered: the float layer stays out of named_modules
        self.engine = LayerEngine(name, module, rng, sim)
        self.mode = "cim"
        self.chip: Chip | None = None
        self.noise: NoiseStream | None = None
        self.stats = LayerStats()
        # the last cim-mode input (the same tensor, unmodified, at the next Monte-Carlo
        # instance: a first layer's batch), its codes, finish() meta and digital reference
        self._memo: tuple[torch.Tensor, int, torch.Tensor, tuple, torch.Tensor] | None = None
        self._seen: tuple[weakref.ref, int] | None = None

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if self.mode == "float":
            return self._float[0](x)
        e = self.engine
        if self.mode == "cim":
            return self._forward_cim(x)
        self._memo = self._seen = None  # calibration may change the input scale: keep no codes
        codes, meta = e.input_codes(x)
        if self.mode == "quant":
            return e.finish(e.reference(codes), meta)
        if self.mode == "calibrate":
            e.calibrate_adc(codes)
            if e.adc.tuned:
                e.tune_adc(codes)
            return e.finish(e.reference(codes), meta)
        raise ValueError(f"unknown mode {self.mode!r}; expected one of {MODES}")

    def _codes_and_reference(self, x: torch.Tensor) -> tuple[torch.Tensor, tuple, torch.Tensor]:
        """Input codes, finish() meta and digital reference of ``x``; kept for the next chip
        instance when the same unmodified batch came twice in a row (a first layer's input)."""
        memo = self._memo
        if memo is not None and memo[0] is x and memo[1] == x._version:
            return memo[2], memo[3], memo[4]
        e = self.engine
        codes, meta = e.input_codes(x)
        ref = e.reference(codes)
        seen = self._seen is not None and self._seen[0]() is x and self._seen[1] == x._version
        keep = seen and codes.numel() + ref.numel() <= MEMO_ELEMENTS
        self._memo = (x, x._version, codes, meta, ref) if keep else None
        self._seen = (weakref.ref(x), x._version)  # no reference held: fresh inputs die
        return codes, meta, ref

    def _forward_cim(self, x: torch.Tensor) -> torch.Tensor:
        e = self.engine
        if self.chip is None:
            self.chip = e.program(None)
        codes, meta, ref = self._codes_and_reference(x)
        t = e.mvm(codes, self.chip, self.noise, self.stats)
        if isinstance(e.w_scale, torch.Tensor):  # per-channel scales: weight each column
            scale = e.x_scale * e.w_scale
            self.stats.signal += float(torch.linalg.vector_norm(ref * scale)) ** 2
            self.stats.error += float(torch.linalg.vector_norm((ref - t) * scale)) ** 2
            return e.finish(t, meta)
        scale2 = (e.x_scale * e.w_scale) ** 2
        self.stats.signal += float(torch.linalg.vector_norm(ref)) ** 2 * scale2
        diff = ref - t if self._memo is not None else ref.sub_(t)  # a memoised ref stays
        self.stats.error += float(torch.linalg.vector_norm(diff)) ** 2 * scale2
        return e.finish(t, meta)


def convert(model: nn.Module, ranges: dict, sim: dict) -> nn.Module:
    """Copy of ``model`` (eval mode) whose CIM layers are :class:`CIMLayer` (mode ``cim``).

    Layers marked digital on the model (``models.set_digital_layers``) or named by
    ``sim["digital_layers"]`` stay float modules.
    """
    new = copy.deepcopy(model).eval()
    digital = digital_layer_names(new, sim.get("digital_layers", "none"))
    for name, module in cim_layers(new):
        if name in digital:
            continue
        if name not in ranges:
            raise KeyError(f"no calibration ranges for layer {name!r}; have {sorted(ranges)}")
        replace_layer(new, name, CIMLayer(name, module, ranges[name], sim))
    return new


def cim_modules(model: nn.Module) -> list[CIMLayer]:
    """The CIMLayers of a converted model, in model order."""
    return [m for m in model.modules() if isinstance(m, CIMLayer)]


def set_mode(model: nn.Module, mode: str) -> None:
    """Switch every CIMLayer of ``model`` to ``mode``."""
    if mode not in MODES:
        raise ValueError(f"unknown mode {mode!r}; expected one of {MODES}")
    for m in cim_modules(model):
        m.mode = mode


def program(model: nn.Module, generator: torch.Generator | None) -> None:
    """Program a fresh chip instance into every CIMLayer (layer order) from ``generator``.

    Each layer then takes a read-noise stream seeded from the same generator.
    """
    for m in cim_modules(model):
        m.chip = m.engine.program(generator)
        m.noise = None
        if generator is not None:
            m.noise = NoiseStream(generator, generator.device)


def reset_stats(model: nn.Module) -> None:
    for m in cim_modules(model):
        m.stats = LayerStats()
