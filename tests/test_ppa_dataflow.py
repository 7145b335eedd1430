"""Tile and chip buffer / bus cycle counts (``cimsweep.ppa.dataflow``) against closed forms.

The same counts against NeuroSim V1.4's own printed per-layer buffer and interconnect
latencies: ``tests/test_neurosim_backend.py::test_dataflow_cycles_match_neurosims_layers``.
"""

from __future__ import annotations

import dataclasses
import math
from pathlib import Path

import pytest

from cimsweep.ppa import load_tech
from cimsweep.ppa.dataflow import (
    ChipBus,
    TileShape,
    chip_cycles,
    pe_output_bits,
    tile_cycles,
    tile_shape,
)
from cimsweep.ppa.design import design
from cimsweep.ppa.estimate import normalize_hw
from cimsweep.ppa.latency import Clock, LayerFlow, layer_latency
from cimsweep.ppa.mapping import map_layer

TECH = Path(__file__).resolve().parents[1] / "config" / "tech"


@pytest.fixture(scope="module")
def d128():  # noqa: ANN201 - a Design
    """128 x 128, 8-bit inputs, 5-bit ADC, 8 columns per ADC, 8 cells per weight."""
    hw = normalize_hw({"sub_array": (128, 128), "adc_precision": 5})
    return dataclasses.replace(design(hw, load_tech(TECH / "22nm.yaml")), slices=8)


def test_pe_output_word_is_the_column_sum_plus_the_pe_tree(d128) -> None:  # noqa: ANN001
    shape = TileShape(2, 512, 16, 1024, 1024, (1, 1), False)
    # ADC 5 + ceil(log2 1 read group) 0 + inputs 8 + 7 further slices + sign 1, + sqrt(16)
    assert pe_output_bits(d128, shape, 1) == 5 + 0 + 8 + 7 + 1 + 4
    assert pe_output_bits(d128, shape, 4) == 25 + 2  # 4 read groups: 2 more bits
    grouped = map_layer(27, 512, (128, 128), 32, 16, 4)  # parallel_read 32 of 128 rows
    assert grouped.max_read_groups == 4


def test_conventional_tile_closed_form(d128) -> None:  # noqa: ANN001
    """27 rows x 64 outputs (512 columns), 256 vectors, on a 1024-cell tile of 2 x 2 PEs."""
    m = map_layer(27, 512, (128, 128), 0, 16, 4)
    shape = TileShape(2, 512, 16, 1024, 1024, (1, 1), False)
    buffer, htree = tile_cycles(256, m, 1 / 8, shape, d128, wire=1)
    in_bits = 27 * 256 * 8
    # input port 2 PEs x 8 bits x 128 rows = 2048 bit >= 1 kbit: 32-bit lines on 2 cores
    n_in = in_bits / 32 / 2
    # output: 64 words of 25 + 1 (adder stage) bits per vector; port 26 x 2 x 128 / 8 = 832
    # bit < 1 kbit: one 52-bit line per cycle
    out_bits = 64 * 26 * 256
    assert buffer == pytest.approx(n_in + out_bits / 52)
    assert htree == pytest.approx((in_bits + out_bits) / (2 * 512))
    assert tile_cycles(256, m, 1 / 8, shape, d128, wire=3)[1] == pytest.approx(3 * htree)


def test_kernel_split_tile_closed_form(d128) -> None:  # noqa: ANN001
    """576 rows (64 channels x 9 positions) x 64 outputs on a 9 x 512-cell kernel-split tile."""
    m = map_layer(576, 512, (128, 128), 0, 16, 4)
    shape = TileShape(9, 512, 16, 9 * 512, 512, (1, 1), True)
    buffer, htree = tile_cycles(256, m, 1 / 8, shape, d128, wire=1)
    in_bits = 576 * 256 * 8 / 3  # each input row once per kernel row of PEs
    out_bits = 64 * (4 + 25) * 256  # 4 adder stages over 9 PEs
    # input: 9 cores (9 x 8 x 128 bit); output: ceil(29 x 9 x 16 / 1024) = 5 cores
    assert buffer == pytest.approx(in_bits / 32 / 9 + out_bits / 32 / 5)
    assert htree == pytest.approx((in_bits + out_bits) / (9 * 512))


def test_chip_cycles_closed_form() -> None:
    bus = ChipBus(bus_bits=1728, buffer_cores=8, grid=(3, 3), wire=2)
    buffer, xy = chip_cycles(55296.0, 131072.0, (1, 1), bus)
    assert buffer == pytest.approx((55296 + 131072) / 128 / 8)
    assert xy == 2 * (math.ceil(55296 / 1728 * 3) + math.ceil(131072 / 1728 * 3))
    # the buffer's parallel lines are capped by the bus: 256 bits = two 128-bit lines
    narrow = dataclasses.replace(bus, bus_bits=256)
    assert chip_cycles(55296.0, 131072.0, (1, 1), narrow)[0] == pytest.approx(
        (55296 + 131072) / 128 / 2
    )
    # a layer spread over more tile rows / columns gets more of the bus
    assert chip_cycles(55296.0, 131072.0, (3, 3), bus)[1] < xy


def test_tile_shape_follows_the_floorplan(d128) -> None:  # noqa: ANN001
    m = map_layer(1152, 1792, (128, 128), 0, 16, 4)
    conventional = tile_shape(m, dataclasses.replace(d128, spp=16, ppt=4))
    assert (conventional.pes, conventional.pe_cells, conventional.rows) == (2, 512, 1024)
    assert conventional.grid == (2, 2) and conventional.bus_bits == 1024
    split = tile_shape(m, d128, (512, 9))
    assert (split.pes, split.pe_subarrays, split.rows, split.cols) == (9, 16, 4608, 512)
    assert split.grid == (1, 4) and split.split


def test_copies_leave_buffer_and_bus_time_alone(d128) -> None:  # noqa: ANN001
    """Weight copies split the compute, not the data every vector moves (NeuroSim V1.4
    ``Tile.cpp``: "the total number of data transferred is fixed")."""
    v = {"rows": 576, "cols": 64, "vectors": 256, "kernel": (3, 3), "kind": "conv2d"}
    m = map_layer(576, 512, (128, 128), 0, 16, 4)
    clk = Clock(t_read=8e-9, t_clk=8e-9, passes=1, t_chip_wire=1e-9)
    flow = LayerFlow(
        TileShape(9, 512, 16, 9 * 512, 512, (1, 1), True), ChipBus(1728, 8, (3, 3), 1), 0.25
    )
    one = layer_latency(v, m, d128, clk, 1e-3, flow, copies=1)
    four = layer_latency(v, m, d128, clk, 1e-3, flow, copies=4)
    assert four["compute"] == pytest.approx(one["compute"] / 4)
    assert four["buffer"] == one["buffer"] and four["interconnect"] == one["interconnect"]
    # the global buffer: im2col rows once per kernel row, a quarter of the outputs (pooled)
    glb, _ = chip_cycles(576 * 8 * 256 / 3, 64 * 8 * 256 * 0.25, (1, 1), flow.chip)
    tile, _ = tile_cycles(256, m, 1 / 8, flow.shape, d128, 1)
    assert one["buffer"] == pytest.approx((tile + glb) * 8e-9)
