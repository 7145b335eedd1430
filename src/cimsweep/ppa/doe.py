"""The design of experiments :mod:`cimsweep.ppa.fit` runs NeuroSim on, and its networks.

Two networks: a small CIFAR-like CNN (``cnn``: the full design, one NeuroSim run ~15 s on one
core) and cimsweep's VGG8 on CIFAR shapes (``vgg8``: the base point and one-axis points only, one
NeuroSim run 1.5-5 min on one core). Both have seeded weights and one seeded input image.
"""

from __future__ import annotations

import random
from typing import Any

BASE: dict[str, Any] = {
    "tech_node": 22,
    "cell_type": "1T1R",
    "adc_precision": 5,
    "adc_type": "sar",
    "sub_array": (128, 128),
    "bitcell": 1,
    "parallel_read": 0,
    "ppa_mode": "layer",
}
AXES: dict[str, list[Any]] = {
    "adc_precision": [3, 4, 6, 8],
    "adc_type": ["flash"],
    "sub_array": [(64, 64), (256, 256)],
    "bitcell": [2, 4],
    "parallel_read": [16, 32, 64],
    "tech_node": [130, 65, 45, 32],
    "ppa_mode": ["pipeline"],
}
# VGG8's subset of the one-axis points, in the order they are run (most informative first)
VGG8_AXES: dict[str, list[Any]] = {
    "adc_precision": [3, 8],
    "sub_array": [(64, 64), (256, 256)],
    "bitcell": [2],
    "parallel_read": [32],
    "ppa_mode": ["pipeline"],
    "tech_node": [65],
}
# SRAM: NeuroSim V1.4 refuses RRAM below 22 nm, so the advanced nodes are SRAM points
SRAM_NODES = [22, 14, 7, 5, 3, 2, 1]
HELD_OUT_EVERY = 5
# the compared metrics (the DOE table's columns and the fit's ratio table)
METRICS = ("area_mm2", "dynamic_energy_J", "leakage_power_W", "latency_s", "tops_per_w")
NETWORKS = ("cnn", "vgg8")
# input shapes (C, H, W) per network
IN_SHAPES: dict[str, tuple[int, int, int]] = {"cnn": (3, 16, 16), "vgg8": (3, 32, 32)}
IN_SHAPE = IN_SHAPES["cnn"]
NETWORK_FACTS = {
    "cnn": "cimsweep.ppa.doe.network('cnn'): conv3x3 3-64, 64-64 + pool, 64-128 + pool, "
    "FC 2048-128, 128-10 on 3x16x16; torch.manual_seed(0) weights",
    "vgg8": "cimsweep.ppa.doe.network('vgg8'): cimsweep.nn.models.VGG8 on 3x32x32, 10 classes "
    "(conv3x3 128, 128, M, 256, 256, M, 512, 512, M, FC 8192-1024-10, batch norm at its "
    "initial state); torch.manual_seed(0) weights",
}
TRACE_FACTS = {
    net: f"one input image torch.rand{IN_SHAPES[net]} after torch.manual_seed(1); weights and "
    "inputs scaled by their max magnitude to 8-bit two's-complement codes"
    for net in NETWORKS
}


def _folds(points: list[dict[str, Any]], seed: int) -> None:
    order = list(range(len(points)))
    random.Random(seed).shuffle(order)
    for rank, i in enumerate(order):
        points[i]["fold"] = rank % HELD_OUT_EVERY


def doe(n_random: int = 12, seed: int = 0, networks: tuple[str, ...] = ("cnn",)) -> list[dict]:
    """The design: for ``cnn`` base, one-axis variations, SRAM nodes and ``n_random`` seeded
    mixes; for ``vgg8`` base and the :data:`VGG8_AXES` points. Each point has ``id`` (running
    over the whole design, ``cnn`` first), ``network``, ``axis`` (the varied one, ``base``,
    ``random``) and ``fold`` (0-4, assigned per network by a seeded shuffle, so every network has
    points in the held-out fold 0)."""
    points: list[dict[str, Any]] = []
    if "cnn" in networks:
        cnn: list[dict[str, Any]] = [{**BASE, "axis": "base"}]
        for name, values in AXES.items():
            cnn += [{**BASE, name: v, "axis": name} for v in values]
        cnn += [
            {**BASE, "cell_type": "SRAM6T", "tech_node": n, "axis": "sram_node"} for n in SRAM_NODES
        ]
        rng = random.Random(seed)
        for _ in range(n_random):
            p = {**BASE, "axis": "random"}
            p["cell_type"] = rng.choice(["1T1R", "SRAM6T"])
            p["tech_node"] = rng.choice(
                [130, 65, 45, 22] + ([14, 7] if p["cell_type"] != "1T1R" else [])
            )
            p["adc_precision"] = rng.choice([3, 4, 5, 6, 7, 8])
            p["adc_type"] = rng.choice(["sar", "flash"])
            p["sub_array"] = rng.choice([(64, 64), (128, 128), (256, 256)])
            p["bitcell"] = 1 if p["cell_type"] != "1T1R" else rng.choice([1, 2, 4])
            p["parallel_read"] = rng.choice([0, 16, 32, 64, 128])
            p["ppa_mode"] = rng.choice(["layer", "pipeline"])
            cnn.append(p)
        _folds(cnn, seed + 1)
        points += [{**p, "network": "cnn"} for p in cnn]
    if "vgg8" in networks:
        vgg: list[dict[str, Any]] = [{**BASE, "axis": "base"}]
        for name, values in VGG8_AXES.items():
            vgg += [{**BASE, name: v, "axis": name} for v in values]
        _folds(vgg, seed + 2)
        points += [{**p, "network": "vgg8"} for p in vgg]
    first = 0 if "cnn" in networks else len(doe(n_random, seed, ("cnn",)))
    for i, p in enumerate(points):
        p["id"] = first + i
    return points


def network(name: str = "cnn") -> Any:
    """A DOE network (torch, eval mode, ``torch.manual_seed(0)`` weights): ``cnn`` is conv
    3-64-64 (pool) -128 (pool) and FC 2048-128-10 on 3x16x16 inputs; ``vgg8`` is
    :class:`cimsweep.nn.models.VGG8` on 3x32x32 inputs with 10 classes."""
    import torch
    from torch import nn

    torch.manual_seed(0)
    if name == "vgg8":
        from cimsweep.nn.models import VGG8

        return VGG8(IN_SHAPES["vgg8"], 10).eval()
    if name != "cnn":
        raise ValueError(f"unknown DOE network {name!r} (one of {NETWORKS})")
    return nn.Sequential(
        nn.Conv2d(3, 64, 3, padding=1),
        nn.ReLU(),
        nn.Conv2d(64, 64, 3, padding=1),
        nn.ReLU(),
        nn.MaxPool2d(2),
        nn.Conv2d(64, 128, 3, padding=1),
        nn.ReLU(),
        nn.MaxPool2d(2),
        nn.Flatten(),
        nn.Linear(128 * 4 * 4, 128),
        nn.ReLU(),
        nn.Linear(128, 10),
    ).eval()


def doe_network() -> Any:
    """The small CNN (``network('cnn')``), kept for callers of the single-network DOE."""
    return network("cnn")
