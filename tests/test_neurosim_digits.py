"""Digits MLP/CNN accuracy under ``preset: neurosim_v1.5`` against NeuroSim V1.5's own flow
(issue 17 item 4).

The NeuroSim side is ``digits`` in ``tests/data/neurosim_v1.5_reference.json`` (written by
``benchmarks/neurosim_reference.py``): the default sweep's trained models
(``tests/data/digits_{mlp,cnn}.pt``), evaluated by NeuroSim's CIM layers on the whole digits
test split. This test rebuilds the same setting with cimsweep's library: the same split
(``steps.prepare_data``'s seed derivation on the default config's data values), the same
calibration subset (the first ``calib_samples`` training samples of a permutation seeded with
``calib_order_seed``, max calibration), the preset (symmetric inputs, per-channel weights,
first layer digital, ...) and the point's ``adc_precision`` / ``read_noise``.

It compares against ``truncation_fixed`` (NeuroSim with its float->int32 truncation bug
neutralised, which is what the preset means to match). Deterministic points (read noise 0):
within ``DET_PP`` percentage points. Noisy points: the difference of the chip means within
``Z`` combined Monte-Carlo standard errors (``std_ddof1 / sqrt(chips)`` of both sides).
"""

from __future__ import annotations

import json
import math
from functools import cache
from pathlib import Path
from typing import Any

import numpy as np
import pytest
import torch
import yaml  # type: ignore[import-untyped]

from cimsweep.cim import evaluate, sim_config
from cimsweep.data import prepare, split_info
from cimsweep.nn.models import build_model
from cimsweep.nn.quant import calibrate
from cimsweep.workflow import config as cfg
from cimsweep.workflow.stages import DataValues

ROOT = Path(__file__).resolve().parents[1]
DATA = ROOT / "tests" / "data"
DET_PP = 1.0  # percentage points, deterministic points
Z = 2.0  # combined Monte-Carlo standard errors, noisy points
CHIPS = 5  # cimsweep chip instances per noisy point (NeuroSim's file: 5)
DET_ADC = (3, 4, 5, 6, 7, 8)  # read noise 0
# noisy subset: the collapsed ADC, the collapse edge (5 bits) and the lossless ADC (8 bits)
NOISY = [(3, 0.2)] + [(adc, rn) for adc in (5, 8) for rn in (0.05, 0.1, 0.2)]
EPS = 1e-4  # percentage points: float32 rounding of the accuracies (one sample is 0.28)


@cache
def _digits() -> dict[str, Any]:
    return json.loads((DATA / "neurosim_v1.5_reference.json").read_text())["digits"]


@cache
def _setup() -> tuple[torch.Tensor, torch.Tensor, torch.Tensor, Any]:
    """Test split and calibration subset exactly as the reference generator built them."""
    ref = _digits()
    sweep = cfg.load(yaml.safe_load((ROOT / "config" / "config.yaml").read_text()))
    v = DataValues.from_values(sweep.stage_values("data", {"dataset": "digits"}))
    seed = cfg.derive_seed(v.seed, "split", v.dataset)
    arrays = prepare(v.dataset, v.test_fraction, seed, image_size=v.image_size)
    x_tr = torch.as_tensor(arrays["x_train"], dtype=torch.float32)
    x_te = torch.as_tensor(arrays["x_test"], dtype=torch.float32)
    y_te = torch.as_tensor(arrays["y_test"], dtype=torch.int64)
    assert len(x_te) == ref["test_samples"]
    perm = torch.randperm(
        len(x_tr), generator=torch.Generator().manual_seed(ref["calib_order_seed"])
    )
    return x_te, y_te, x_tr[perm[: ref["calib_samples"]]], split_info(arrays)


@cache
def _model(name: str) -> tuple[torch.nn.Module, dict]:
    x_te, y_te, x_cal, info = _setup()
    model = build_model(name, info.in_shape, info.num_classes)
    model.load_state_dict(torch.load(DATA / f"digits_{name}.pt", weights_only=True))
    model.eval()
    with torch.no_grad():
        acc = 100.0 * float((model(x_te).argmax(1) == y_te).double().mean())
    assert acc == pytest.approx(_digits()["models"][name]["float_accuracy"], abs=1e-3)
    ranges = calibrate(
        model, x_cal, input_precision=8, weight_precision=8,
        input_method="max", weight_method="max", percentile=99.99,
    )  # fmt: skip
    return model, ranges


def _point(name: str, adc: int, rn: float) -> dict[str, Any]:
    for p in _digits()["models"][name]["points"]:
        if p["cimsweep"]["adc_precision"] == adc and p["cimsweep"]["read_noise"] == rn:
            return p
    raise KeyError((name, adc, rn))


def _cimsweep(name: str, adc: int, rn: float, chips: int) -> list[float]:
    """cimsweep's accuracy (%) per chip instance at the point."""
    x_te, y_te, x_cal, _ = _setup()
    model, ranges = _model(name)
    point = _point(name, adc, rn)
    over = {k: point["cimsweep"][k] for k in ("adc_precision", "read_noise", "parallel_read")}
    sim = sim_config(preset="neurosim_v1.5", mc_runs=chips, **over)
    res = evaluate(
        model, ranges, x_te, y_te, sim, seed=_digits()["calib_order_seed"], x_calib=x_cal
    )
    return [100.0 * a for a in res["accuracies"]]


@pytest.mark.parametrize("adc", DET_ADC)
@pytest.mark.parametrize("name", ["mlp", "cnn"])
def test_deterministic_digits_accuracy_matches_neurosim(name: str, adc: int) -> None:
    ns = _point(name, adc, 0.0)["truncation_fixed"]["accuracy_mean"]
    (cs,) = _cimsweep(name, adc, 0.0, 1)
    assert abs(cs - ns) <= DET_PP, f"{name} adc {adc}: cimsweep {cs:.2f} %, NeuroSim {ns:.2f} %"


@pytest.mark.parametrize(("adc", "rn"), NOISY, ids=[f"adc{a}-rn{r}" for a, r in NOISY])
@pytest.mark.parametrize("name", ["mlp", "cnn"])
def test_noisy_digits_accuracy_matches_neurosim(name: str, adc: int, rn: float) -> None:
    ref = _point(name, adc, rn)["truncation_fixed"]
    ns = np.asarray(ref["accuracy_chips"])
    cs = np.asarray(_cimsweep(name, adc, rn, CHIPS))
    se = math.sqrt(ns.var(ddof=1) / len(ns) + cs.var(ddof=1) / len(cs))
    diff = float(cs.mean() - ns.mean())
    assert abs(diff) <= Z * se + EPS, (
        f"{name} adc {adc} rn {rn}: cimsweep {cs.mean():.2f} +- {cs.std(ddof=1):.2f} %, "
        f"NeuroSim {ns.mean():.2f} +- {ns.std(ddof=1):.2f} % (diff {diff:.2f}, {Z} se {Z * se:.2f})"
    )
