"""Noisy compute-in-memory inference simulator (meanings after DNN+NeuroSim V1.5).

Public entry point: :func:`evaluate`. Building blocks: :mod:`.mapping` (layer -> subarrays x
weight slices), :mod:`.devices` (cell levels and non-idealities), :mod:`.converters`
(DAC / ADC), :mod:`.engine` (vectorised noisy MVM of one layer), :mod:`.layers` (model
conversion).
"""

from cimsweep.cim.engine import LayerEngine
from cimsweep.cim.evaluate import evaluate, instance_seed, sim_config
from cimsweep.cim.layers import CIMLayer, cim_modules, convert, program, set_mode
from cimsweep.cim.mapping import CrossbarMap
from cimsweep.layout import n_input_slices, n_weight_slices

__all__ = [
    "CIMLayer",
    "CrossbarMap",
    "LayerEngine",
    "cim_modules",
    "convert",
    "evaluate",
    "instance_seed",
    "n_input_slices",
    "n_weight_slices",
    "program",
    "set_mode",
    "sim_config",
]
