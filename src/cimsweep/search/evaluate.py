"""Evaluate one point in-process, through the same step functions and result paths the
workflow's rules use (the benchmark's reference grid; the workflow itself runs Snakemake).

A file that exists is reused, exactly as Snakemake would: the split, model, calibration and
PPA of a point are shared with every other point that has the same stage values.
"""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import Any

from cimsweep.workflow import steps
from cimsweep.workflow.config import Sweep


def _stage_file(sweep: Sweep, stage: str, point: Mapping[str, str], root: str, name: str) -> str:
    return f"{root}/{sweep.stage_dir(stage)}/{name}".format(**sweep._fill(point))


def point_files(sweep: Sweep, point: Mapping[str, str], root: str = "results") -> tuple[str, str]:
    """(inference result, PPA result) paths of one point (path tokens by axis name)."""
    return sweep.result_path("infer", point, root), sweep.result_path("ppa", point, root)


def evaluate_point(
    sweep: Sweep, point: Mapping[str, str], root: str, tech_dir: str
) -> dict[str, Any]:
    """Compute whatever result files of ``point`` are missing; return its tidy-table row."""
    filled = sweep._fill(point)

    def values(stage: str) -> dict[str, Any]:
        return sweep.stage_values(stage, filled)

    split = _stage_file(sweep, "data", point, root, "split.npz")
    model = _stage_file(sweep, "train", point, root, "model.pt")
    metrics = _stage_file(sweep, "train", point, root, "metrics.json")
    ranges = _stage_file(sweep, "calib", point, root, "ranges.json")
    infer, ppa = point_files(sweep, point, root)
    if not Path(split).exists():
        steps.prepare_data(split, values("data"), sweep.values["data_dir"])
    if not Path(model).exists():
        steps.train(split, model, metrics, values("train"))
    if not Path(ranges).exists():
        steps.calibrate(split, model, ranges, values("calib"))
    if not Path(infer).exists():
        steps.infer(split, model, metrics, ranges, infer, values("infer"))
    ppa_point(sweep, point, root, tech_dir)
    return steps.point_record(infer, ppa, point)


def ppa_point(sweep: Sweep, point: Mapping[str, str], root: str, tech_dir: str) -> tuple[str, bool]:
    """Compute the PPA result of ``point`` (and the model geometry) unless it exists:
    (its path, whether it was built now). Needs no trained model (analytic backend)."""
    filled = sweep._fill(point)
    ppa = sweep.result_path("ppa", point, root)
    if Path(ppa).exists():
        return ppa, False
    dataset, name = filled["dataset"], filled["model"]
    geometry = f"{root}/{dataset}/geometry/{name}.json"
    if not Path(geometry).exists():
        keys = ("image_size", "user_model", "user_checkpoint", "user_model_kwargs")
        geo_values = {**{k: sweep.values[k] for k in keys}, "dataset": dataset, "model": name}
        steps.geometry(geometry, geo_values, sweep.values["data_dir"])
    values = sweep.stage_values("ppa", filled)
    steps.ppa(geometry, steps.tech_file(tech_dir, values["tech_node"]), ppa, values)
    return ppa, True
