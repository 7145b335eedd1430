"""Mapping weight matrices onto subarrays and the subarray -> PE -> tile hierarchy."""

from __future__ import annotations

import math
from dataclasses import dataclass


@dataclass(frozen=True)
class LayerMapping:
    """How one layer's weight matrix occupies the hardware.

    rows, cols: crossbar matrix (rows = k*k*C_in, cols = logical columns).
    row_tiles, col_tiles: subarray grid; arrays = row_tiles * col_tiles (used).
    read_groups: row tiles x ceil(sub_rows / parallel_read) (reads per column): a partly
    filled subarray reads all its groups (NeuroSim V1.4 numAdd).
    max_read_groups: reads per column of one subarray (sets latency).
    pes, tiles: processing elements and tiles allocated to the layer.
    allocated_arrays: subarrays in the allocated tiles (used or idle).
    """

    rows: int
    cols: int
    sub_rows: int
    sub_cols: int
    parallel_read: int
    row_tiles: int
    col_tiles: int
    arrays: int
    read_groups: int
    max_read_groups: int
    pes: int
    tiles: int
    allocated_arrays: int

    @property
    def array_utilization(self) -> float:
        """Mapped cells / cells of the used subarrays."""
        return self.rows * self.cols / (self.arrays * self.sub_rows * self.sub_cols)

    @property
    def utilization(self) -> float:
        """Mapped cells / cells of every subarray in the allocated tiles."""
        return self.rows * self.cols / (self.allocated_arrays * self.sub_rows * self.sub_cols)


def map_layer(
    rows: int,
    cols: int,
    sub_array: tuple[int, int],
    parallel_read: int,
    subarrays_per_pe: int,
    pes_per_tile: int,
    col_tiles: int | None = None,
) -> LayerMapping:
    """Tile a ``rows x cols`` crossbar matrix onto ``sub_array`` arrays.

    ``parallel_read`` rows are sensed together (0 or more than the subarray's rows: all).
    Each layer gets its own PEs and tiles (NeuroSim-style allocation). ``col_tiles``: the
    subarrays across the columns when weights are placed whole per subarray (default
    ``ceil(cols / sub_cols)``).
    """
    sr, sc = int(sub_array[0]), int(sub_array[1])
    pr = sr if parallel_read <= 0 or parallel_read > sr else int(parallel_read)
    row_tiles = math.ceil(rows / sr)
    col_tiles = math.ceil(cols / sc) if col_tiles is None else int(col_tiles)
    # every mapped subarray reads all its parallel-read groups, filled or not (NeuroSim V1.4
    # ProcessingUnit.cpp numAdd = ceil(numRowSubArray / numRowParallel))
    max_read_groups = math.ceil(sr / pr)
    read_groups = row_tiles * max_read_groups
    arrays = row_tiles * col_tiles
    pes = math.ceil(arrays / subarrays_per_pe)
    tiles = math.ceil(pes / pes_per_tile)
    return LayerMapping(
        rows=rows,
        cols=cols,
        sub_rows=sr,
        sub_cols=sc,
        parallel_read=pr,
        row_tiles=row_tiles,
        col_tiles=col_tiles,
        arrays=arrays,
        read_groups=read_groups,
        max_read_groups=max_read_groups,
        pes=pes,
        tiles=tiles,
        allocated_arrays=tiles * pes_per_tile * subarrays_per_pe,
    )
