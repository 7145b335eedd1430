"""DNN+NeuroSim V1.3's published VGG8 / CIFAR-10 figures and the configuration behind them.

Shared by the PPA tests and ``benchmarks/bench_ppa.py``. Source: the DNN+NeuroSim V1.3 manual's
example output (8-bit weights and activations, 22 nm, RRAM 1T1R, 2 bits per cell, 128x128
subarrays, 5-bit ADC, layer-by-layer). Ops = 2 x MACs = 1.23e9 for VGG8.
"""

from __future__ import annotations

NEUROSIM = {
    "area_mm2": 45.6,
    "dynamic_energy_J": 37.8e-6,
    "leakage_energy_J": 1.19e-6,
    "energy_J": 37.8e-6 + 1.19e-6,
    "latency_s": 1.46e-3,
    "tops_per_w": 25.7,
    "tops": 0.85,
    "tops_per_mm2": 0.0186,
    "adc_energy_share": 0.48,
    "accumulation_energy_share": 0.14,
    "adc_area_share": 0.32,
    "array_area_share": 0.034,
}
NEUROSIM_HW = {
    "tech_node": 22,
    "sub_array": (128, 128),
    "parallel_read": 0,
    "bitcell": 2,
    "weight_precision": 8,
    "input_precision": 8,
    "dac_precision": 1,
    "adc_precision": 5,
    "adc_type": "flash",
    "column_mux": 8,
    "cell_type": "1T1R",
    "ppa_mode": "layer",
    "mem_type": "resistive",
    "on_state": 1 / 6e3,
    "off_state": 1 / 900e3,
    "signed_mapping": "offset",
}


def vgg8_geometry() -> list[dict]:
    """VGG8 geometry as LayerGeometry dicts (built directly: no torch)."""
    layers = []
    spec = [
        (3, 128, 32),
        (128, 128, 32),
        (128, 256, 16),
        (256, 256, 16),
        (256, 512, 8),
        (512, 512, 8),
    ]
    for i, (cin, cout, hw) in enumerate(spec):
        layers.append(
            {
                "name": f"conv{i + 1}",
                "kind": "conv2d",
                "rows": 9 * cin,
                "cols": cout,
                "vectors": hw * hw,
                "kernel": (3, 3),
                "in_channels": cin,
                "out_hw": (hw, hw),
            }
        )
    layers.append({"name": "fc1", "kind": "linear", "rows": 8192, "cols": 1024, "vectors": 1})
    layers.append({"name": "fc2", "kind": "linear", "rows": 1024, "cols": 10, "vectors": 1})
    return layers
