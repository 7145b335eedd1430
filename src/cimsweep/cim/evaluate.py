"""Monte-Carlo accuracy of a calibrated model on simulated CIM chips."""

from __future__ import annotations

import copy
import time
from typing import Any

import numpy as np
import torch
from torch import nn

from cimsweep.cim.layers import cim_modules, convert, program, reset_stats, set_mode
from cimsweep.cim.models.adc import adc_model
from cimsweep.workflow.params import PARAMS, canonical, stage_params
from cimsweep.workflow.presets import resolve


def sim_config(**overrides: Any) -> dict[str, Any]:
    """Every ``calib`` and ``infer`` parameter at its default (canonical), with overrides.

    ``preset`` (e.g. ``sim_config(preset="neurosim_v1.5", adc_precision=5)``) sets its group
    of parameters (:mod:`cimsweep.workflow.presets`); other overrides take precedence.
    """
    names = set(stage_params("calib")) | set(stage_params("infer"))
    unknown = set(overrides) - set(PARAMS)
    if unknown:
        raise KeyError(f"unknown parameters {sorted(unknown)}")
    out = {n: canonical(n, PARAMS[n].default) for n in PARAMS if n in names}
    out.update({k: canonical(k, v) for k, v in overrides.items()})
    return resolve(out, explicit=set(overrides) - {"preset"})


def instance_seed(seed: int, index: int) -> int:
    """Seed of Monte-Carlo chip instance ``index`` (independent streams per (seed, index))."""
    state = np.random.SeedSequence([int(seed), int(index)]).generate_state(2, dtype=np.uint32)
    return (int(state[0]) << 31) ^ int(state[1])


def _accuracy(logits: torch.Tensor, y: torch.Tensor) -> float:
    return float((logits.argmax(1) == y).float().mean()) if len(y) else float("nan")


def evaluate(
    model: nn.Module,
    ranges: dict,
    x_test: torch.Tensor,
    y_test: torch.Tensor,
    sim: dict[str, Any],
    *,
    seed: int,
    x_calib: torch.Tensor | None = None,
) -> dict:
    """Accuracy (fractions) of ``sim["mc_runs"]`` chip instances, plus references and stats.

    ``sim``: the ``calib`` and ``infer`` parameters by name (missing ones take their defaults).
    ``x_calib`` is required for ``adc_range = calibrated`` or ``tuned`` (noise-free ADC range
    calibration, shared by all instances). Instance ``i`` draws programming variation, drift,
    stuck-at faults and then its read noise from one generator seeded by ``instance_seed(seed, i)``.

    Returns (JSON-able; accuracies are fractions): ``accuracy_mean``, ``accuracy_std``
    (population std over instances), ``accuracies``, ``quantized_accuracy`` (digital
    fake-quant), ``float_accuracy``, ``seconds`` and ``layers`` -> name -> ``adc_clip_rate``
    (fraction of ADC conversions saturated), ``snr_db`` (layer output vs. the digital result
    on the same input, pooled over instances; None when error-free), ``adc_reads_per_sample``,
    ``adc_step_mean`` (unit products), ``adc_lossless`` and mapping facts (``rows``, ``cols``,
    ``weight_slices``, ``input_slices``, ``read_groups``, ``subarrays``, ``phys_cols``).
    """
    sim = sim_config(**{k: v for k, v in sim.items() if k in PARAMS})
    device = x_test.device
    start = time.perf_counter()
    on_device = all(p.device == device for p in model.parameters())
    cm = convert(model if on_device else copy.deepcopy(model).to(device), ranges, sim)
    result: dict[str, Any] = {}
    with torch.no_grad():
        set_mode(cm, "float")
        result["float_accuracy"] = _accuracy(cm(x_test), y_test)
        set_mode(cm, "quant")
        result["quantized_accuracy"] = _accuracy(cm(x_test), y_test)
        if adc_model(sim).calibrated:
            if x_calib is None:
                raise ValueError(f"adc_range = {sim['adc_range']} needs x_calib")
            set_mode(cm, "calibrate")
            cm(x_calib.to(device))
        set_mode(cm, "cim")
        reset_stats(cm)
        accs = []
        for i in range(int(sim["mc_runs"])):
            gen = torch.Generator(device=device).manual_seed(instance_seed(seed, i))
            program(cm, gen)
            accs.append(_accuracy(cm(x_test), y_test))
    layers = {}
    for m in cim_modules(cm):
        info = m.engine.describe()
        info["adc_reads_per_sample"] = m.stats.reads / max(1, len(x_test) * len(accs))
        info["adc_clip_rate"] = m.stats.clipped / m.stats.reads if m.stats.reads else 0.0
        info["snr_db"] = m.stats.snr_db()
        layers[m.name] = info
    result.update(
        accuracy_mean=float(np.mean(accs)),
        accuracy_std=float(np.std(accs)),
        accuracies=[float(a) for a in accs],
        layers=layers,
        seconds=time.perf_counter() - start,
    )
    return result
