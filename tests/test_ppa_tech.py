"""The 5/3/2/1 nm technology files: their NeuroSim V1.4 values match NeuroSim's own tables."""

from __future__ import annotations

import math
import os
import re
from pathlib import Path

import pytest

from cimsweep.ppa import estimate, load_tech, tech_file
from cimsweep.ppa.reference import NEUROSIM_HW, vgg8_geometry

REPO = Path(__file__).resolve().parents[1]
ROOT = Path(os.environ.get("CIMSWEEP_NEUROSIM_DIR", REPO.parent / "shared" / "neurosim"))
TECH_CPP = ROOT / "v1.4" / "Inference_pytorch" / "NeuroSIM" / "Technology.cpp"
NEW_NODES = (5, 3, 2, 1)


@pytest.mark.parametrize("node", NEW_NODES)
def test_new_node_estimates(node: int) -> None:
    tech = load_tech(tech_file(node, REPO / "config" / "tech"))
    hw = {**NEUROSIM_HW, "tech_node": node, "cell_type": "SRAM6T"}
    t = estimate(vgg8_geometry(), hw, tech)["total"]
    assert t["area_mm2"] > 0 and t["energy_J"] > 0 and t["latency_s"] > 0


@pytest.mark.parametrize("node", NEW_NODES)
def test_new_node_values_are_neurosim_v14s(node: int) -> None:
    if not TECH_CPP.is_file():
        if os.environ.get("REQUIRE_NEUROSIM") == "1":
            pytest.fail(f"REQUIRE_NEUROSIM=1 but {TECH_CPP} is missing")
        pytest.skip(f"{TECH_CPP} missing")
    text = TECH_CPP.read_text()
    lists = {
        name: [
            float(x)
            for x in re.search(rf"double {name} \[7\] = \{{([^}}]*)\}}", text).group(1).split(",")
        ]
        for name in ("currentlist", "currentlist_off")
    }
    start = text.index(f"featureSizeInNano == {node})")
    vdd = float(re.search(r"vdd = ([0-9.]+);", text[start:]).group(1))
    tech = load_tech(tech_file(node, REPO / "config" / "tech"))
    index = {5: 3, 3: 4, 2: 5, 1: 6}[node]
    assert tech["device"]["vdd_V"] == vdd
    assert tech["device"]["ion_A_per_m"] == pytest.approx(lists["currentlist"][index])
    assert tech["device"]["ioff_A_per_m"] == pytest.approx(lists["currentlist_off"][index])
    assert tech["device"]["feature_size_m"] == pytest.approx(node * 1e-9)


def test_pipeline_duplication_follows_neurosims_rule() -> None:
    """VGG8: input maps 32, 32, 16, 16, 8, 8 (conv) and FC; S_max/S_min = 4 < 8, so the bound is
    8 px and the copies are (S/8)^2 = 16, 16, 4, 4, 1, 1, 1, 1; more copies, more area, less
    latency; layer-by-layer mode never duplicates for speed. Copies that fit in the idle
    subarrays of a layer's own tiles are free (NeuroSim ``SubArrayDup``/``PEDesign``): the
    speed-up adds ``ceil(copies / spare)`` times the layer's tiles (``OverallEachLayer``)."""
    tech = load_tech(tech_file(22, REPO / "config" / "tech"))
    plain = estimate(vgg8_geometry(), {**NEUROSIM_HW, "ppa_mode": "pipeline"}, tech)
    tech["arch"]["pipeline_speedup_degree"] = 8
    dup = estimate(vgg8_geometry(), {**NEUROSIM_HW, "ppa_mode": "pipeline"}, tech)
    layer = estimate(vgg8_geometry(), NEUROSIM_HW, tech)
    assert [r["duplication"] for r in dup["layers"]] == [16, 16, 4, 4, 1, 1, 1, 1]
    assert [r["duplication"] for r in plain["layers"]] == [1] * 8
    assert [r["duplication"] for r in layer["layers"]] == [1] * 8
    assert dup["total"]["area_mm2"] > plain["total"]["area_mm2"]
    assert dup["total"]["latency_s"] < plain["total"]["latency_s"]
    for r, p in zip(dup["layers"], plain["layers"], strict=True):
        assert r["spare_copies"] == p["spare_copies"] >= 1
        extra = math.ceil(r["duplication"] / r["spare_copies"])
        assert r["copies"] == r["spare_copies"] * extra
        assert r["area_mm2"] / p["area_mm2"] == pytest.approx(extra, rel=1e-9)
    assert dup["layers"][0]["area_mm2"] > plain["layers"][0]["area_mm2"]


def test_pipeline_idle_leakage_is_neurosims_average() -> None:
    """``arch.pipeline_leakage: idle`` (NeuroSim V1.4 main.cpp): a layer's periphery leaks only
    while it waits for the slowest layer. One layer never waits, so only the chip-level buffer
    and bus leak; with several layers it lies between that and the always-on figure."""
    tech = load_tech(tech_file(22, REPO / "config" / "tech"))
    idle = {**tech, "arch": {**tech["arch"], "pipeline_leakage": "idle"}}
    hw = {**NEUROSIM_HW, "ppa_mode": "pipeline"}
    one = vgg8_geometry()[:1]
    always_1 = estimate(one, hw, tech)
    idle_1 = estimate(one, hw, idle)
    layer_periph = (
        sum(always_1["layers"][0]["area_breakdown_mm2"].values())
        - (always_1["layers"][0]["area_breakdown_mm2"]["array"])
    )
    chip_periph = always_1["total"]["area_mm2"] - always_1["total"]["area_breakdown_mm2"]["array"]
    # the write level shifters and the empty floorplan corners never leak
    idle_area = always_1["total"]["idle_area_mm2"]
    assert idle_area == pytest.approx(always_1["layers"][0]["idle_area_mm2"], rel=1e-12)
    assert 0 < idle_area < layer_periph
    leaky = chip_periph - idle_area
    # the tile H-tree's repeaters leak by their count, beside the area rule (layer periphery)
    htree = always_1["layers"][0]["htree_leakage_W"]
    assert htree >= 0
    want = (always_1["total"]["leakage_power_W"] - htree) * (chip_periph - layer_periph) / leaky
    assert idle_1["total"]["leakage_power_W"] == pytest.approx(want, rel=1e-9)
    full_always = estimate(vgg8_geometry(), hw, tech)["total"]
    full_idle = estimate(vgg8_geometry(), hw, idle)["total"]
    assert want < full_idle["leakage_power_W"] < full_always["leakage_power_W"]
    assert full_idle["dynamic_energy_J"] == full_always["dynamic_energy_J"]
    # layer-by-layer mode is not affected
    layer = {**hw, "ppa_mode": "layer"}
    assert estimate(one, layer, idle)["total"] == estimate(one, layer, tech)["total"]


def test_access_transistor_is_sized_from_the_on_resistance() -> None:
    """W ~ 1/R_on (NeuroSim's IR-drop rule): 12 kOhm cells get half the 6 kOhm width, a
    lighter word line and less array energy; SRAM cells keep the tech file's width."""
    from cimsweep.ppa.design import size_access_transistor
    from cimsweep.ppa.estimate import normalize_hw

    tech = load_tech(tech_file(22, REPO / "config" / "tech"))
    base = tech["cells"]["access_gate_width_F"]
    hw6 = normalize_hw({**NEUROSIM_HW, "on_state": 1 / 6e3})
    hw12 = normalize_hw({**NEUROSIM_HW, "on_state": 1 / 12e3})
    assert size_access_transistor(tech, hw6)["cells"]["access_gate_width_F"] == base
    assert size_access_transistor(tech, hw12)["cells"]["access_gate_width_F"] == base / 2
    sram = normalize_hw({**NEUROSIM_HW, "cell_type": "SRAM6T", "on_state": 1 / 12e3})
    assert size_access_transistor(tech, sram) is tech
    e6, e12 = (
        estimate(vgg8_geometry(), h, tech)["total"]["energy_breakdown_J"]["array"]
        for h in (hw6, hw12)
    )
    assert e12 < e6


def test_tile_htree_length_is_neurosims() -> None:
    """NeuroSim V1.4 HTree.cpp totalWireLength over square PEs: 2 x 2 PEs the main bus of one
    PE side, 3 x 3 (a kernel-split tile, laid out on 4 x 4) one vertical and one horizontal
    stage plus the main bus of two sides, 8 x 8 ten sides; one PE has no tree."""
    from cimsweep.ppa.area import tile_htree_length

    assert tile_htree_length(1, 1e-3) == 0.0
    assert tile_htree_length(4, 1e-3) == pytest.approx(1e-3)
    assert tile_htree_length(9, 1e-3) == pytest.approx(4e-3)
    assert tile_htree_length(16, 1e-3) == pytest.approx(4e-3)
    assert tile_htree_length(64, 1e-3) == pytest.approx(10e-3)


NODES_ALL = (130, 65, 45, 32, 22, 14, 7, 5, 3, 2, 1)


def _neurosim_source(name: str) -> str:
    path = ROOT / "v1.4" / "Inference_pytorch" / "NeuroSIM" / name
    if not path.is_file():
        if os.environ.get("REQUIRE_NEUROSIM") == "1":
            pytest.fail(f"REQUIRE_NEUROSIM=1 but {path} is missing")
        pytest.skip(f"{path} missing")
    return path.read_text()


@pytest.mark.parametrize("node", NODES_ALL)
def test_column_power_is_neurosims_sar_fit_at_its_read_voltage(node: int) -> None:
    """``cells.column_power_V2`` = the LP coefficient of ``SarADC.cpp`` ``GetColumnPower``
    (``c * exp(-2.303 log10(R))``, i.e. ``c / R`` at its 0.5 V Cadence reference; 32 nm's
    exponent is 2.297) x
    ``Param.cpp`` ``readVoltage`` / 0.5 V (the column resistance is scaled by 0.5 / readVoltage
    first), read from NeuroSim V1.4's own sources."""
    sar = _neurosim_source("SarADC.cpp")
    body = sar[sar.index("double SarADC::GetColumnPower") :]
    lp = body[body.index("// LP") :]
    branch = (
        lp[lp.index("} else {   // 1nm") :] if node == 1 else lp[lp.index(f"technode == {node})") :]
    )
    fit = re.search(r"Column_Power \+= ([0-9.]+)\*exp\(-([0-9.]+)\*log10", branch)
    coef, slope = float(fit.group(1)), float(fit.group(2))
    assert slope == pytest.approx(math.log(10), abs=0.01)  # R^-1 within 0.3 % in the exponent
    param = _neurosim_source("Param.cpp")
    v_read = float(re.search(rf"technode == {node}\) \{{readVoltage=([0-9.]+);", param).group(1))
    tech = load_tech(tech_file(node, REPO / "config" / "tech"))
    assert tech["cells"]["column_power_V2"] == pytest.approx(coef * v_read / 0.5, rel=1e-5)


def test_cell_read_energy_is_column_power_times_conductance_and_time() -> None:
    from cimsweep.ppa import components as comp

    tech = load_tech(tech_file(22, REPO / "config" / "tech"))
    k = tech["cells"]["column_power_V2"]
    assert comp.cell_read_energy(tech, "resistive", 1e-4, 6e-9) == pytest.approx(k * 1e-4 * 6e-9)
    v = tech["cells"]["read_voltage_V"]  # capacitive cells: C V_read^2
    assert comp.cell_read_energy(tech, "capacitive", 1e-15) == pytest.approx(1e-15 * v * v)


def test_measured_input_activity_scales_only_the_conducting_cell_reads() -> None:
    """A layer's ``input_activity`` replaces the technology file's for its cell reads: the
    column-current energy is linear in it, everything else stays (closed form)."""
    tech = load_tech(tech_file(22, REPO / "config" / "tech"))
    geo = vgg8_geometry()

    def layer0(activity: float | None) -> dict:
        g = [dict(x) for x in geo]
        if activity is not None:
            g[0]["input_activity"] = activity
        return estimate(g, NEUROSIM_HW, tech)["layers"][0]

    default, low, high = layer0(None), layer0(0.1), layer0(0.4)
    cell = (high["energy_breakdown_J"]["array"] - low["energy_breakdown_J"]["array"]) / 0.3
    rest = low["energy_breakdown_J"]["array"] - 0.1 * cell
    a0 = tech["cells"]["input_activity"]
    assert default["energy_breakdown_J"]["array"] == pytest.approx(rest + a0 * cell, rel=1e-9)
    assert cell > 0 and rest > 0
    for part in ("adc", "accumulation", "buffer", "interconnect", "other"):
        assert low["energy_breakdown_J"][part] == high["energy_breakdown_J"][part]
    bad = [dict(x) for x in geo]
    bad[0]["input_activity"] = 1.5
    with pytest.raises(ValueError, match="input_activity must be in"):
        estimate(bad, NEUROSIM_HW, tech)
