"""Analytical power/performance/area estimator for analog compute-in-memory accelerators.

``estimate(layers, hw, tech)`` with ``tech = load_tech("config/tech/22nm.yaml")``. Pure
Python: importing this package does not import torch.
"""

from cimsweep.ppa.estimate import (
    BREAKDOWN_KEYS,
    DEFAULT_BACKEND,
    AnalyticalBackend,
    PPABackend,
    estimate,
    normalize_hw,
)
from cimsweep.ppa.tech import TechError, load_tech, tech_file, validate_tech

__all__ = [
    "BREAKDOWN_KEYS",
    "DEFAULT_BACKEND",
    "AnalyticalBackend",
    "PPABackend",
    "TechError",
    "estimate",
    "load_tech",
    "normalize_hw",
    "tech_file",
    "validate_tech",
]
