"""NeuroSim traces of a trained torch model: weights and one calibration image's inputs."""

from __future__ import annotations

from typing import Any

import numpy as np

from cimsweep.ppa.neurosim.backend import LayerTrace
from cimsweep.ppa.neurosim.traces import NetLayer, input_codes, weight_grid, weight_matrix


def model_traces(model: Any, image: Any, weight_bits: int, input_bits: int) -> list[LayerTrace]:
    """One :class:`LayerTrace` per crossbar layer of ``model`` for one input ``image``
    (``C x H x W`` tensor): the layer's real input activations (im2col-unfolded, as NeuroSim's
    hook stretches them), its weights on NeuroSim's grid, and its network-CSV line (pooling
    detected from the next layer's input size)."""
    import torch
    import torch.nn.functional as F

    from cimsweep.nn.models import cim_layers
    from cimsweep.nn.quant import layer_inputs

    layers = list(cim_layers(model))
    inputs = layer_inputs(model, image.unsqueeze(0).float())
    out: list[LayerTrace] = []
    for i, (name, mod) in enumerate(layers):
        x = inputs[name][0]
        weight: torch.Tensor = mod.weight  # type: ignore[assignment]
        w = np.asarray(weight.detach().cpu().numpy())
        if isinstance(mod, torch.nn.Conv2d):
            k_h, k_w = mod.kernel_size
            if isinstance(mod.padding, str):
                raise ValueError(f"layer {name!r}: padding={mod.padding!r}; give it in pixels")
            stride, pad = mod.stride[0], (int(mod.padding[0]), int(mod.padding[1]))
            cols = F.unfold(x.unsqueeze(0), (k_h, k_w), padding=pad, stride=mod.stride)[0]
            h, wd = int(x.shape[-2]), int(x.shape[-1])
            out_h = (h + 2 * pad[0] - k_h) // stride + 1
            out_w = (wd + 2 * pad[1] - k_w) // stride + 1
            net = NetLayer(h, wd, int(x.shape[0]), k_h, k_w, int(w.shape[0]), 0, stride)
            produced = int(w.shape[0]) * out_h * out_w
            out_hw = out_h
        else:
            cols = x.reshape(-1, 1)
            net = NetLayer(1, 1, int(w.shape[1]), 1, 1, int(w.shape[0]), 0, 1)
            produced, out_hw = int(w.shape[0]), 1
        if i + 1 < len(layers):
            nxt = inputs[layers[i + 1][0]][0]
            pooled = int(nxt.shape[-1]) < out_hw if nxt.dim() == 3 else int(nxt.numel()) < produced
            net = NetLayer(**{**net.__dict__, "pool": int(pooled)})
        out.append(
            LayerTrace(
                name=name,
                net=net,
                weights=weight_grid(weight_matrix(w), weight_bits),
                inputs=input_codes(np.asarray(cols.detach().cpu().numpy()), input_bits),
            )
        )
    return out
