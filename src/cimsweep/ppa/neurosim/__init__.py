"""DNN+NeuroSim's own C++ as a PPA backend: a user's NeuroSim tree driven by path.

NeuroSim (Georgia Tech, CC BY-NC 4.0) is never vendored: :mod:`.build` patches a copy of the
user's ``Param.cpp`` and builds it in a cache, :mod:`.traces` writes the network CSV and the
trace files in the format NeuroSim V1.4's Python hook writes (CSV of bits), :mod:`.v15` those of
V1.5-dev's backbone (one integer per entry), :mod:`.parse` reads its report (same print format
in both) into the analytical backend's result schema, and :mod:`.backend` runs it; the version
is read from the tree (:func:`neurosim_version`). Importing this package does not import torch.
"""

from cimsweep.ppa.neurosim.backend import NeuroSimBackend, NeuroSimError, run_neurosim
from cimsweep.ppa.neurosim.build import build, neurosim_version, patch_param_cpp, patched_values
from cimsweep.ppa.neurosim.parse import parse_report

__all__ = [
    "NeuroSimBackend",
    "NeuroSimError",
    "build",
    "neurosim_version",
    "parse_report",
    "patch_param_cpp",
    "patched_values",
    "run_neurosim",
]
