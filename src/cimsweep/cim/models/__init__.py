"""Device-model families looked up by name: drift (:mod:`.drift`), read noise
(:mod:`.noise`) and ADC range (:mod:`.adc`); see :class:`.base.Registered`."""

from cimsweep.cim.models.base import Registered
from cimsweep.cim.models.drift import DriftModel, NeuroSimDrift, PCMDrift, drift_model

__all__ = ["DriftModel", "NeuroSimDrift", "PCMDrift", "Registered", "drift_model"]
