"""Signed weight mappings as a registry: built-ins, the catalog's choices, and a new mapping
added by one class declaration (used by the simulator, the layout rules and the PPA model)."""

from __future__ import annotations

import importlib
import math
import subprocess
import sys
from pathlib import Path

import pytest
import torch
from torch import nn

from cimsweep.cim import sim_config
from cimsweep.cim.engine import LayerEngine
from cimsweep.cim.mapping import CrossbarMap
from cimsweep.layout import chip_memory_mb, column_tiles, crossbar_columns, n_weight_slices
from cimsweep.ppa import estimate, load_tech
from cimsweep.ppa.reference import NEUROSIM_HW
from cimsweep.signed_mapping import (
    REFERENCES,
    Differential,
    Offset,
    SignedMapping,
    signed_mapping,
)
from cimsweep.workflow.params import PARAMS
from cimsweep.workflow.params import crossbar as crossbar_params

TECH22 = Path(__file__).resolve().parents[1] / "config" / "tech" / "22nm.yaml"


def test_builtin_mappings_are_registered_and_are_the_catalog_choices() -> None:
    assert SignedMapping.lookup("differential") is Differential
    assert SignedMapping.lookup("offset") is Offset
    assert PARAMS["signed_mapping"].choices == SignedMapping.names() == ("differential", "offset")
    assert PARAMS["offset_reference"].choices == REFERENCES == ("tile", "layer", "digital")
    with pytest.raises(ValueError, match="unknown signed_mapping 'twos'; known: differential"):
        CrossbarMap(8, 2, 8, 8, 0, 1, 4, "twos")
    with pytest.raises(ValueError, match="unknown offset_reference 'row'"):
        CrossbarMap(8, 2, 8, 8, 0, 1, 4, "offset", "row")


def test_builtin_layout_facts_in_closed_form() -> None:
    diff, tile, layer = Differential(), Offset(), Offset("layer")
    assert (diff.arrays, tile.arrays) == (2, 1)
    assert (diff.n_weight_slices(8, 3), tile.n_weight_slices(8, 3)) == (3, 3)  # 7 / 8 bits
    assert (diff.n_weight_slices(7, 3), tile.n_weight_slices(7, 3)) == (2, 3)
    assert diff.column_tiles(100, 64, 4) == (8, 13)  # 8 pairs of 2 * 4 cells per row
    assert diff.column_tiles(3, 4, 4) == (1, 6)  # a pair spans 2 * 4 / 4 subarrays
    assert tile.column_tiles(100, 64, 4) == (15, 7)  # 16 weight groups, one is reference
    assert (tile.reference_columns(7), layer.reference_columns(7)) == (7, 1)
    # one dummy group per layer: whole subarrays of weights, the dummy after the last weight
    assert layer.column_tiles(100, 64, 4) == (16, 7)  # 101 groups of 16
    assert layer.column_tiles(32, 64, 4) == (16, 3)  # the dummy spills into a third tile
    assert layer.column_tiles(31, 64, 4) == (16, 2)
    with pytest.raises(ValueError, match="offset_reference = layer needs sub_array cols >= "):
        layer.column_tiles(4, 2, 4)
    assert (tile.phys_cols(100, 7), layer.phys_cols(100, 7), diff.phys_cols(100, 13)) == (
        107,
        101,
        200,
    )
    assert layer.layer_reference and not tile.layer_reference and not diff.layer_reference
    # digital (NeuroSim V1.4's C++ layout): 8 cells a weight, no reference column at all
    digital = Offset("digital")
    assert digital.column_tiles(100, 64, 4) == (16, 7) and digital.column_tiles(32, 64, 4) == (
        16,
        2,
    )
    assert digital.reference_columns(7) == 0 and digital.phys_cols(100, 7) == 100
    assert digital.crossbar_columns(255, 128, 8) == 255 * 8  # NeuroSim: C_out x numColPerSynapse
    assert [m.digital_offset(8) for m in (diff, tile, layer, digital)] == [0, 0, 0, 128]
    assert [m.read_columns_per_output for m in (diff, tile, layer, digital)] == [2, 2, 2, 1]
    with pytest.raises(ValueError, match="offset_reference = digital needs sub_array cols >= "):
        digital.column_tiles(4, 2, 4)


def test_registry_and_layout_do_not_import_torch() -> None:
    code = (
        "import sys, cimsweep.layout, cimsweep.signed_mapping, cimsweep.workflow.params; "
        "assert 'torch' not in sys.modules, 'torch imported'"
    )
    subprocess.run([sys.executable, "-c", code], check=True)


def test_duplicate_name_is_refused() -> None:
    with pytest.raises(ValueError, match="already registered"):

        class Again(SignedMapping):
            name = "offset"


# --- a new mapping is one declaration -------------------------------------------------------


class ColumnOffset(SignedMapping):
    """Offset codes ``q + 2**(wp-1)`` with a reference column beside every weight column."""

    name = "test_column_offset"
    arrays = 2  # the weight's column and its own reference column

    def code_bits(self, weight_precision: int) -> int:
        return weight_precision

    def codes(self, q: torch.Tensor, weight_precision: int) -> tuple[torch.Tensor, int]:
        offset = 2 ** (weight_precision - 1)
        return torch.cat([q + offset, torch.full_like(q, offset)], dim=1), 0

    def combine(self, phys: torch.Tensor, cols: int, cols_per_tile: int) -> torch.Tensor:
        return phys[..., :cols] - phys[..., cols:]


del SignedMapping.registry[ColumnOffset.name]  # registered on definition; the fixture re-adds it


@pytest.fixture
def column_offset(monkeypatch):  # type: ignore[no-untyped-def]
    """The mapping registered, as if declared in cimsweep.signed_mapping: the catalog section
    rebuilt from the registry lists it."""
    SignedMapping.registry[ColumnOffset.name] = ColumnOffset
    declared = {p.name: p for p in importlib.reload(crossbar_params).PARAMS}
    assert declared["signed_mapping"].choices == ("differential", "offset", ColumnOffset.name)
    monkeypatch.setitem(PARAMS, "signed_mapping", declared["signed_mapping"])
    yield ColumnOffset.name
    del SignedMapping.registry[ColumnOffset.name]
    importlib.reload(crossbar_params)


@pytest.mark.parametrize("bitcell,wp", [(1, 2), (1, 8), (2, 5), (3, 8)])
def test_a_new_signed_mapping_is_one_declaration(column_offset: str, bitcell: int, wp: int) -> None:
    name = column_offset
    assert isinstance(signed_mapping(name), ColumnOffset)
    assert sim_config(signed_mapping=name)["signed_mapping"] == name  # an allowed value
    # layout facts: wp code bits per cell column, 2 columns per weight, no shared reference
    n_w = n_weight_slices(wp, bitcell, name)
    assert n_w == math.ceil(wp / bitcell)
    assert column_tiles(100, 64, n_w, name) == (64 // (2 * n_w), math.ceil(100 / (64 // (2 * n_w))))
    assert crossbar_columns(100, 64, n_w, name) == 2 * 100 * n_w
    assert chip_memory_mb(2**20, wp, bitcell, name) == pytest.approx(2.6 * 2 * n_w)
    # cell mapping: every code round-trips through the cells
    q = torch.arange(-(2 ** (wp - 1) - 1), 2 ** (wp - 1)).float().view(-1, 1).repeat(1, 3)
    m = CrossbarMap(q.shape[0], 3, 64, 64, 0, bitcell, wp, name)
    levels = m.encode(q)
    assert levels.shape == (n_w, q.shape[0], 6) and int(levels.max()) <= 2**bitcell - 1
    assert torch.equal(m.signed_matrix(levels), q)
    assert torch.equal(levels[:, :, 3:], m.encode(torch.zeros_like(q))[:, :, 3:])  # references


def test_a_new_signed_mapping_runs_in_the_engine_and_the_ppa_model(column_offset: str) -> None:
    """Noise-free, lossless ADC: the bit-sliced analog path equals the integer reference; the
    PPA model counts the simulator's physical columns."""
    torch.manual_seed(0)
    layer = nn.Linear(150, 7)
    sim = sim_config(adc_precision=14, weight_precision=6, signed_mapping=column_offset)
    ranges = {"input_min": -2.0, "input_max": 2.0, "weight_max": 0.2}
    eng = LayerEngine("l", layer, ranges, sim)
    assert eng.lossless and eng.map.phys_cols == 14
    x = torch.randn((9, 150), generator=torch.Generator().manual_seed(1))
    codes, _ = eng.input_codes(x)
    eng.allow_linear_path = False
    assert torch.equal(eng.mvm(codes, eng.program(None)), eng.reference(codes))

    geometry = {"name": "fc", "kind": "linear", "rows": 150, "cols": 7, "vectors": 1}
    hw = {**NEUROSIM_HW, "weight_precision": 6, "signed_mapping": column_offset}
    hw["sub_array"] = (64, 64)
    got = estimate([geometry], hw, load_tech(TECH22))["layers"][0]
    cmap = CrossbarMap(150, 7, 64, 64, 0, int(hw["bitcell"]), 6, column_offset)
    assert got["crossbar_cols"] == cmap.n_w * cmap.phys_cols
    assert got["arrays"] == cmap.subarrays


def test_ppa_places_the_layer_reference_as_the_simulator_does() -> None:
    from pathlib import Path

    from cimsweep.ppa import estimate, load_tech

    tech = load_tech(Path(__file__).resolve().parents[1] / "config" / "tech" / "22nm.yaml")
    layer = [{"name": "fc", "kind": "linear", "rows": 128, "cols": 255, "vectors": 1}]
    hw = {"signed_mapping": "offset", "sub_array": (128, 128), "bitcell": 1}
    per_tile = estimate(layer, {**hw, "offset_reference": "tile"}, tech)["layers"][0]
    per_layer = estimate(layer, {**hw, "offset_reference": "layer"}, tech)["layers"][0]
    sim = CrossbarMap(128, 255, 128, 128, 0, 1, 8, "offset", "layer")
    # 16 weights of 8 cells per subarray and one dummy group: 256 groups; tile: 15 + reference
    assert (per_layer["col_tiles"], per_tile["col_tiles"]) == (sim.col_tiles, 17) == (16, 17)
    assert per_layer["crossbar_cols"] == sim.phys_cols * sim.n_w == 256 * 8
    assert per_tile["crossbar_cols"] == (255 + 17) * 8
    digital = estimate(layer, {**hw, "offset_reference": "digital"}, tech)["layers"][0]
    sim = CrossbarMap(128, 255, 128, 128, 0, 1, 8, "offset", "digital")
    assert digital["col_tiles"] == sim.col_tiles == 16  # 255 weights, no dummy group
    assert digital["crossbar_cols"] == sim.phys_cols * sim.n_w == 255 * 8
