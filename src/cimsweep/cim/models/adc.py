"""ADC range models, looked up by the ``adc_range`` parameter (:mod:`cimsweep.cim.converters`).

A model gives the number of codes and the step (unit products) of a column's ADC from its
input range ``hi``, and says whether that range is calibrated / tuned on data.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, ClassVar

import torch

from cimsweep.cim.converters import adc_step
from cimsweep.cim.models.base import Registered


class AdcModel(Registered):
    """``2**bits`` codes ``0..kmax`` at ``k * step`` over [0, hi] (see :mod:`.converters`)."""

    registry: ClassVar[dict[str, type[Any]]] = {}
    calibrated = False  # ranges set from calibration partial sums (LayerEngine.calibrate_adc)
    tuned = False  # then scaled per layer to minimise its output error (LayerEngine.tune_adc)

    def kmax(self, bits: int) -> int:
        """Largest code."""
        return 2**bits - 1

    def step(self, hi: torch.Tensor, bits: int) -> torch.Tensor:
        """Step (unit products) of ranges ``hi``."""
        return adc_step(hi, bits)


def adc_model(sim: Mapping[str, Any]) -> AdcModel:
    """The sim's ADC model (``adc_range``)."""
    cls: type[AdcModel] = AdcModel.lookup(str(sim.get("adc_range", "full")))
    return cls()


class FullRange(AdcModel):
    """The column's full scale."""

    name = "full"


class CalibratedRange(AdcModel):
    """A clip minimising the significance-weighted ADC MSE (Laubeuf et al.)."""

    name = "calibrated"
    calibrated = True


class TunedRange(AdcModel):
    """The calibrated clip scaled by one per-layer factor minimising the layer's output MSE."""

    name = "tuned"
    calibrated = True
    tuned = True


class UnitClip(AdcModel):
    """NeuroSim V1.5: reads at a step of one unit product, clipped to [0, 2**bits]
    (``2**bits + 1`` codes; the precision is a clip level)."""

    name = "unit"

    def kmax(self, bits: int) -> int:
        return 2**bits

    def step(self, hi: torch.Tensor, bits: int) -> torch.Tensor:
        return torch.ones_like(hi, dtype=torch.float64)
