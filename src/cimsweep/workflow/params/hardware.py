"""PPA-only hardware parameters."""

from __future__ import annotations

from .base import Param, declare

PARAMS: list[Param] = [
    declare(
        "tech_node",
        "int",
        22,
        "ppa",
        "Technology node.",
        unit="nm",
        choices=(130, 65, 45, 32, 22, 14, 7, 5, 3, 2, 1),
    ),
    declare("adc_type", "str", "sar", "ppa", "ADC architecture.", choices=("sar", "flash")),
    declare("column_mux", "int", 8, "ppa", "Columns sharing one ADC.", minimum=1),
    declare(
        "cell_type",
        "str",
        "1T1R",
        "ppa",
        "Memory-cell circuit (sets the footprint in F^2).",
        choices=("1T1R", "SRAM6T", "SRAM8T"),
    ),
    declare(
        "ppa_mode",
        "str",
        "layer",
        "ppa",
        "Latency model: layer-by-layer or pipelined across layers.",
        choices=("layer", "pipeline"),
    ),
    declare(
        "ppa_backend",
        "str",
        "analytical",
        "ppa",
        "PPA model: the built-in analytical estimate, or NeuroSim's C++ built from neurosim_dir "
        "and run on the trained model's traces.",
        choices=("analytical", "neurosim"),
    ),
    declare(
        "neurosim_dir",
        "path",
        "",
        "ppa",
        "NeuroSim source tree for ppa_backend: neurosim (V1.4's Inference_pytorch/NeuroSIM or "
        "a checkout holding it); its Param.cpp is the base that gets patched.",
    ),
    declare(
        "ppa_calibration",
        "path",
        "",
        "ppa",
        "Calibration file for the analytical estimate (written by python -m cimsweep.ppa.fit, "
        "e.g. config/tech/calibration_neurosim_v1.4.yaml): its per-metric factors scale area, "
        "dynamic energy, leakage power and latency, its tech settings (weight duplication) "
        "apply first. Empty: uncalibrated. NeuroSim-backend points are never scaled.",
    ),
]
