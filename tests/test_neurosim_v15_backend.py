"""NeuroSim V1.5-dev's C++ as a PPA backend: its integer trace format, Param.cpp, a real run.

V1.5-dev sources come from ``../shared/neurosim/v1.5-dev`` (or ``$CIMSWEEP_NEUROSIM_DIR``), never
from the project. Tests that need them (and a C++ compiler) skip when either is missing, and fail
instead when ``REQUIRE_NEUROSIM=1`` (CI).
"""

from __future__ import annotations

import ast
import os
import re
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import numpy as np
import pytest

from cimsweep.ppa.estimate import normalize_hw
from cimsweep.ppa.neurosim import neurosim_version, patch_param_cpp, patched_values
from cimsweep.ppa.neurosim.build import source_dir
from cimsweep.ppa.neurosim.traces import weight_grid
from cimsweep.ppa.neurosim.v15 import integer_text, shifted_operands, write_layer_files
from tests.test_neurosim_backend import (
    ROOT,
    V14,
    _need,
    check_filled_schema,
    digits_cnn_run,
    ppa_step,
)

V15 = ROOT / "v1.5-dev"
MACRO = V15 / "pytorch-quantization" / "pytorch_quantization" / "cim" / "modules" / "macro.py"


@pytest.fixture(scope="module")
def macro() -> dict[str, Any]:
    """V1.5's own trace writer: ``CIM.simulate_array`` (shift, dummy row/column, then
    ``write_layer``) and ``write_layer`` from the shared ``macro.py``, loaded via ast (CPU torch
    only; nothing else of the backbone is imported)."""
    _need(MACRO, "NeuroSim V1.5-dev macro.py")
    import math

    import torch

    tree = ast.parse(MACRO.read_text())
    keep = {"CIM", "write_layer", "dec2val"}
    tree.body = [
        n for n in tree.body if isinstance(n, ast.ClassDef | ast.FunctionDef) and n.name in keep
    ]
    ns: dict[str, Any] = {"np": np, "torch": torch, "math": math, "os": os}
    exec(compile(tree, str(MACRO), "exec"), ns)  # noqa: S102 - the oracle's own code
    return ns


def _their_files(macro: dict, tmp: Path, input2d: Any, weight2d: Any) -> tuple[bytes, bytes]:
    """Run V1.5's ``simulate_array`` on one image's integer operands (batch of one, hook on,
    its input quantizer disabled so that it returns right after writing) in ``tmp``."""
    args = SimpleNamespace(
        hook=True, rate_stuck_0=0.0, rate_stuck_1=0.0, batch_size=1, model="m", name="L"
    )
    layer = SimpleNamespace(_cim_args=args, _input_quantizer=SimpleNamespace(_disabled=True))
    (tmp / "layer_record_m").mkdir()
    cwd = os.getcwd()
    os.chdir(tmp)
    try:
        assert macro["CIM"].simulate_array(layer, input2d, weight2d) is None
    finally:
        os.chdir(cwd)
    rec = tmp / "layer_record_m"
    return (rec / "input_L.csv").read_bytes(), (rec / "weight_L.csv").read_bytes()


def test_conv_trace_matches_v15_writer_byte_for_byte(macro: dict, tmp_path: Path) -> None:
    import torch
    import torch.nn.functional as F

    bits = 8
    rng = np.random.default_rng(0)
    codes = rng.integers(-(2 ** (bits - 1)), 2 ** (bits - 1), size=(1, 3, 6, 6))
    w = rng.integers(-127, 128, size=(5, 3, 3, 3))
    # V1.5's CIMConv2d.conv2d: unfold, vectors x rows; weight C_out x ... -> rows x C_out
    input2d = (
        F.unfold(torch.from_numpy(codes).float(), 3, padding=1)
        .transpose(1, 2)
        .flatten(0, 1)
        .to(torch.int32)
    )
    weight2d = torch.from_numpy(w).view(5, -1).t().to(torch.int32)
    theirs_in, theirs_w = _their_files(macro, tmp_path, input2d, weight2d)
    ours_in, ours_w = tmp_path / "i.csv", tmp_path / "w.csv"
    write_layer_files(
        ours_w, ours_in, w.reshape(5, -1).T / 2 ** (bits - 1), input2d.numpy().T, bits
    )
    assert ours_in.read_bytes() == theirs_in
    assert ours_w.read_bytes() == theirs_w
    # the shift makes every entry a non-negative integer that fits the input precision
    x_file, w_file = shifted_operands(input2d.numpy().T, w.reshape(5, -1).T)
    assert x_file.min() == 0 and x_file.max() < 2**bits and w_file.min() == 0
    assert x_file.shape == (27, 36 + 1) and w_file.shape == (27, 5 + 1)


def test_fc_trace_matches_v15_writer(macro: dict, tmp_path: Path) -> None:
    import torch

    rng = np.random.default_rng(1)
    x = rng.integers(0, 128, size=(1, 40))
    x[0, 3] = 0  # post-ReLU codes with a zero: no shift, a zero dummy vector
    w = rng.integers(-127, 128, size=(7, 40))
    theirs_in, theirs_w = _their_files(
        macro,
        tmp_path,
        torch.from_numpy(x).to(torch.int32),
        torch.from_numpy(w).t().to(torch.int32),
    )
    x_file, w_file = shifted_operands(x.T, w.T)
    assert integer_text(x_file).encode() == theirs_in
    assert integer_text(w_file).encode() == theirs_w
    assert (x_file[:, :1] == x.T).all() and (x_file[:, 1] == 0).all()


def test_grid_weights_round_trip_to_their_codes() -> None:
    rng = np.random.default_rng(2)
    w = rng.normal(size=(18, 4))
    grid = weight_grid(w, 8)
    x_file, w_file = shifted_operands(np.zeros((18, 1), dtype=int), np.rint(grid * 128))
    codes = w_file[:, :-1] - w_file[0, -1]
    assert np.array_equal(codes / 128, grid) and np.abs(codes).max() == 127


def test_v15_tree_is_recognised_and_its_param_block_patches() -> None:
    _need(V15 / "NeuroSIM" / "Param.cpp", "NeuroSim V1.5-dev sources")
    src = source_dir(V15)
    assert src == V15 / "NeuroSIM" and neurosim_version(src) == "1.5"
    if (V14 / "NeuroSIM" / "Param.cpp").is_file():
        assert neurosim_version(source_dir(V14)) == "1.4"
    hw = normalize_hw({"tech_node": 32, "adc_precision": 5, "sub_array": (64, 64)})
    values = patched_values(hw, "1.5")
    text = (src / "Param.cpp").read_text()
    out = patch_param_cpp(text, values)
    for name, value in values.items():
        m = re.search(rf"^\s*{name}\s*=\s*([^;]*);", out, re.MULTILINE)
        assert m is not None and m.group(1).strip() == value, name
    changed = [a for a, b in zip(text.splitlines(), out.splitlines(), strict=True) if a != b]
    assert 0 < len(changed) <= len(values)
    assert patched_values({**hw, "mem_type": "capacitive"}, "1.5")["memcelltype"] == "4"
    assert patched_values({**hw, "mem_type": "capacitive"}, "1.4")["memcelltype"] == "2"


@pytest.fixture(scope="module")
def v15_run(tmp_path_factory: pytest.TempPathFactory) -> tuple[dict, dict, str]:
    """A real NeuroSim V1.5-dev build and run of the digits CNN (32x32 subarrays) next to the
    analytical estimate of the same point."""
    _need(V15 / "NeuroSIM" / "Param.cpp", "compiler")
    return digits_cnn_run(V15, tmp_path_factory)


def test_v15_run_fills_the_analytical_schema(v15_run: tuple) -> None:
    ns, ours, stdout = v15_run
    assert ns["backend"] == "neurosim" and ns["neurosim"]["version"] == "1.5"
    assert "Summary" in stdout and "ERROR" not in stdout
    t = ns["total"]
    for key in ("energy_J", "dynamic_energy_J", "leakage_energy_J", "latency_s", "area_mm2"):
        assert np.isfinite(t[key]) and t[key] > 0, key
    check_filled_schema(ns, ours)  # V1.5 prints like V1.4 (1.22 in TOPS/W only)


def test_v15_refusal_is_a_neurosim_error_with_its_message(v15_run: tuple) -> None:
    """V1.5 refuses RRAM below 22 nm: the backend raises with NeuroSim's own message."""
    import torch

    from cimsweep.nn.geometry import layer_geometry
    from cimsweep.nn.models import build_model
    from cimsweep.ppa import estimate
    from cimsweep.ppa.neurosim import NeuroSimBackend, NeuroSimError
    from cimsweep.ppa.neurosim.model import model_traces

    torch.manual_seed(0)
    model = build_model("cnn", (1, 8, 8), 10).eval()
    geo = [g.to_dict() for g in layer_geometry(model, (1, 8, 8))]
    backend = NeuroSimBackend(V15, model_traces(model, torch.rand(1, 8, 8), 8, 8))
    with pytest.raises(NeuroSimError, match="RRAM-CIM is not supported"):
        estimate(geo, {"sub_array": (32, 32), "tech_node": 14}, {}, backend=backend)


def test_v15_through_the_ppa_step_writes_a_complete_ppa_json(tmp_path: Path) -> None:
    """The workflow's PPA step on V1.5-dev: an ``ok`` row in the analytical schema."""
    _need(V15 / "NeuroSIM" / "Param.cpp", "compiler")
    result = ppa_step(tmp_path, V15, (32, 32))
    assert result["status"] == "ok", result.get("error")
    assert result["backend"] == "neurosim" and result["neurosim"]["version"] == "1.5"
    t = result["total"]
    assert t["area_mm2"] > 0 and t["energy_J"] > 0 and t["latency_s"] > 0
    from cimsweep.io import read_json

    geometry = read_json(tmp_path / "geometry.json")["layers"]
    assert [r["name"] for r in result["layers"]] == [g["name"] for g in geometry]
    assert all(r["energy_J"] > 0 for r in result["layers"])
