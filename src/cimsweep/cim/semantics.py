"""Which NeuroSim-V1.5-style semantics a sim uses (the option parameters of issue 17).

Read by :class:`cimsweep.cim.engine.LayerEngine` and the noise-aware training; every option's
default is cimsweep's own behaviour.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from cimsweep.cim.models.noise import ReadNoiseModel, read_noise_model


@dataclass(frozen=True)
class CellNoise:
    """Read noise drawn once per call as a perturbation of every cell (shared by the batch).

    model: the per-cell law; per_cycle: drawn afresh for every input slice (DAC cycle).
    """

    model: ReadNoiseModel
    per_cycle: bool


def output_noise_exclusive(sim: Mapping[str, Any]) -> bool:
    """``output_noise_mode = exclusive`` with output noise on (NeuroSim's bypass)."""
    return (
        sim.get("output_noise_mode", "additive") == "exclusive"
        and float(sim.get("output_noise", 0.0)) != 0
    )


def effective_sim(sim: Mapping[str, Any]) -> dict[str, Any]:
    """``sim`` with what an exclusive output noise bypasses switched off: programming
    variation, measured levels, drift, read noise and the off-state baseline (stuck cells
    stay)."""
    out = dict(sim)
    if output_noise_exclusive(sim):
        out.update(prog_noise=0.0, v=0.0, nu_std=0.0, read_noise=0.0, mem_states_file="")
        out["off_current"] = "subtract"
    return out


def off_subtracted(sim: Mapping[str, Any]) -> bool:
    """The off-state current is removed in analog before the ADC."""
    return sim.get("off_current", "adc_range") == "subtract"


def drift_per_read(sim: Mapping[str, Any]) -> bool:
    """Retention drift is drawn afresh at every call and input slice."""
    from cimsweep.cim.devices import drifts

    return sim.get("drift_resample", "instance") == "read" and drifts(sim)


def cell_noise(sim: Mapping[str, Any], read_noise: float) -> CellNoise | None:
    """The per-call cell perturbation of the sim's read noise, or None when read noise is
    drawn per read (the compiled kernel's path) or off."""
    resample = str(sim.get("read_noise_resample", "read"))
    model = read_noise_model(sim, read_noise)
    if resample == "read":
        if not model.per_read:
            raise ValueError(
                f"read_noise_model = {model.name} needs read_noise_resample = forward or "
                "cycle (its per-read variance depends on every cell's level)"
            )
        return None
    if read_noise <= 0:
        return None
    return CellNoise(model, per_cycle=resample == "cycle")
