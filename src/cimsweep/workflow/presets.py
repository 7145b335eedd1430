"""Semantics presets: one ``preset`` value sets a group of parameters at once.

``cimsweep`` is every parameter's declared default. ``neurosim_v1.5`` gives the meanings of
DNN+NeuroSim V1.5's Python backbone (``pytorch_quantization/cim``), as its code means them
(its bugs are not reproduced; see ``docs/neurosim.md``). Keys given explicitly in a config
(``params`` or ``grid``) or as keyword arguments of :func:`cimsweep.cim.sim_config` override the
preset; :func:`resolve` returns the effective values, which is what results record.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from types import MappingProxyType
from typing import Any

from cimsweep.workflow.params import PARAMS, canonical

PRESETS: Mapping[str, Mapping[str, Any]] = MappingProxyType(
    {
        "cimsweep": MappingProxyType({}),
        "neurosim_v1.5": MappingProxyType(
            {
                "adc_range": "unit",
                "read_noise_model": "multiplicative",
                "read_noise_resample": "cycle",
                "signed_mapping": "offset",
                "offset_reference": "layer",
                "input_offset": "dummy_row",
                "off_current": "subtract",
                "input_quant": "symmetric",
                "weight_quant_axis": "channel",
                "input_calib_method": "max",
                "weight_calib_method": "max",
                "digital_layers": "first",
                "drift_resample": "read",
                "drift_model": "neurosim_conductance",
                "output_noise_mode": "exclusive",
            }
        ),
    }
)


def preset_values(name: str) -> dict[str, Any]:
    """Every parameter a preset sets (name -> canonical value); the cimsweep preset sets the
    same keys to their declared defaults, so both presets cover the same keys."""
    if name not in PRESETS:
        raise KeyError(f"unknown preset {name!r}; known: {', '.join(PRESETS)}")
    keys = {k for p in PRESETS.values() for k in p}
    table = PRESETS[name]
    return {k: canonical(k, table.get(k, PARAMS[k].default)) for k in PARAMS if k in keys}


def resolve(values: Mapping[str, Any], explicit: Iterable[str] = ()) -> dict[str, Any]:
    """``values`` with the preset ``values["preset"]`` applied to every key it sets that is
    present in ``values`` and not in ``explicit``; unchanged without a ``preset`` key."""
    out = dict(values)
    if "preset" not in out:
        return out
    keep = set(explicit)
    for key, value in preset_values(str(out["preset"])).items():
        if key in out and key not in keep:
            out[key] = value
    return out
