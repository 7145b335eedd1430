"""Simulate one crossbar layer: accuracy of a single Linear layer under growing read noise.

A 64-input, 10-output layer with fixed random weights classifies random inputs; the labels are
the float layer's own decisions, so the float accuracy is 1 and every loss comes from the
simulated hardware (quantization, ADC, read noise). Run: ``python examples/01_simulate_a_layer.py``.
"""

from __future__ import annotations

import torch
from torch import nn

from cimsweep.cim import evaluate
from cimsweep.nn.quant import calibrate
from cimsweep.workflow.stages import InferValues


def main() -> dict[float, float]:
    """Mean accuracy (fraction) per relative read-noise std."""
    torch.manual_seed(0)
    layer = nn.Sequential(nn.Linear(64, 10))
    x = torch.rand(256, 64)
    with torch.no_grad():
        y = layer(x).argmax(dim=1)

    hw = InferValues(sub_array=(64, 64), adc_precision=5, mc_runs=3)  # every other value: default
    ranges = calibrate(
        layer,
        x,
        input_precision=hw.input_precision,
        weight_precision=hw.weight_precision,
        input_method=hw.input_calib_method,
        weight_method=hw.weight_calib_method,
        percentile=hw.calib_percentile,
    )
    out = {}
    for noise in (0.0, 0.05, 0.2):
        sim = {**hw.as_dict(), "read_noise": noise}
        result = evaluate(layer, ranges, x, y, sim, seed=1)
        out[noise] = result["accuracy_mean"]
        print(f"read_noise {noise:4.2f}: accuracy {result['accuracy_mean']:.3f}")
    return out


if __name__ == "__main__":
    main()
