"""Device-model families looked up by name: drift (:mod:`.drift`), read noise
(:mod:`.noise`) and ADC range (:mod:`.adc`); see :class:`.base.Registered`."""

from cimsweep.cim.models.base import Registered
from cimsweep.cim.models.drift import (
    DriftModel,
    NeuroSimConductanceDrift,
    NeuroSimDrift,
    PCMDrift,
    drift_model,
)

__all__ = [
    "DriftModel",
    "NeuroSimConductanceDrift",
    "NeuroSimDrift",
    "PCMDrift",
    "Registered",
    "drift_model",
]
