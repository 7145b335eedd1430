"""Network-sized tiles: the tile and PE size chosen for the network's weight matrices.

NeuroSim V1.4 (``Chip.cpp`` ``ChipFloorPlan``) does not fix its tile: it sizes a square tile
of ``T x T`` cells (a power of two, at least four subarrays on a side) to the widest weight
matrix and shrinks it while that raises the fraction of the chip's cells that hold weights; a
PE is a ``P x P`` square of subarrays inside it (``T / 2`` unless a smaller one holds more
weights). Conv layers of the network's most common kernel size are split kernel position by
kernel position (its default ``novelMapping``): a tile of ``k x k`` PEs, each holding the
``C_in x columns`` slice of one position. The idle subarrays of a layer's tiles then hold
copies of its weights for free (``spare_duplication``): with 128 x 128 subarrays NeuroSim
gives the DOE network's layers 16 / 4 / 4 / 1 / 64 copies in its 1024 x 1024 conventional and
9 x 512 x 512 kernel-split tiles. Selected by the technology setting
``arch.tile_sizing: network`` (a calibration to NeuroSim V1.4 carries it); the default,
``fixed``, keeps the technology file's ``subarrays_per_pe`` and ``pes_per_tile``. Our own
formulation of the rule (NeuroSim's code is not copied); crossbar columns are cimsweep's
(``signed_mapping``), so tile sides can differ from NeuroSim's by a factor of two.
"""

from __future__ import annotations

import dataclasses
import math
from collections.abc import Sequence
from dataclasses import dataclass

from cimsweep.ppa.design import Design
from cimsweep.ppa.mapping import LayerMapping

TILE_SIZING = ("fixed", "network")


def _pow2_at_least(n: float) -> int:
    return 2 ** max(0, math.ceil(math.log2(max(1.0, n))))


def _utilization(mats: Sequence[tuple[int, int]], side: int) -> float:
    """Fraction of the cells of ``side x side`` tiles that hold the matrices."""
    used = sum(r * c for r, c in mats)
    tiles = sum(math.ceil(r / side) * math.ceil(c / side) for r, c in mats)
    return used / (tiles * side * side)


def _copies(r: int, c: int, outer: int, inner_r: int, inner_c: int) -> int:
    """Copies of an ``r x c`` matrix in an ``outer`` square of ``inner`` blocks (>= 1), only
    where the matrix fits the square in one dimension."""
    if r > outer and c > outer:
        return 1
    per_r, per_c = math.ceil(r / inner_r), math.ceil(c / inner_c)
    n_r, n_c = math.ceil(outer / inner_r), math.ceil(outer / inner_c)
    return max(1, n_r // per_r) * max(1, n_c // per_c)


def _best_side(mats: Sequence[tuple[int, int]], floor: int) -> int:
    """From ``max(2^ceil(log2(widest matrix)), floor)`` halving while above ``floor``: the
    first square side of highest :func:`_utilization`."""
    s0 = max(_pow2_at_least(max(c for _, c in mats)), floor)
    best, best_u, side = s0, 0.0, s0
    while True:
        u = _utilization(mats, side)
        if u > best_u:
            best, best_u = side, u
        side //= 2
        if side <= floor:
            return best


def network_tile(mats: Sequence[tuple[int, int]], sub_array: tuple[int, int]) -> tuple[int, int]:
    """(tile side, PE side) in cells for weight matrices ``mats`` (crossbar rows, columns).

    Tile: from ``T0 = max(2^ceil(log2(widest matrix)), 4 x subarray rows)`` halving down to
    8 subarrays, the first side of highest utilization (cells holding weights / cells of the
    tiles each matrix needs). PE: from ``T / 2`` halving down to 4 subarrays, a smaller side
    only where the weights its copies hold per tile area beat the tile's utilization."""
    sr, sc = sub_array
    best_t = _best_side(mats, 4 * sr)
    best_u = _utilization(mats, best_t)
    n_tiles = sum(math.ceil(r / best_t) * math.ceil(c / best_t) for r, c in mats)
    best_p = best_t // 2
    p = best_t // 2
    while p > 2 * sr:
        held = sum(_copies(r, c, best_t, p, p) * r * c for r, c in mats)
        u = held / (n_tiles * best_t * best_t)
        if u > best_u:
            best_p, best_u = p, u
        p //= 2
    return best_t, max(best_p, sr, sc)


@dataclass(frozen=True)
class Floorplan:
    """subarrays_per_pe, pes_per_tile: the conventional tiles (``tile_side`` cells square);
    novel: per layer, ``None`` or (PE side in cells, kernel positions = PEs per tile) of a
    kernel-split layer."""

    subarrays_per_pe: int
    pes_per_tile: int
    novel: tuple[tuple[int, int] | None, ...]
    tile_side: int = 0


def novel_mapped(kernels: Sequence[tuple[int, int]], rows: Sequence[int], sr: int) -> list[bool]:
    """Layers NeuroSim V1.4 maps kernel position by kernel position (``novelMapping``, its
    default, ``Chip.cpp`` ``ChipDesignInitialize``): conv layers of the network's most common
    kernel size (other than 1 x 1) with at least a subarray of rows."""
    areas = [kh * kw for kh, kw in kernels]
    counts = {a: areas.count(a) for a in areas if a != 1}
    if not counts:
        return [False] * len(areas)
    common = max(counts, key=lambda a: (counts[a], -areas.index(a)))
    return [a == common and r >= sr for a, r in zip(areas, rows, strict=True)]


def network_floorplan(
    mats: Sequence[tuple[int, int]],
    kernels: Sequence[tuple[int, int]],
    sub_array: tuple[int, int],
) -> Floorplan:
    """The network-sized floorplan of weight matrices ``mats`` (crossbar rows, columns) of
    layers with ``kernels``: kernel-split layers (:func:`novel_mapped`) get tiles of
    ``k x k`` PEs, one per kernel position, each a square sized like a tile
    (:func:`_best_side` of their ``C_in x columns`` slices, at least two subarrays); the
    others share :func:`network_tile`'s conventional tiles."""
    sr, sc = sub_array
    marks = novel_mapped(kernels, [r for r, _ in mats], sr)
    slices = [
        (r // (kh * kw), c) for (r, c), (kh, kw), nm in zip(mats, kernels, marks, strict=True) if nm
    ]
    pe_nm = _best_side(slices, 2 * sr) if slices else 0
    conv = [m for m, nm in zip(mats, marks, strict=True) if not nm] or list(mats)
    t, p = network_tile(conv, sub_array)
    spp = math.ceil(p / sr) * math.ceil(p / sc)
    ppt = math.ceil(t / p) ** 2
    novel = tuple(
        (pe_nm, kh * kw) if nm else None for (kh, kw), nm in zip(kernels, marks, strict=True)
    )
    return Floorplan(spp, ppt, novel, t)


def position_rows(rows: int, kernel_positions: int) -> int:
    """Rows of one kernel position of a kernel-split layer (its ``C_in``), at least 1."""
    return max(1, rows // kernel_positions)


def novel_allocation(
    rows: int, cols: int, kernel_positions: int, pe: int, sub_array: tuple[int, int]
) -> tuple[int, int, int]:
    """(tiles, subarrays allocated, free copies) of a kernel-split layer: each tile has one
    ``pe x pe`` PE per kernel position holding ``C_in = rows / positions`` rows; the copies
    fill a PE's idle subarrays (:func:`_copies`)."""
    sr, sc = sub_array
    c_in = position_rows(rows, kernel_positions)
    tiles = math.ceil(c_in / pe) * math.ceil(cols / pe)
    arrays = tiles * kernel_positions * math.ceil(pe / sr) * math.ceil(pe / sc)
    return tiles, arrays, _copies(c_in, cols, pe, sr, sc)


def novel_maps(
    maps: Sequence[LayerMapping], spare: Sequence[int], plan: Floorplan, d: Design
) -> tuple[list[LayerMapping], list[int]]:
    """Mappings and free copies with a network floorplan's kernel-split layers allocated
    their own tiles (:func:`novel_allocation`) and read kernel position by kernel position:
    each position's ``C_in`` rows take ``ceil(C_in / sub_rows)`` row tiles of their own, every
    one read with all its groups (NeuroSim V1.4 ``Tile.cpp`` novel mapping, ``weightMatrixRow /
    numPE`` rows per PE), so a 3 x 3 layer of 64 channels converts 9 partly filled reads per
    column at 128 and at 256 rows, not ``ceil(576 / rows)``."""
    out_m, out_s = list(maps), list(spare)
    for i, (m, nm) in enumerate(zip(maps, plan.novel, strict=True)):
        if nm is None:
            continue
        pe, positions = nm
        tiles, arrays, copies = novel_allocation(m.rows, m.cols, positions, pe, (d.sr, d.sc))
        row_tiles = positions * math.ceil(position_rows(m.rows, positions) / d.sr)
        m = dataclasses.replace(
            m,
            row_tiles=row_tiles,
            read_groups=row_tiles * m.max_read_groups,
            arrays=row_tiles * m.col_tiles,
        )
        arrays = max(arrays, m.arrays)
        out_m[i] = dataclasses.replace(
            m, tiles=tiles, pes=tiles * positions, allocated_arrays=arrays
        )
        out_s[i] = copies
    return out_m, out_s


def global_bus_bits(plan: Floorplan, tiles: Sequence[int], column_mux: int, max_bits: int) -> int:
    """Width (bit) of the chip's global bus: every layer's tile port (its input rows plus
    its output columns / ``column_mux``: ``T + T / mux`` for a conventional tile, ``P sqrt(k^2)``
    rows for a kernel-split one), once per layer, or per tile of each layer when ``tiles`` are
    given (pipeline: all layers' tiles work at once), halved until it fits ``max_bits``
    (NeuroSim V1.4 ``Chip.cpp`` ``globalBusWidth``, ``maxGlobalBusWidth`` 2048): it lands
    between ``max_bits / 2`` and ``max_bits``."""
    width = 0.0
    for nm, n in zip(plan.novel, tiles, strict=True):
        side = plan.tile_side if nm is None else nm[0] * math.isqrt(nm[1])
        width += (side + side / column_mux) * n
    while width > max_bits:
        width /= 2
    return max(1, int(width))
