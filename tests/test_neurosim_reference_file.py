"""The committed NeuroSim V1.5 reference file is well-formed (format: docs/neurosim_reference.md).

These checks need no NeuroSim: they read tests/data/neurosim_v1.5_reference.{json,npz} as
written by benchmarks/neurosim_reference.py.
"""

from __future__ import annotations

import math
from pathlib import Path

import numpy as np
import pytest
import torch
import torch.nn.functional as F

from cimsweep.io import read_json, read_npz
from cimsweep.workflow.params import PARAMS

DATA = Path(__file__).parent / "data"
COMMIT = "cddb7d346a9f1fc5a39b6c3abcb378c4b2dfc555"
EFFECTS = {
    "adc",
    "parallel_read",
    "dac",
    "bitcell",
    "read_noise",
    "stuck_at",
    "retention",
    "output_noise",
    "signed_mapping",
    "bug",
}
STATS = ("n_trials", "n_elements", "mean", "mean_se", "rms", "rms_se", "rel_rms", "ideal_rms")


@pytest.fixture(scope="module")
def ref() -> dict:
    return read_json(DATA / "neurosim_v1.5_reference.json")


@pytest.fixture(scope="module")
def arrays(ref: dict) -> dict[str, np.ndarray]:
    return read_npz(DATA / ref["arrays"])


def test_provenance(ref: dict) -> None:
    ns = ref["neurosim"]
    assert ns["repo"] == "neurosim/NeuroSim"
    assert ns["branch"] == "2DInferenceV1.5-dev"
    assert ns["commit"] == COMMIT
    assert len(ns["cpu_patches"]) == 4
    assert ref["format_version"] == 1
    assert ref["generator"] == "benchmarks/neurosim_reference.py"
    for key in ("generator_version", "created", "torch_version"):
        assert ref[key]


def test_layers_match_their_ideal_product(ref: dict, arrays: dict) -> None:
    assert {s["type"] for s in ref["layers"].values()} == {"linear", "conv"}
    for name, spec in ref["layers"].items():
        x, w, ideal = (arrays[spec["npz"][k]] for k in ("input", "weight", "ideal"))
        assert list(x.shape) == spec["input_shape"], name
        assert list(w.shape) == spec["weight_shape"], name
        assert list(ideal.shape) == spec["output_shape"], name
        # Integer values NeuroSim's 8-bit narrow-range quantizers keep exactly.
        assert np.abs(x).max() == 127 and np.abs(w).max() <= 127, name
        if spec["type"] == "linear":
            assert np.array_equal(ideal, x.astype(np.int64) @ w.astype(np.int64).T), name
        else:
            y = F.conv2d(
                torch.from_numpy(x).double(),
                torch.from_numpy(w).double(),
                stride=spec["stride"],
                padding=spec["padding"],
            )
            assert np.array_equal(ideal, y.round().long().numpy()), name


def test_every_case_has_what_the_format_promises(ref: dict, arrays: dict) -> None:
    ids = [c["id"] for c in ref["cases"]]
    assert len(ids) == len(set(ids))
    for case in ref["cases"]:
        layer = ref["layers"][case["layer"]]
        assert case["id"].startswith(case["layer"] + "/")
        assert case["effect"] in EFFECTS, case["id"]
        for name, value in case["cimsweep"].items():
            assert name in PARAMS and case["neurosim"][name] == value, case["id"]
        assert set(case["cimsweep"]) | set(case["unmapped"]) == set(case["neurosim"])
        shape = tuple(layer["output_shape"])
        if case["kind"] == "deterministic":
            out = arrays[case["npz"]["output"]]
            assert out.shape == shape, case["id"]
            err = out.astype(np.int64) - arrays[layer["npz"]["ideal"]]
            assert case["exact_vs_ideal"]["max_abs_err"] == np.abs(err).max(), case["id"]
        else:
            assert case["kind"] == "stochastic"
            stats = case["stats"]
            assert all(k in stats for k in STATS), case["id"]
            n = stats["n_trials"]
            m, r = arrays[case["npz"]["err_mean"]], arrays[case["npz"]["err_rms"]]
            assert m.shape == r.shape == (n,), case["id"]
            assert arrays[case["npz"]["output_trial0"]].shape == shape, case["id"]
            assert stats["n_elements"] == math.prod(shape)
            assert math.isclose(stats["mean"], m.mean(), rel_tol=1e-9, abs_tol=1e-9)
            assert math.isclose(stats["rms"], math.sqrt((r**2).mean()), rel_tol=1e-9)
            assert math.isclose(stats["rms_se"], r.std(ddof=1) / math.sqrt(n), rel_tol=1e-9)


def test_issue_17_settings_are_covered(ref: dict) -> None:
    det = [c["neurosim"] for c in ref["cases"] if c["kind"] == "deterministic"]
    sto = [c["neurosim"] for c in ref["cases"] if c["kind"] == "stochastic"]
    assert {s["adc_precision"] for s in det} >= set(range(3, 9))
    assert {s["parallel_read"] for s in det} >= {128, 64, 32}
    assert {s["dac_precision"] for s in det} >= {1, 4}
    assert {s["bitcell"] for s in det} >= {1, 2}
    assert {s["read_noise"] for s in sto} >= {0.05, 0.1, 0.2}
    assert any(s["rate_stuck_1"] > 0 for s in sto) and any(s["rate_stuck_0"] > 0 for s in sto)
    assert any(s["v"] > 0 and s["detect"] == 0 for s in sto)
    assert any(s["output_noise"] > 0 for s in sto)


def test_lossless_adc_case_equals_the_ideal_product(ref: dict, arrays: dict) -> None:
    # 7-bit ADC, 128 rows, 1-bit cells and inputs: NeuroSim's clip level 2^7 = 128 is never hit.
    for case in ref["cases"]:
        if case["id"].endswith("/zero_noise_adc7"):
            ideal = arrays[ref["layers"][case["layer"]]["npz"]["ideal"]]
            assert np.array_equal(arrays[case["npz"]["output"]], ideal), case["id"]


def test_digits_and_bugs_sections(ref: dict) -> None:
    for name in ("mlp", "cnn"):
        entry = ref["digits"]["models"][name]
        assert (DATA / entry["state_dict"]).is_file()
        points = entry["points"]
        adcs = {p["neurosim"]["adc_precision"] for p in points}
        noise = {p["neurosim"]["read_noise"] for p in points}
        assert adcs == set(range(3, 9)) and noise == {0.0, 0.05, 0.1, 0.2}
        for p in points:
            assert len(p["accuracy_chips"]) == len(p["seeds"])
            assert 0.0 <= p["accuracy_mean"] <= 100.0
    stuck = ref["bugs"]["stuck_at_counts"]["rate_stuck_0=0.01,rate_stuck_1=0.0"]
    assert stuck["realised_stuck_0"] < 0.1 * stuck["configured_stuck_0"]  # NeuroSim's bug
    assert ref["timing"]["cases"]["adc5"]["seconds_per_call_median"] > 0
