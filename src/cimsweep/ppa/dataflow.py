"""Clock cycles a layer spends moving data through its tile and chip buffers and buses.

NeuroSim V1.4's synchronous count (``Tile.cpp``, ``Chip.cpp`` ``ChipCalculatePerformance``,
``Buffer.cpp``, ``HTree.cpp``, ``XYBus.cpp``), written from its rules: a buffer moves one
``interface``-bit line per cycle on each of its parallel cores; a bus moves ``bus`` bits per
transfer and a transfer takes the wire's delay rounded up to whole cycles. Each tile holds
``rows x vectors x input bits`` of input and the partial sums of its outputs at the width of
its PE adder tree; the layer takes as long as its fullest tile. The chip's global buffer and
X-Y bus carry the layer's im2col inputs out and its (pooled) outputs back.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

from cimsweep.ppa.design import Design
from cimsweep.ppa.mapping import LayerMapping

# NeuroSim V1.4 Param.cpp: tile buffer cores of 32 x 32 bits (32-bit lines), global buffer
# cores of 128 x 128 bits (128-bit lines)
TILE_BUFFER_CORE_BITS = 32 * 32
TILE_BUFFER_LINE_BITS = 32
GLOBAL_BUFFER_CORE_BITS = 128 * 128
GLOBAL_BUFFER_LINE_BITS = 128


@dataclass(frozen=True)
class TileShape:
    """One layer's tile as NeuroSim V1.4 builds it.

    pes: PEs feeding the tile's adder tree (conventional tile: PEs per side; kernel-split
    tile: one per kernel position); pe_cells: PE side (cells); pe_subarrays: subarrays per PE;
    rows, cols: the cell rows and columns a tile holds; grid: the layer's tiles along its
    matrix rows and columns; split: a kernel-split (novel-mapped) tile."""

    pes: int
    pe_cells: int
    pe_subarrays: int
    rows: int
    cols: int
    grid: tuple[int, int]
    split: bool

    @property
    def bus_bits(self) -> int:
        """Width (bit) of the tile's H-tree: every PE's side (NeuroSim ``hTree busWidth``)."""
        return self.pes * self.pe_cells


def tile_shape(m: LayerMapping, d: Design, novel: tuple[int, int] | None = None) -> TileShape:
    """The :class:`TileShape` of layer mapping ``m``: conventional tiles of ``d.ppt`` square
    PEs of ``d.spp`` subarrays, or, with ``novel = (PE side in cells, kernel positions)``,
    a kernel-split tile (:func:`cimsweep.ppa.floorplan.novel_allocation`)."""
    if novel is not None:
        pe, positions = novel
        c_in = max(1, m.rows // positions)
        return TileShape(
            pes=positions,
            pe_cells=pe,
            pe_subarrays=math.ceil(pe / d.sr) * math.ceil(pe / d.sc),
            rows=pe * positions,
            cols=pe,
            grid=(math.ceil(c_in / pe), math.ceil(m.cols / pe)),
            split=True,
        )
    side = math.ceil(math.sqrt(d.ppt))
    pe_cells = math.ceil(math.sqrt(d.spp)) * d.sr
    tile = side * pe_cells
    return TileShape(
        pes=side,
        pe_cells=pe_cells,
        pe_subarrays=d.spp,
        rows=tile,
        cols=tile,
        grid=(math.ceil(m.rows / tile), math.ceil(m.cols / tile)),
        split=False,
    )


def pe_output_bits(d: Design, shape: TileShape, read_groups: int) -> int:
    """Width (bit) of one PE output word: the subarray's column sum of every input bit and
    weight slice (ADC bits, its ``read_groups`` per column, input bits, slices, sign) plus one
    bit per level of the PE's subarray adder tree (NeuroSim V1.4 ``numBitSubarrayOutput``,
    ``numBitPEOutput``)."""
    bitcell = int(d.hw["bitcell"])
    groups = math.ceil(math.log2(read_groups)) if read_groups > 1 else 0
    subarray = d.adc_bits + groups + d.ip + (d.slices - 1) * bitcell + 1
    return subarray + math.ceil(math.sqrt(shape.pe_subarrays))


def _buffer_cycles(bits: float, width: float, port: float, bus: int) -> float:
    """Cycles to write and read ``bits`` through a tile buffer ``width`` bits wide: one
    ``port``-bit line per cycle below 1 kbit, else 32-bit lines on parallel 1 kbit cores."""
    if width < TILE_BUFFER_CORE_BITS:
        return bits / port
    cores = math.ceil(width / TILE_BUFFER_CORE_BITS)
    return bits / TILE_BUFFER_LINE_BITS / min(cores, math.ceil(bus / TILE_BUFFER_LINE_BITS))


def tile_cycles(
    vectors: int, m: LayerMapping, words_per_col: float, shape: TileShape, d: Design, wire: int
) -> tuple[float, float]:
    """(buffer, H-tree) cycles of the layer's fullest tile for ``vectors`` input vectors.

    ``words_per_col``: output words per crossbar column; ``wire``: cycles one H-tree
    transfer takes (the wire delay across the tile in whole clock cycles, >= 1)."""
    rows = min(shape.rows, m.rows)
    words = math.ceil(min(shape.cols, m.cols) * words_per_col)
    pe_bits = pe_output_bits(d, shape, m.max_read_groups)
    stages = math.ceil(math.log2(shape.pes)) if shape.pes > 1 else 0
    # a kernel-split tile broadcasts each input row to its kernel positions' PEs in groups
    in_bits = rows * vectors * d.ip / (math.sqrt(shape.pes) if shape.split else 1.0)
    out_bits = words * (stages + pe_bits) * vectors
    bus = shape.bus_bits
    word = (pe_bits + stages) * shape.pes
    buffer = _buffer_cycles(in_bits, shape.pes * d.ip * d.sr, shape.pes * d.sr, bus)
    buffer += _buffer_cycles(out_bits, word * d.sc / d.cm, word, bus)
    return buffer, wire * (in_bits + out_bits) / bus


@dataclass(frozen=True)
class ChipBus:
    """The chip's shared data path: bus_bits: global bus width (bit); buffer_cores: global
    buffer cores (128 x 128 bit) sized for the largest input map (layer-by-layer) or half of
    all of them (pipeline); grid: the chip's tiles in rows and columns; wire: cycles one bus
    transfer takes (>= 1)."""

    bus_bits: int
    buffer_cores: int
    grid: tuple[int, int]
    wire: int


def chip_bus(input_maps: list[float], tiles: int, d: Design, pipeline: bool, wire: int) -> ChipBus:
    """The :class:`ChipBus` of a chip of ``tiles`` tiles whose layers read ``input_maps``
    distinct input values each (NeuroSim V1.4 ``ChipInitialize``)."""
    held = sum(input_maps) / 2 if pipeline else max(input_maps)
    rows = math.ceil(math.sqrt(tiles))
    return ChipBus(
        bus_bits=d.bus_bits,
        buffer_cores=max(1, math.ceil(d.ip * held / GLOBAL_BUFFER_CORE_BITS)),
        grid=(rows, math.ceil(tiles / rows)),
        wire=wire,
    )


def chip_cycles(
    in_bits: float, out_bits: float, grid: tuple[int, int], bus: ChipBus
) -> tuple[float, float]:
    """(global buffer, X-Y bus) cycles of a layer whose tiles (``grid``: along its rows and
    columns) take ``in_bits`` from the global buffer and return ``out_bits``: the buffer moves
    128-bit lines on its parallel cores, the bus's rows carry inputs and its columns outputs,
    each layer's share of the bus in proportion to its tiles (NeuroSim V1.4 ``XYBus``)."""
    line = GLOBAL_BUFFER_LINE_BITS
    parallel = min(bus.buffer_cores, math.ceil(bus.bus_bits / line))
    buffer = (in_bits + out_bits) / line / parallel
    n_in = math.ceil(in_bits / bus.bus_bits * bus.grid[0] / max(1, grid[0]))
    n_out = math.ceil(out_bits / bus.bus_bits * bus.grid[1] / max(1, grid[1]))
    return buffer, bus.wire * (n_in + n_out)
