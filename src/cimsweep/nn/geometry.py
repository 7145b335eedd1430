"""Layer geometry: what each crossbar-mapped layer looks like as a matrix-vector product.

A Conv2d becomes im2col: a weight matrix of ``k_h * k_w * C_in`` rows by ``C_out`` columns,
applied once per output pixel. A Linear is one product per sample.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass

import torch
from torch import nn

from cimsweep.nn.models import cim_layers


@dataclass(frozen=True)
class LayerGeometry:
    """One crossbar-mapped layer.

    rows: inputs per dot product (``k*k*C_in`` or ``in_features``).
    cols: outputs (``C_out`` or ``out_features``).
    vectors: dot-product vectors per inference (output pixels; 1 for Linear).
    """

    name: str
    kind: str
    rows: int
    cols: int
    vectors: int
    kernel: tuple[int, int] = (1, 1)
    in_channels: int = 0
    out_hw: tuple[int, int] = (1, 1)

    @property
    def macs(self) -> int:
        """Multiply-accumulates per inference."""
        return self.rows * self.cols * self.vectors

    def to_dict(self) -> dict:
        return asdict(self)

    @classmethod
    def from_dict(cls, d: dict) -> LayerGeometry:
        d = dict(d)
        d["kernel"] = tuple(d.get("kernel", (1, 1)))
        d["out_hw"] = tuple(d.get("out_hw", (1, 1)))
        return cls(**d)


def layer_geometry(model: nn.Module, in_shape: tuple[int, int, int]) -> list[LayerGeometry]:
    """Trace one dummy sample through ``model`` and describe each Linear/Conv2d layer."""
    shapes: dict[str, tuple[int, ...]] = {}
    hooks = []
    for name, module in cim_layers(model):
        hooks.append(
            module.register_forward_hook(
                lambda _m, _i, out, name=name: shapes.__setitem__(name, tuple(out.shape))
            )
        )
    was_training = model.training
    model.eval()
    try:
        with torch.no_grad():
            model(torch.zeros(1, *in_shape))
    finally:
        for h in hooks:
            h.remove()
        model.train(was_training)
    result = []
    for name, module in cim_layers(model):
        out = shapes[name]
        if isinstance(module, nn.Conv2d):
            kh, kw = module.kernel_size
            result.append(
                LayerGeometry(
                    name=name,
                    kind="conv2d",
                    rows=kh * kw * module.in_channels // module.groups,
                    cols=module.out_channels,
                    vectors=out[2] * out[3],
                    kernel=(kh, kw),
                    in_channels=module.in_channels,
                    out_hw=(out[2], out[3]),
                )
            )
        elif isinstance(module, nn.Linear):
            result.append(
                LayerGeometry(
                    name=name,
                    kind="linear",
                    rows=module.in_features,
                    cols=module.out_features,
                    vectors=1,
                    in_channels=module.in_features,
                )
            )
        else:  # cim_layers maps only these two
            raise TypeError(f"{name}: {type(module).__name__} is not a Conv2d or Linear layer")
    return result
