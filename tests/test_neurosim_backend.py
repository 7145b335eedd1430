"""NeuroSim's C++ as a PPA backend: Param.cpp patching, trace format, report parsing, a real run.

NeuroSim V1.4 sources come from ``../shared/neurosim`` (or ``$CIMSWEEP_NEUROSIM_DIR``), never
from the project. Tests that need it (and a C++ compiler) skip when either is missing, and fail
instead when ``REQUIRE_NEUROSIM=1`` (CI).
"""

from __future__ import annotations

import ast
import os
import shutil
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from cimsweep.ppa.estimate import normalize_hw
from cimsweep.ppa.neurosim import build, parse_report, patch_param_cpp, patched_values
from cimsweep.ppa.neurosim.build import NeuroSimBuildError, source_dir
from cimsweep.ppa.neurosim.traces import input_bits_text, write_input_file, write_weight_file

REPO = Path(__file__).resolve().parents[1]
ROOT = Path(os.environ.get("CIMSWEEP_NEUROSIM_DIR", REPO.parent / "shared" / "neurosim"))
V14 = ROOT / "v1.4" / "Inference_pytorch"
# result keys only the analytical backend has (counts and hierarchy NeuroSim does not print)
ANALYTICAL_ONLY = {
    "fill_latency_s",
    "read_cycle_s",
    "arrays",
    "allocated_arrays",
    "pes",
    "tiles",
    "adcs",
    "utilization",
    "hierarchy",
    "row_activations",
    "cell_reads",
    "adc_conversions",
    "shift_adds",
    "psum_adds",
    "buffer_bytes",
    "interconnect_bit_mm",
    "digital_macs",
    "idle_area_mm2",
}


def _need(path: Path, what: str) -> None:
    ok = path.exists() and (what != "compiler" or shutil.which("g++") and shutil.which("make"))
    if not ok:
        if os.environ.get("REQUIRE_NEUROSIM") == "1":
            pytest.fail(f"REQUIRE_NEUROSIM=1 but {what} is missing ({path})")
        pytest.skip(f"{what} missing ({path})")


@pytest.fixture(scope="module")
def hook() -> dict[str, Any]:
    """The trace-writing functions of NeuroSim V1.4's own hook.py (run from the shared tree)."""
    path = V14 / "utee" / "hook.py"
    _need(path, "NeuroSim V1.4 hook.py")
    tree = ast.parse(path.read_text())
    keep = {
        "write_matrix_weight",
        "write_matrix_activation_conv",
        "write_matrix_activation_fc",
        "stretch_input",
        "dec2bin",
    }
    tree.body = [n for n in tree.body if isinstance(n, ast.FunctionDef) and n.name in keep]
    ns: dict[str, Any] = {"np": np}
    exec(compile(tree, str(path), "exec"), ns)  # noqa: S102 - the oracle's own code
    return ns


def test_conv_input_trace_matches_the_hook_byte_for_byte(hook: dict, tmp_path: Path) -> None:
    import torch
    import torch.nn.functional as F

    bits = 4
    rng = np.random.default_rng(0)
    codes = rng.integers(-(2 ** (bits - 1)), 2 ** (bits - 1), size=(1, 2, 5, 5))
    x = codes / 2 ** (bits - 1)  # NeuroSim's input grid
    theirs = tmp_path / "hook.csv"
    stretched = hook["stretch_input"](x, 3, (1, 1), (1, 1))
    hook["write_matrix_activation_conv"](stretched, None, bits, str(theirs))
    cols = F.unfold(torch.from_numpy(codes).double(), 3, padding=1)[0].numpy().astype(np.int64)
    ours = tmp_path / "ours.csv"
    write_input_file(ours, cols, bits)
    assert ours.read_bytes() == theirs.read_bytes()


def test_fc_input_and_weight_files_match_the_hook(hook: dict, tmp_path: Path) -> None:
    bits = 8
    rng = np.random.default_rng(1)
    codes = rng.integers(-128, 128, size=(1, 37))
    hook["write_matrix_activation_fc"](codes / 128.0, None, bits, str(tmp_path / "h.csv"))
    assert input_bits_text(codes[0], bits) == (tmp_path / "h.csv").read_text()
    w = rng.integers(-127, 128, size=(6, 3, 3, 3)) / 128.0
    hook["write_matrix_weight"](w, str(tmp_path / "hw.csv"))
    write_weight_file(tmp_path / "ow.csv", w.reshape(6, -1).T)
    assert (tmp_path / "ow.csv").read_bytes() == (tmp_path / "hw.csv").read_bytes()


def test_patch_keeps_the_users_file_and_changes_only_mapped_values() -> None:
    text = "void f() {\n\tmemcelltype = 1;   // SRAM\n\ttechnode = 22;\n\tmine = 7;\n}\n"
    out = patch_param_cpp(text, {"memcelltype": "2", "technode": "7"})
    assert out == "void f() {\n\tmemcelltype = 2;   // SRAM\n\ttechnode = 7;\n\tmine = 7;\n}\n"
    with pytest.raises(NeuroSimBuildError, match="cellBit"):
        patch_param_cpp(text, {"cellBit": "2"})


def test_patched_values_follow_the_hardware_point() -> None:
    hw = normalize_hw(
        {
            "tech_node": 7,
            "adc_precision": 6,
            "adc_type": "flash",
            "sub_array": (64, 128),
            "ppa_mode": "pipeline",
            "on_state": 1e-4,
        }
    )
    v = patched_values(hw)
    assert v["technode"] == "7" and v["levelOutput"] == "64" and v["SARADC"] == "false"
    assert v["numRowSubArray"] == "64" and v["numColSubArray"] == "128"
    assert v["pipeline"] == "true" and float(v["resistanceOn"]) == pytest.approx(1e4)
    assert patched_values({**hw, "cell_type": "SRAM6T"})["memcelltype"] == "1"


def test_missing_tree_is_a_clear_error(tmp_path: Path) -> None:
    with pytest.raises(NeuroSimBuildError, match="no Param.cpp"):
        source_dir(tmp_path)


@pytest.fixture(scope="module")
def neurosim_run(tmp_path_factory: pytest.TempPathFactory) -> tuple[dict, dict, str]:
    """A real NeuroSim V1.4 build and run of the digits CNN (32x32 subarrays) next to the
    analytical estimate of the same point."""
    _need(V14 / "NeuroSIM" / "Param.cpp", "compiler")
    return digits_cnn_run(V14, tmp_path_factory)


def digits_cnn_run(tree: Path, factory: pytest.TempPathFactory) -> tuple[dict, dict, str]:
    """NeuroSim (the tree ``tree``) and the analytical estimate of the digits CNN on 8x8
    inputs with 32x32 subarrays: (NeuroSim's estimate, ours, NeuroSim's stdout)."""
    import torch

    from cimsweep.nn.geometry import layer_geometry
    from cimsweep.nn.models import build_model
    from cimsweep.ppa import estimate, load_tech
    from cimsweep.ppa.neurosim import NeuroSimBackend
    from cimsweep.ppa.neurosim.model import model_traces

    os.environ.setdefault("CIMSWEEP_CACHE", str(factory.mktemp("cache")))
    torch.manual_seed(0)
    model = build_model("cnn", (1, 8, 8), 10).eval()
    geo = [g.to_dict() for g in layer_geometry(model, (1, 8, 8))]
    backend = NeuroSimBackend(tree, model_traces(model, torch.rand(1, 8, 8), 8, 8))
    hw = {"sub_array": (32, 32)}
    ours = estimate(geo, hw, load_tech(REPO / "config" / "tech" / "22nm.yaml"))
    return estimate(geo, hw, {}, backend=backend), ours, backend.stdout


def test_neurosim_run_fills_the_analytical_schema(neurosim_run: tuple) -> None:
    ns, ours, stdout = neurosim_run
    assert ns["backend"] == "neurosim" and "Summary" in stdout
    check_filled_schema(ns, ours)


def check_filled_schema(ns: dict, ours: dict) -> None:
    """NeuroSim's estimate ``ns`` carries the analytical estimate's columns (but the
    analytical-only ones), its totals add up, its layers are ours in order, and its TOPS/W
    includes the 1.22 post-layout factor its energies do not."""
    assert set(ours["total"]) - set(ns["total"]) <= ANALYTICAL_ONLY
    t = ns["total"]
    assert t["ops"] == ours["total"]["ops"]
    assert t["energy_J"] == pytest.approx(t["dynamic_energy_J"] + t["leakage_energy_J"])
    assert sum(t["energy_breakdown_J"].values()) == pytest.approx(t["dynamic_energy_J"], rel=1e-3)
    assert sum(t["area_breakdown_mm2"].values()) == pytest.approx(t["area_mm2"], rel=1e-3)
    assert t["tops_per_w_prelayout"] / t["tops_per_w"] == pytest.approx(1.22, rel=0.02)
    assert [r["name"] for r in ns["layers"]] == [r["name"] for r in ours["layers"]]
    layer_sum = sum(r["dynamic_energy_J"] for r in ns["layers"])
    assert layer_sum == pytest.approx(t["dynamic_energy_J"], rel=0.05)


def _neurosim_tiles(stdout: str) -> tuple[int, int, int, int]:
    """(conventional tile, its PE, kernel positions, kernel-split PE) sides NeuroSim printed."""
    import re

    t, p = (
        int(re.search(rf"Conventional {k} Storage Size: (\d+)x", stdout)[1])
        for k in ("Mapped Tile", "PE")
    )
    k, pe = re.search(r"Novel Mapped Tile Storage Size: (\d+)x(\d+)x", stdout).groups()
    return t, p, int(k), int(pe)


def test_dataflow_cycles_match_neurosims_layers(neurosim_run: tuple) -> None:
    """Our buffer and bus cycle counts (``cimsweep.ppa.dataflow``), given NeuroSim's own
    structure (its printed tile and PE sizes, its network lines: unpadded vectors, 8 cells
    per weight), land within 10 % of the buffer and interconnect latency NeuroSim V1.4 prints
    for every layer of the run (what is left: its PE-level DFF buffers, not modelled)."""
    import dataclasses
    import math

    import torch

    from cimsweep.nn.models import build_model
    from cimsweep.ppa import load_tech
    from cimsweep.ppa.dataflow import ChipBus, TileShape, chip_cycles, tile_cycles
    from cimsweep.ppa.design import design
    from cimsweep.ppa.mapping import map_layer
    from cimsweep.ppa.neurosim.model import model_traces

    ns, _, stdout = neurosim_run
    tile, pe, positions, pe_nm = _neurosim_tiles(stdout)
    per_weight = 8  # NeuroSim's numColPerSynapse: 8-bit weights, 1 bit per cell
    d = design(normalize_hw({"sub_array": (32, 32)}), load_tech(REPO / "config/tech/22nm.yaml"))
    d = dataclasses.replace(d, slices=per_weight)
    torch.manual_seed(0)
    model = build_model("cnn", (1, 8, 8), 10).eval()
    nets = [t.net for t in model_traces(model, torch.rand(1, 8, 8), 8, 8)]
    rows = [n.c_in * n.k_h * n.k_w for n in nets]
    split = [n.k_h * n.k_w == positions and r >= d.sr for n, r in zip(nets, rows, strict=True)]
    shapes = []
    for n, r, s in zip(nets, rows, split, strict=True):
        side, grid_rows = (pe_nm, n.c_in) if s else (tile, r)
        grid = (math.ceil(grid_rows / side), math.ceil(n.c_out * per_weight / side))
        if s:
            shapes.append(
                TileShape(
                    positions, pe_nm, (pe_nm // d.sr) ** 2, pe_nm * positions, pe_nm, grid, True
                )
            )
        else:
            shapes.append(TileShape(tile // pe, pe, (pe // d.sr) ** 2, tile, tile, grid, False))
    # the global bus: every layer's tile port, halved to 2048 bits (NeuroSim ChipInitialize)
    bus = sum(pe_nm * math.isqrt(positions) if s else tile for s in split) * (1 + 1 / d.cm)
    while bus > 2048:
        bus /= 2
    held = max(n.ifm_h * n.ifm_w * n.c_in for n in nets) * d.ip
    tiles = sum(s.grid[0] * s.grid[1] for s in shapes)
    grid_rows = math.ceil(math.sqrt(tiles))
    chip = ChipBus(int(bus), math.ceil(held / 128**2), (grid_rows, math.ceil(tiles / grid_rows)), 1)
    cycle = ns["total"]["cycle_s"]
    assert len(ns["layers"]) == len(nets) == 3
    for n, r, shape, layer in zip(nets, rows, shapes, ns["layers"], strict=True):
        vectors = (n.ifm_h - n.k_h + 1) // n.stride * ((n.ifm_w - n.k_w + 1) // n.stride)
        m = map_layer(r, n.c_out * per_weight, (d.sr, d.sc), 0, d.spp, d.ppt)
        t_buf, t_bus = tile_cycles(vectors, m, 1 / per_weight, shape, d, 1)
        in_bits = r * d.ip * vectors / (n.k_h if shape.split else 1)
        out_bits = n.c_out * d.ip * vectors / (4 if n.pool else 1)
        g_buf, g_bus = chip_cycles(in_bits, out_bits, shape.grid, chip)
        assert t_buf + g_buf == pytest.approx(layer["buffer_latency_s"] / cycle, rel=0.1)
        assert t_bus + g_bus == pytest.approx(layer["interconnect_latency_s"] / cycle, rel=0.1)


def test_build_is_cached_per_patched_source(neurosim_run: tuple) -> None:
    hw = normalize_hw({"sub_array": (32, 32)})
    first = build(V14, hw)
    assert build(V14, hw) == first
    assert build(V14, {**hw, "adc_precision": 4}) != first


def test_parse_rejects_an_unfinished_run() -> None:
    with pytest.raises(ValueError, match="ChipArea|Summary"):
        parse_report("------------------------------ FloorPlan ---\n")


def test_sweep_draws_both_backends(tmp_path_factory: pytest.TempPathFactory) -> None:
    """``ppa_backend: [analytical, neurosim]`` through the workflow: one table row per backend,
    NeuroSim's report in the job's log, the figure drawn; analytical paths unchanged."""
    _need(V14 / "NeuroSIM" / "Param.cpp", "compiler")
    import pandas as pd

    from tests.conftest import completed_run

    config = {
        "params": {
            "epochs": 2,
            "mc_runs": 1,
            "calib_samples": 32,
            "sub_array": [32, 32],
            "neurosim_dir": str(V14 / "NeuroSIM"),
        },
        "grid": {"model": ["cnn"], "ppa_backend": ["analytical", "neurosim"]},
        "figures": {"draw": ["accuracy_vs_energy"]},
    }
    run = completed_run(tmp_path_factory, "neurosim_sweep", config)
    table = pd.read_csv(run / "results" / "tables" / "sweep.csv")
    assert sorted(table["ppa_backend"]) == ["analytical", "neurosim"]
    assert (table["status"] == "ok").all()
    ns = table.set_index("ppa_backend").loc["neurosim"]
    assert ns["area_mm2"] > 0 and ns["energy_J"] > 0 and ns["latency_s"] > 0
    log = run / "results/logs/digits/ppa/cnn/ppa_backend~neurosim/ppa.log"
    assert "Summary" in log.read_text()
    assert (run / "results" / "figures" / "accuracy_vs_energy.png").is_file()


def ppa_step(tmp_path: Path, neurosim_dir: Path, sub_array: tuple[int, int]) -> dict:
    """``ppa.json`` of the workflow's PPA step with ``ppa_backend: neurosim`` on a digits CNN
    (untrained, seeded) and four random images."""
    import torch

    from cimsweep.io import read_json, write_json, write_npz
    from cimsweep.nn.geometry import layer_geometry
    from cimsweep.nn.models import build_model
    from cimsweep.workflow import steps

    torch.manual_seed(0)
    model = build_model("cnn", (1, 8, 8), 10).eval()
    geometry = tmp_path / "geometry.json"
    write_json(geometry, {"layers": [g.to_dict() for g in layer_geometry(model, (1, 8, 8))]})
    split = tmp_path / "split.npz"
    x = np.random.default_rng(0).random((4, 1, 8, 8), dtype=np.float32)
    y = np.arange(4) % 10
    write_npz(split, x_train=x, y_train=y, x_test=x, y_test=y)
    model_pt = tmp_path / "model.pt"
    steps.save_checkpoint(str(model_pt), model)
    values = {
        "dataset": "digits",
        "model": "cnn",
        "ppa_backend": "neurosim",
        "neurosim_dir": str(neurosim_dir),
        "sub_array": sub_array,
    }
    out = tmp_path / "ppa.json"
    steps.ppa(
        str(geometry),
        str(REPO / "config/tech/22nm.yaml"),
        str(out),
        values,
        split_npz=str(split),
        model_pt=str(model_pt),
    )
    result: dict = read_json(out)
    return result


def test_failing_run_is_a_failed_row_with_neurosims_message(tmp_path: Path) -> None:
    """NeuroSim refuses 128x128 subarrays for the tiny CNN: ppa.json is a failed row quoting it."""
    _need(V14 / "NeuroSIM" / "Param.cpp", "compiler")
    result = ppa_step(tmp_path, V14, (128, 128))
    assert result["status"] == "failed"
    assert "SubArray Size is too large" in result["error"]
