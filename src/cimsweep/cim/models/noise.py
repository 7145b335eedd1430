"""Read-noise models, looked up by the ``read_noise_model`` parameter.

A model perturbs cells: :meth:`ReadNoiseModel.perturb` returns noise (unit levels) for cells
of conductance ``g`` (unit levels, off-state baseline included) from one draw.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, ClassVar

import torch

from cimsweep.cim.models.base import Registered


class ReadNoiseModel(Registered):
    """Per-cell read noise of relative std ``sigma``."""

    registry: ClassVar[dict[str, type[Any]]] = {}
    per_read = False  # the compiled kernel can draw it fresh per read (level-independent)

    def __init__(self, sigma: float) -> None:
        self.sigma = float(sigma)

    def std(self, g: torch.Tensor, cell_levels: int) -> torch.Tensor | float:
        """Noise std (unit levels) of cells of conductance ``g`` (unit levels)."""
        raise NotImplementedError

    def perturb(
        self, g: torch.Tensor, cell_levels: int, generator: torch.Generator
    ) -> torch.Tensor:
        """One draw of noise (unit levels) shaped like ``g``."""
        eps = torch.randn(g.shape, generator=generator, device=g.device, dtype=g.dtype)
        return eps.mul_(self.std(g, cell_levels))


def read_noise_model(sim: Mapping[str, Any], sigma: float) -> ReadNoiseModel:
    """The sim's read-noise model with relative std ``sigma``."""
    cls: type[ReadNoiseModel] = ReadNoiseModel.lookup(str(sim.get("read_noise_model", "additive")))
    return cls(sigma)


class AdditiveNoise(ReadNoiseModel):
    """``sigma * (on - off)`` on every cell, whatever its level."""

    name = "additive"
    per_read = True

    def std(self, g: torch.Tensor, cell_levels: int) -> float:
        return self.sigma * (cell_levels - 1)


class MultiplicativeNoise(ReadNoiseModel):
    """NeuroSim V1.5: ``sigma * G`` of each cell."""

    name = "multiplicative"

    def std(self, g: torch.Tensor, cell_levels: int) -> torch.Tensor:
        return g.clamp(min=0.0) * self.sigma
