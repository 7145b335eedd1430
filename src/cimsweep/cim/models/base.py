"""The registry base of the device-model families (drift, read noise, ADC range): a
torch-free :class:`cimsweep.registry.Registered`, shared with the signed weight mappings."""

from cimsweep.registry import Registered

__all__ = ["Registered"]
