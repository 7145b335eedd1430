"""Memory-cell model: levels, programming variation, retention drift, stuck-at faults, read noise.

Cell state is the normalised level ``n`` in [0, 1] (0 = ``off_state``, 1 = ``on_state``); a
cell of ``bitcell`` bits stores level ``l`` in 0..L-1 as ``n = l / (L - 1)``. Its conductance
(resistive, S) or capacitance (capacitive, F) is ``off + n * (on - off)``; both kinds use the
same math. The simulator works in *unit levels* ``u = (L - 1) * n + c`` with
``c = (L - 1) * off / (on - off)`` (the off-state baseline), so an ideal cell at level ``l``
reads ``l + c``.

Order of effects on a chip instance (fixed per instance): programming variation
``n + prog_noise * N(0, 1)`` clamped to [0, 1]; retention drift ``n * t**(v * s)`` clamped to
[0, 1] (NeuroSim; ``s`` random in {-1, 0, +1} when ``detect = 0``, ``sign(target - n)`` when
``detect = 1``; t in s with t0 = 1 s); stuck-at faults (``rate_stuck_0`` cells forced to 0,
``rate_stuck_1`` to 1). Read noise is fresh every read: each cell adds ``read_noise * (on - off)``
Gaussian noise, i.e. a column sum over inputs ``x_i`` gets variance
``sum_i x_i**2 * (read_noise * (L - 1))**2`` in unit levels.
"""

from __future__ import annotations

import math

import numpy as np
import torch

_TABLE_BITS = 16
_TABLES: dict[str, torch.Tensor] = {}


def baseline(levels: int, on_state: float, off_state: float) -> float:
    """Off-state offset ``c`` of every cell, in unit levels."""
    if on_state <= off_state:
        raise ValueError(f"on_state ({on_state}) must exceed off_state ({off_state})")
    return (levels - 1) * off_state / (on_state - off_state)


def program(n: torch.Tensor, prog_noise: float, generator: torch.Generator) -> torch.Tensor:
    """Programmed normalised levels: target + Gaussian variation (relative to range), in [0, 1]."""
    if prog_noise <= 0:
        return n
    eps = torch.randn(n.shape, generator=generator, device=n.device, dtype=n.dtype)
    return torch.clamp(n + prog_noise * eps, 0.0, 1.0)


def drift_active(t: float, v: float) -> bool:
    """Whether retention changes levels at all (t0 = 1 s)."""
    return v > 0 and t > 1


def drift(
    n: torch.Tensor,
    *,
    t: float,
    v: float,
    detect: int,
    target: float,
    generator: torch.Generator,
) -> torch.Tensor:
    """NeuroSim retention ``n * t**(v * s)`` clamped to [0, 1]; identity when t = 1 or v = 0."""
    if not drift_active(t, v):
        return n
    if detect:
        s = torch.sign(target - n)
    else:
        s = torch.randint(-1, 2, n.shape, generator=generator, device=n.device).to(n.dtype)
    return torch.clamp(n * torch.exp((v * math.log(t)) * s), 0.0, 1.0)


def stuck(
    n: torch.Tensor, rate_stuck_0: float, rate_stuck_1: float, generator: torch.Generator
) -> torch.Tensor:
    """Force a ``rate_stuck_0`` fraction of cells to 0 and a ``rate_stuck_1`` fraction to 1."""
    if rate_stuck_0 <= 0 and rate_stuck_1 <= 0:
        return n
    if rate_stuck_0 + rate_stuck_1 > 1:
        raise ValueError("rate_stuck_0 + rate_stuck_1 must not exceed 1")
    u = torch.rand(n.shape, generator=generator, device=n.device, dtype=n.dtype)
    n = torch.where(u < rate_stuck_0, torch.zeros_like(n), n)
    return torch.where(
        (u >= rate_stuck_0) & (u < rate_stuck_0 + rate_stuck_1), torch.ones_like(n), n
    )


def chip_levels(levels: torch.Tensor, cell_levels: int, sim: dict, generator) -> torch.Tensor:
    """Normalised levels of one chip instance from integer target levels (0..L-1)."""
    n = levels / (cell_levels - 1)
    n = program(n, float(sim["prog_noise"]), generator)
    n = drift(
        n,
        t=float(sim["t"]),
        v=float(sim["v"]),
        detect=int(sim["detect"]),
        target=float(sim["target"]),
        generator=generator,
    )
    return stuck(n, float(sim["rate_stuck_0"]), float(sim["rate_stuck_1"]), generator)


def is_ideal(sim: dict) -> bool:
    """True when every chip instance stores exactly its target levels."""
    return (
        float(sim["prog_noise"]) == 0
        and not drift_active(float(sim["t"]), float(sim["v"]))
        and float(sim["rate_stuck_0"]) == 0
        and float(sim["rate_stuck_1"]) == 0
    )


def read_noise_units(read_noise: float, cell_levels: int) -> float:
    """Per-cell read-noise std in unit levels (for an input of 1)."""
    return read_noise * (cell_levels - 1)


def _normal_table(device: torch.device) -> torch.Tensor:
    key = str(device)
    if key not in _TABLES:
        size = 1 << _TABLE_BITS
        p = (torch.arange(size, dtype=torch.float64) + 0.5) / size
        z = torch.special.ndtri(p)
        _TABLES[key] = (z / z.pow(2).mean().sqrt()).to(device=device, dtype=torch.float32)
    return _TABLES[key]


class NoiseStream:
    """Fresh read-noise samples for one chip instance and layer.

    Seeded from the instance's ``torch.Generator`` (one draw), so results depend only on that
    generator. On CPU the 16-bit words come from numpy's SFC64 (about 2.5x faster than
    torch's Mersenne twister); on other devices from the generator itself.
    """

    def __init__(self, generator: torch.Generator, device: torch.device | str):
        self.device = torch.device(device)
        self.generator = generator
        self._bits = None
        if self.device.type == "cpu":
            seed = int(torch.randint(0, 2**62, (1,), generator=generator))
            self._bits = np.random.SFC64(seed)

    def _words(self, count: int) -> torch.Tensor:
        if self._bits is not None:
            return torch.from_numpy(self._bits.random_raw(count).view(np.int64))
        words = torch.empty(count, dtype=torch.int64, device=self.device)
        return words.random_(-(2**63), 2**63 - 1, generator=self.generator)

    def standard_normal(self, shape: tuple[int, ...]) -> torch.Tensor:
        """N(0, 1) float32 samples: inverse CDF at 16 uniform random bits each.

        A 65536-entry quantile table (unit variance, tails at +-4.3 sigma) indexed by 16-bit
        words; several times cheaper than ``torch.randn`` on CPU.
        """
        n = math.prod(shape)
        idx = self._words((n + 3) // 4).view(torch.uint16)[:n].to(torch.int32)
        return _normal_table(self.device).index_select(0, idx).view(shape)
