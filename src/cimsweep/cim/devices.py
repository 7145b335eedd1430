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

Measured cells (``mem_states_file``, :class:`CellModel`): level ``l`` is programmed to the
file's ``mean_l`` with per-device deviation ``sqrt(std_l**2 + (prog_noise * range)**2)``
(range = ``mean_last - mean_0``, which takes the place of ``on - off``), clamped only at zero
conductance. PCM drift (``drift_model = pcm``, Joshi et al. 2020) acts on the conductance
itself, off-state baseline included: ``G(t) = G(t0) * t**(-nu)`` with ``nu ~ N(v, nu_std)``
per device, clipped at 0. Global drift compensation (:func:`drift_scale`) rescales each read
group's outputs by the ratio of its all-ones column sums at t0 and at t.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import torch

from cimsweep.cim import kernel
from cimsweep.cim.models.drift import NeuroSimDrift, PCMDrift, drift_model
from cimsweep.data.device_files import read_mem_states, read_output_noise


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
    return eps.mul_(prog_noise).add_(n).clamp_(0.0, 1.0)


def _float_dtype(levels: torch.Tensor) -> torch.dtype:
    """Dtype of normalised levels computed from ``levels`` (integer codes: float32)."""
    return levels.dtype if levels.is_floating_point() else torch.float32


@dataclass(frozen=True)
class CellModel:
    """Nominal normalised levels of one cell kind (0 = lowest state, 1 = highest state).

    mean, std: (L,) target level and per-device std of each state (normalised); c: the
    off-state baseline in unit levels; floor: lowest normalised level a device can reach;
    uniform: evenly spaced levels without per-state spread (the NeuroSim default cell).
    """

    mean: torch.Tensor
    std: torch.Tensor
    c: float
    floor: float
    uniform: bool

    def nominal(self, levels: torch.Tensor) -> torch.Tensor:
        """Normalised target levels of integer levels (0..L-1)."""
        if self.uniform:
            return levels / (self.mean.numel() - 1)
        return self.mean.to(levels.device, _float_dtype(levels))[levels.long()]


def cell_model(sim: dict, cell_levels: int) -> CellModel:
    """Levels from ``mem_states_file`` when set, else evenly spaced between off and on."""
    path = str(sim.get("mem_states_file", "") or "")
    if not path:
        c = baseline(cell_levels, float(sim["on_state"]), float(sim["off_state"]))
        mean = torch.arange(cell_levels, dtype=torch.float64) / (cell_levels - 1)
        return CellModel(mean, torch.zeros(cell_levels, dtype=torch.float64), c, 0.0, True)
    states = read_mem_states(path, cell_levels)
    m = torch.tensor(states.mean, dtype=torch.float64)
    span = float(m[-1] - m[0])
    c = baseline(cell_levels, float(m[-1]), float(m[0]))
    std = torch.tensor(states.std, dtype=torch.float64) / span
    mean = (m - m[0]) / span
    even = torch.allclose(mean, torch.linspace(0, 1, cell_levels, dtype=torch.float64))
    uniform = bool(even and not std.any())
    return CellModel(mean, std, c, -c / (cell_levels - 1), uniform)


def program_cells(
    levels: torch.Tensor, cells: CellModel, prog_noise: float, generator: torch.Generator
) -> torch.Tensor:
    """Programmed normalised levels of integer target levels (per-state + programming spread)."""
    if cells.uniform:
        return program(levels / (cells.mean.numel() - 1), prog_noise, generator)
    idx = levels.long()
    dtype = _float_dtype(levels)
    n = cells.mean.to(levels.device, dtype)[idx]
    sigma = cells.std.pow(2).add(prog_noise**2).sqrt().to(levels.device, dtype)[idx]
    if not sigma.any():
        return n
    eps = torch.randn(n.shape, generator=generator, device=n.device, dtype=n.dtype)
    return torch.clamp(n + sigma * eps, min=cells.floor)


def drift_active(t: float, v: float) -> bool:
    """Whether NeuroSim retention changes levels at all (t0 = 1 s)."""
    return NeuroSimDrift({"t": t, "v": v}).active


def drifts(sim: Mapping[str, Any]) -> bool:
    """Whether the sim's retention model (:mod:`.models.drift`) changes levels at all."""
    return drift_model(sim).active


def pcm_drift(
    n: torch.Tensor,
    *,
    cell_levels: int,
    c: float,
    t: float,
    v: float,
    nu_std: float,
    generator: torch.Generator,
) -> torch.Tensor:
    """PCM power law (:class:`.models.drift.PCMDrift`); identity when t = 1."""
    model = PCMDrift({"t": t, "v": v, "nu_std": nu_std})
    return model.apply(n, cell_levels=cell_levels, c=c, generator=generator)


def drift_scale(
    n0: torch.Tensor, n: torch.Tensor, cell_levels: int, c: float, group_rows: list[int]
) -> torch.Tensor:
    """Global drift compensation factors (G, n_w), float64.

    ``n0``, ``n``: normalised levels (n_w, rows, phys_cols) at t0 and at read time. Per read
    group (consecutive ``group_rows`` rows) and weight slice: column sums of an all-ones read
    over every physical column, ``sum(u0) / sum(u)`` in unit levels (1 where nothing is read).
    """
    k = cell_levels - 1
    sizes = torch.tensor(group_rows, device=n.device)
    gid = torch.repeat_interleave(torch.arange(len(group_rows), device=n.device), sizes)

    def sums(x: torch.Tensor) -> torch.Tensor:
        rows = (x.to(torch.float64) * k + c).sum(-1)  # (n_w, rows)
        out = torch.zeros(rows.shape[0], len(group_rows), dtype=torch.float64, device=x.device)
        return out.index_add_(1, gid, rows).t()  # (G, n_w)

    s0, s = sums(n0), sums(n)
    return torch.where(s > 0, s0 / s.clamp(min=1e-300), torch.ones_like(s))


def drift(
    n: torch.Tensor,
    *,
    t: float,
    v: float,
    detect: int,
    target: float,
    generator: torch.Generator,
) -> torch.Tensor:
    """NeuroSim retention (:class:`.models.drift.NeuroSimDrift`); identity when t = 1 or v = 0."""
    model = NeuroSimDrift({"t": t, "v": v, "detect": detect, "target": target})
    return model.apply(n, cell_levels=2, c=0.0, generator=generator)


def stuck_masks(
    n: torch.Tensor, rate_stuck_0: float, rate_stuck_1: float, generator: torch.Generator
) -> tuple[torch.Tensor, torch.Tensor] | None:
    """Cells stuck at 0 and at 1 (boolean masks shaped like ``n``); None without faults."""
    if rate_stuck_0 <= 0 and rate_stuck_1 <= 0:
        return None
    if rate_stuck_0 + rate_stuck_1 > 1:
        raise ValueError("rate_stuck_0 + rate_stuck_1 must not exceed 1")
    u = torch.rand(n.shape, generator=generator, device=n.device, dtype=n.dtype)
    return u < rate_stuck_0, (u >= rate_stuck_0) & (u < rate_stuck_0 + rate_stuck_1)


def apply_stuck(n: torch.Tensor, masks: tuple[torch.Tensor, torch.Tensor] | None) -> torch.Tensor:
    """``n`` with the stuck cells of :func:`stuck_masks` forced to 0 / 1."""
    if masks is None:
        return n
    n = torch.where(masks[0], torch.zeros_like(n), n)
    return torch.where(masks[1], torch.ones_like(n), n)


def stuck(
    n: torch.Tensor, rate_stuck_0: float, rate_stuck_1: float, generator: torch.Generator
) -> torch.Tensor:
    """Force a ``rate_stuck_0`` fraction of cells to 0 and a ``rate_stuck_1`` fraction to 1."""
    return apply_stuck(n, stuck_masks(n, rate_stuck_0, rate_stuck_1, generator))


def chip_levels(
    levels: torch.Tensor,
    cell_levels: int,
    sim: dict,
    generator: torch.Generator,
    cells: CellModel | None = None,
    with_t0: bool = False,
) -> Any:
    """Normalised levels of one chip instance from integer target levels (0..L-1).

    ``cells``: the cell model (default :func:`cell_model` of ``sim``). With ``with_t0``,
    returns (levels at t, levels at t0), both with the same stuck cells.
    """
    cells = cells if cells is not None else cell_model(sim, cell_levels)
    n0 = program_cells(levels, cells, float(sim["prog_noise"]), generator)
    n = drift_model(sim).apply(n0, cell_levels=cell_levels, c=cells.c, generator=generator)
    masks = stuck_masks(n, float(sim["rate_stuck_0"]), float(sim["rate_stuck_1"]), generator)
    if masks is not None:  # n and n0 are fresh tensors here (or one and the same): in place
        for x in (n, n0) if with_t0 and n0 is not n else (n,):
            x.masked_fill_(masks[0], 0.0).masked_fill_(masks[1], 1.0)
    return (n, n0) if with_t0 else n


def is_ideal(sim: dict, cells: CellModel | None = None) -> bool:
    """True when every chip instance stores exactly its nominal levels."""
    return (
        float(sim["prog_noise"]) == 0
        and (cells is None or not cells.std.any())
        and not drifts(sim)
        and float(sim["rate_stuck_0"]) == 0
        and float(sim["rate_stuck_1"]) == 0
    )


class OutputNoiseTable:
    """Column-output offset and std (unit products), interpolated on the noise-free output."""

    def __init__(self, path: str, device: torch.device | str = "cpu"):
        stats = read_output_noise(path)
        self.level = torch.tensor(stats.level, dtype=torch.float32, device=device)
        mean = torch.tensor(stats.mean, dtype=torch.float32, device=device)
        self.offset = mean - self.level
        self.std = torch.tensor(stats.std, dtype=torch.float32, device=device)

    def __call__(self, y: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """(offset, std) at noise-free outputs ``y``; constant beyond the first / last level."""
        xp = self.level.to(y.device)
        off, sd = self.offset.to(y.device), self.std.to(y.device)
        if xp.numel() == 1:
            return off.expand_as(y), sd.expand_as(y)
        i = torch.searchsorted(xp, y.contiguous()).clamp_(1, xp.numel() - 1)
        x0, x1 = xp[i - 1], xp[i]
        w = ((y - x0) / (x1 - x0)).clamp_(0.0, 1.0)
        return torch.lerp(off[i - 1], off[i], w), torch.lerp(sd[i - 1], sd[i], w)


def output_noise_table(sim: dict, device: torch.device | str = "cpu") -> OutputNoiseTable | None:
    """The per-level output-noise table when ``output_noise = -1``, else None."""
    if float(sim["output_noise"]) != -1:
        return None
    path = str(sim.get("output_noise_file", "") or "")
    if not path:
        raise ValueError("output_noise = -1 needs output_noise_file (CSV level,mean,std)")
    return OutputNoiseTable(path, device)


def read_noise_units(read_noise: float, cell_levels: int) -> float:
    """Per-cell read-noise std in unit levels (for an input of 1)."""
    return read_noise * (cell_levels - 1)


class NoiseStream:
    """Fresh read-noise samples for one chip instance and layer.

    Counter-based (:mod:`.kernel`): one 62-bit key drawn from the instance's
    ``torch.Generator``, then every call (one chunk of reads) takes the next call index, so
    results depend only on that generator and the order of calls, and are bit-identical on the
    compiled kernel and the torch path.
    """

    def __init__(self, generator: torch.Generator, device: torch.device | str):
        self.device = torch.device(device)
        self.key = int(torch.randint(0, 2**62, (1,), generator=generator, device=generator.device))
        self.calls = 0

    def next_call(self) -> int:
        """Index of the next call of this stream (each call draws fresh samples)."""
        self.calls += 1
        return self.calls - 1

    def generator(self) -> torch.Generator:
        """A torch generator for the next call (per-call cell perturbations), seeded from
        the stream's key and call index."""
        seed = (self.key * 0x9E3779B97F4A7C15 + self.next_call()) % (2**63 - 1)
        return torch.Generator(device=self.device).manual_seed(seed)

    def standard_normal(self, shape: tuple[int, ...]) -> torch.Tensor:
        """N(0, 1) float32 samples (Philox4x32-10 words into a 16-bit normal table).

        ``|z| <= 4.39``: see :func:`.kernel.normal_table`.
        """
        n = math.prod(shape)
        return kernel.normals(self.key, self.next_call(), n, self.device).view(shape)
