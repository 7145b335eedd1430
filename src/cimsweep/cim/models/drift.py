"""Retention drift models, looked up by the ``drift_model`` parameter.

A model acts on normalised levels ``n`` (:mod:`cimsweep.cim.devices`) of one chip instance;
t is in s with t0 = 1 s.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from typing import Any, ClassVar

import torch

from cimsweep.cim.models.base import Registered


class DriftModel(Registered):
    """A retention law; subclasses set ``name`` and implement :meth:`apply`."""

    registry: ClassVar[dict[str, type[Any]]] = {}

    def __init__(self, sim: Mapping[str, Any]) -> None:
        self.t = float(sim["t"])
        self.v = float(sim["v"])
        self.sim = sim

    @property
    def active(self) -> bool:
        """Whether the law changes levels at all."""
        return self.v > 0 and self.t > 1

    def apply(
        self, n: torch.Tensor, *, cell_levels: int, c: float, generator: torch.Generator
    ) -> torch.Tensor:
        """Drifted normalised levels (may return ``n`` itself when inactive)."""
        raise NotImplementedError


def drift_model(sim: Mapping[str, Any]) -> DriftModel:
    """The sim's drift model instance (``drift_model``, default ``neurosim``)."""
    cls: type[DriftModel] = DriftModel.lookup(str(sim.get("drift_model", "neurosim")))
    return cls(sim)


class NeuroSimDrift(DriftModel):
    """NeuroSim retention ``n * t**(v * s)`` clamped to [0, 1]: ``s`` random in {-1, 0, +1}
    (``detect = 0``) or ``sign(target - n)`` (``detect = 1``)."""

    name = "neurosim"

    def apply(
        self, n: torch.Tensor, *, cell_levels: int, c: float, generator: torch.Generator
    ) -> torch.Tensor:
        if not self.active:
            return n
        if int(self.sim["detect"]):
            s = torch.sign(float(self.sim["target"]) - n)
        else:
            g, dev = generator, n.device
            s = torch.randint(-1, 2, n.shape, generator=g, device=dev, dtype=torch.int8)
            s = s.to(n.dtype)
        return s.mul_(self.v * math.log(self.t)).exp_().mul_(n).clamp_(0.0, 1.0)


class PCMDrift(DriftModel):
    """PCM power law on conductance ``G(t) = G(t0) * t**(-nu)``, ``nu ~ N(v, nu_std)`` >= 0
    per device (Joshi et al. 2020); the off-state baseline ``c`` drifts too, so levels may
    fall below 0."""

    name = "pcm"

    def __init__(self, sim: Mapping[str, Any]) -> None:
        super().__init__(sim)
        self.nu_std = float(sim.get("nu_std", 0.0))

    @property
    def active(self) -> bool:
        return self.t > 1 and (self.v > 0 or self.nu_std > 0)

    def apply(
        self, n: torch.Tensor, *, cell_levels: int, c: float, generator: torch.Generator
    ) -> torch.Tensor:
        if not self.active:
            return n
        t, v, nu_std = self.t, self.v, self.nu_std
        if nu_std > 0:
            eps = torch.randn(n.shape, generator=generator, device=n.device, dtype=n.dtype)
            factor = eps.mul_(nu_std).add_(v).clamp_(min=0.0).mul_(-math.log(t)).exp_()
        else:
            factor = torch.tensor(t ** (-v), dtype=n.dtype, device=n.device)
        k = cell_levels - 1
        return (n * k).add_(c).mul_(factor).sub_(c).div_(k)


class NeuroSimConductanceDrift(NeuroSimDrift):
    """NeuroSim V1.5's code: the same law on the conductance ``G = n * (L-1) + c`` (off-state
    baseline included), ``G * t**(v * s)`` clamped to [off, on]; the off-state reference
    cells do not move. Differs from :class:`NeuroSimDrift` by the baseline's share."""

    name = "neurosim_conductance"

    def apply(
        self, n: torch.Tensor, *, cell_levels: int, c: float, generator: torch.Generator
    ) -> torch.Tensor:
        if not self.active:
            return n
        k = cell_levels - 1
        if int(self.sim["detect"]):
            s = torch.sign(float(self.sim["target"]) - n)
        else:
            g, dev = generator, n.device
            s = torch.randint(-1, 2, n.shape, generator=g, device=dev, dtype=torch.int8)
            s = s.to(n.dtype)
        factor = s.mul_(self.v * math.log(self.t)).exp_()
        return factor.mul_(n * k + c).clamp_(c, k + c).sub_(c).div_(k)
