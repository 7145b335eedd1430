"""One-axis trends of the analytical estimate against NeuroSim V1.4's own C++ (committed DOE).

For ADC bits, flash vs SAR, subarray size, bits per cell, ``parallel_read``, technology node and
pipeline mode: the estimate (with the V1.4 calibration's technology settings, uncalibrated)
moves from the DOE's base point the way NeuroSim does (same sign of the change) and by roughly as
much (its ratio to the base within ``SLOPE`` of NeuroSim's, in either direction). NeuroSim's
figures are facts from ``tests/data/neurosim_v1.4_ppa.csv`` (commit in its ``.json``); what the
model does not reproduce yet is a strict expected failure.
"""

from __future__ import annotations

import math
from pathlib import Path

import pytest

from cimsweep.ppa import fit

REPO = Path(__file__).resolve().parents[1]
TABLE = REPO / "tests" / "data" / "neurosim_v1.4_ppa.csv"
TECH = REPO / "config" / "tech"
SLOPE = 1.6  # ours / NeuroSim of the (point / base) ratios, either way


@pytest.fixture(scope="module")
def moves() -> dict[tuple[str, str], dict[str, tuple[float, float]]]:
    """(axis, value) -> metric -> (NeuroSim point/base, ours point/base)."""
    rows = [r for r in fit.read_table(TABLE) if r["network"] == "cnn"]  # the CNN's full sweep
    base = next(r for r in rows if r["axis"] == "base")
    ours_base = fit.analytical(base, TECH)
    assert ours_base is not None
    out: dict[tuple[str, str], dict[str, tuple[float, float]]] = {}
    for r in rows:
        if r["axis"] not in fit.AXES or r["status"] != "ok":
            continue
        a = fit.analytical(r, TECH)
        assert a is not None
        out[(r["axis"], str(r[r["axis"]]))] = {
            m: (float(r[m]) / float(base[m]), a["total"][m] / ours_base["total"][m])
            for m in fit.METRICS
        }
    return out


def _check(move: dict[str, tuple[float, float]], metrics: tuple[str, ...]) -> None:
    for m in metrics:
        ns, ours = move[m]
        assert (ns - 1) * (ours - 1) > 0, f"{m}: NeuroSim x{ns:.3f}, ours x{ours:.3f}"
        assert abs(math.log(ours / ns)) <= math.log(SLOPE), f"{m}: x{ns:.3f} vs x{ours:.3f}"


ALL = fit.METRICS


def test_flash_vs_sar(moves: dict) -> None:
    """NeuroSim's "flash" is its multilevel current S/A: 4x faster (1 ns against (b+1) ns),
    half the energy (the column conducts for 1 ns, not 6), a smaller ADC."""
    _check(moves[("adc_type", "flash")], ALL)


@pytest.mark.parametrize("size", ["(64, 64)", "(256, 256)"])
def test_subarray_size(moves: dict, size: str) -> None:
    """Larger subarrays: less area, and less latency (more copies of small layers in the
    idle subarrays, fewer buffer/bus words), though the word line is longer."""
    _check(moves[("sub_array", size)], ("area_mm2", "latency_s"))


@pytest.mark.parametrize("size", ["(64, 64)", "(256, 256)"])
def test_subarray_size_leakage(moves: dict, size: str) -> None:
    """NeuroSim's leakage rises at both sizes on the CNN (x1.021 / x1.235): with its column
    layout (8 cells a weight, no reference column) the kernel-split layers take as many tiles
    as NeuroSim's, whose H-tree repeaters leak most."""
    _check(moves[("sub_array", size)], ("leakage_power_W",))


@pytest.mark.parametrize("size", ["(64, 64)", "(256, 256)"])
def test_subarray_size_energy(moves: dict, size: str) -> None:
    """NeuroSim's energy rises at both sizes on the CNN (x1.004 / x1.034): its kernel-split
    layers convert kernel position by kernel position, so 256-row subarrays convert as often
    as 128-row ones, each half empty."""
    _check(moves[("sub_array", size)], ("dynamic_energy_J", "tops_per_w"))


@pytest.mark.parametrize("pr", ["16", "32", "64"])
def test_parallel_read(moves: dict, pr: str) -> None:
    """Fewer rows per read: more conversions (the fixed ADC cost and the read-group adders
    grow, the column-current energy does not), more read cycles, a read-group adder per ADC."""
    _check(moves[("parallel_read", pr)], ALL)


def test_pipeline_latency_and_energy(moves: dict) -> None:
    """Pipeline: the slowest layer sets the period (NeuroSim main.cpp), same dynamic energy,
    less leakage power (NeuroSim charges a layer's periphery only while it idles)."""
    move = moves[("ppa_mode", "pipeline")]
    _check(move, ("leakage_power_W",))
    ns, ours = move["latency_s"]
    assert ns < 1 and ours < 1
    assert move["dynamic_energy_J"][1] == pytest.approx(1.0, abs=0.01)
    assert move["dynamic_energy_J"][0] == pytest.approx(1.0, abs=0.01)


def test_pipeline_latency_slope(moves: dict) -> None:
    """With network-sized tiles the free copies shorten layer-by-layer and pipelined latency
    alike: the pipeline period / layer-by-layer latency is NeuroSim's within 1.6x (x0.46 /
    x0.63; it was x0.16 with fixed 16-subarray tiles)."""
    _check(moves[("ppa_mode", "pipeline")], ("latency_s",))


def test_pipeline_area(moves: dict) -> None:
    """NeuroSim's pipelined chip is 4 % smaller, by its interconnect alone (6.66 -> 5.19
    mm^2): its global bus is the layers' tile ports, once per tile when pipelined, halved
    until it fits 2048 bits (on the base point 1728 bits layer by layer and, by that rule,
    1224 pipelined; ours 1728 and 1080 with our tiles). x0.962 / x0.968."""
    _check(moves[("ppa_mode", "pipeline")], ("area_mm2",))


@pytest.mark.parametrize("bits", ["3", "4", "6", "8"])
def test_adc_bits(moves: dict, bits: str) -> None:
    """SAR bits: (b + 1) ns conversions, b-proportional ADC area and energy."""
    _check(moves[("adc_precision", bits)], ALL)


@pytest.mark.parametrize("node", ["130", "65", "45", "32"])
def test_tech_node(moves: dict, node: str) -> None:
    """Older RRAM nodes: larger, hungrier and, through the minimum-sized mux decoder driver
    NeuroSim keeps at 32-130 nm, 4-13x slower (its sensing cycle 35-112 ns)."""
    _check(moves[("tech_node", node)], ALL)


def test_bits_per_cell_2(moves: dict) -> None:
    """2 bits per cell: half the columns and arrays; latency up slightly (x1.07 / x1.05)."""
    _check(moves[("bitcell", "2")], ALL)


def test_bits_per_cell_4(moves: dict) -> None:
    """4 bits per cell: a quarter of the arrays; latency up (x1.15 / x1.21): the layers get
    fewer free copies and the tile buffers move every vector whatever the copies."""
    _check(moves[("bitcell", "4")], ALL)
