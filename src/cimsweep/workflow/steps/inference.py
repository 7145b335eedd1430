"""The calibration and inference steps: quantization ranges, Monte-Carlo noisy accuracy."""

from __future__ import annotations

import time
from collections.abc import Mapping
from typing import TYPE_CHECKING

import numpy as np

from cimsweep.io import read_json, write_json
from cimsweep.workflow.config import derive_seed, point_key
from cimsweep.workflow.params import Value
from cimsweep.workflow.stages import CalibValues, InferValues
from cimsweep.workflow.steps.data import load_split
from cimsweep.workflow.steps.logs import failure_recorded, log
from cimsweep.workflow.steps.models import load_model
from cimsweep.workflow.tabulate import _jsonable

if TYPE_CHECKING:
    import torch


def _calib_subset(arrays: Mapping[str, np.ndarray], values: Mapping[str, Value]) -> torch.Tensor:
    import torch

    v = CalibValues.from_values(values)
    n = min(v.calib_samples, len(arrays["x_train"]))
    rng = np.random.default_rng(derive_seed(v.seed, "calib", point_key(values)))
    idx = np.sort(rng.choice(len(arrays["x_train"]), size=n, replace=False))
    return torch.from_numpy(arrays["x_train"][idx])


def calibrate(split_npz: str, model_pt: str, out_json: str, values: Mapping[str, Value]) -> None:
    """Choose per-layer input and weight quantization ranges; write them as JSON."""
    from cimsweep.data import split_info
    from cimsweep.nn.quant import calibrate as calibrate_ranges

    v = CalibValues.from_values(values)
    arrays = load_split(split_npz)
    model = load_model(model_pt, values, split_info(arrays))
    ranges = calibrate_ranges(
        model,
        _calib_subset(arrays, values),
        input_precision=v.input_precision,
        weight_precision=v.weight_precision,
        input_method=v.input_calib_method,
        weight_method=v.weight_calib_method,
        percentile=v.calib_percentile,
    )
    write_json(out_json, {"params": _jsonable(values), "ranges": ranges})


def infer(
    split_npz: str,
    model_pt: str,
    metrics_json: str,
    ranges_json: str,
    out_json: str,
    values: Mapping[str, Value],
) -> None:
    """Monte-Carlo noisy CIM inference at one grid point; write accuracy and diagnostics.

    ``infer_samples > 0`` evaluates that many test samples (:func:`cimsweep.data.
    stratified_head`); the float accuracy is then that of the same subset, else the training
    step's test accuracy.
    """
    import torch

    from cimsweep.cim import evaluate
    from cimsweep.data import split_info, stratified_head

    start = time.perf_counter()
    v = InferValues.from_values(values)
    arrays = load_split(split_npz)
    model = load_model(model_pt, values, split_info(arrays))
    ranges = read_json(ranges_json)["ranges"]
    keep = stratified_head(arrays["y_test"], v.infer_samples)
    capped = len(keep) < len(arrays["y_test"])
    float_accuracy = None if capped else read_json(metrics_json)["test_accuracy"]
    with failure_recorded(out_json, values):
        result = evaluate(
            model,
            ranges,
            torch.from_numpy(arrays["x_test"][keep]),
            torch.from_numpy(arrays["y_test"][keep]),
            dict(values),
            seed=derive_seed(v.seed, "infer", point_key(values)),
            x_calib=_calib_subset(arrays, values),
        )
        if float_accuracy is not None:
            result["float_accuracy"] = float_accuracy
        result["test_samples"] = len(keep)
        result["seconds"] = time.perf_counter() - start
        log.info(
            "accuracy %.4f +- %.4f (float %.4f) on %d test samples",
            result["accuracy_mean"],
            result["accuracy_std"],
            result["float_accuracy"],
            len(keep),
        )
        write_json(out_json, {"params": _jsonable(values), "status": "ok", **result})
