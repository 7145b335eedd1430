"""Plan-time checks of a sweep: its size (before Snakemake plans the jobs), the user model, and
the files each rule depends on besides its results.
"""

from __future__ import annotations

import importlib.util
import json
import math
import os
import sys
from functools import cache
from pathlib import Path
from typing import Any

from cimsweep.workflow.config import ConfigError, Sweep

# Stages whose rules carry a code hash (:data:`cimsweep.workflow.provenance.STAGE_CODE`).
CODE_STAGES = (
    "data",
    "train",
    "geometry",
    "calib",
    "infer",
    "ppa",
    "aggregate",
    "plot",
    "sweep_config",
)


def stage_jobs(sweep: Sweep, stage: str) -> int:
    """Upper bound of a stage's job count: the product of the axes its path holds."""
    names = [n for n in sweep.wildcards(stage) if n in sweep.grid]
    if stage in ("train", "calib", "infer") and sweep.trained_for_axes():
        names += [n for n in [*sweep.trained_for_axes(), "training"] if n in sweep.grid]
    return math.prod(len(sweep.grid[n]) for n in dict.fromkeys(names))


def plan_size(sweep: Sweep) -> dict[str, int]:
    """Grid points and the jobs per stage they make (computed, never enumerated)."""
    size = {"points": sweep.size()}
    for stage in ("data", "train", "calib", "infer", "ppa"):
        size[stage] = stage_jobs(sweep, stage)
    return size


def check_size(sweep: Sweep, stream: Any = None) -> dict[str, int]:
    """Print the plan's size; refuse a grid above ``params.max_points`` before planning it
    (planning costs ~10-30 KB of memory and ~1-4 ms per point)."""
    size = plan_size(sweep)
    limit = int(sweep.values["max_points"])
    jobs = sum(v for k, v in size.items() if k != "points")
    axes = " x ".join(f"{len(v)} {k}" for k, v in sweep.grid.items()) or "no axes"
    print(
        f"cimsweep: {size['points']:,} grid points ({axes}); about {jobs:,} jobs "
        f"(train {size['train']:,}, calibrate {size['calib']:,}, infer {size['infer']:,}, "
        f"ppa {size['ppa']:,})",
        file=stream or sys.stderr,
    )
    if size["points"] > limit:
        raise ConfigError(
            f"the grid has {size['points']:,} points ({axes}), above params.max_points = "
            f"{limit:,}; planning it would take about {size['points'] * 30 / 1e6:,.1f} GB of "
            "memory. Check the grid for a typo, or raise params.max_points (e.g. --config "
            f"params='{{max_points: {size['points']}}}')"
        )
    return size


def warnings_for(sweep: Sweep) -> list[str]:
    """Physically meaningless but runnable settings, one sentence each."""
    out = []
    for shape in sweep.grid.get("sub_array", [sweep.values["sub_array"]]):
        for mux in sweep.grid.get("column_mux", [sweep.values["column_mux"]]):
            if mux > shape[1]:
                out.append(
                    f"column_mux = {mux} exceeds the {shape[1]} columns of sub_array "
                    f"{shape[0]}x{shape[1]}: an ADC cannot be shared by more columns than a "
                    "subarray has"
                )
    return out


def warn(sweep: Sweep, stream: Any = None) -> None:
    """Print :func:`warnings_for` to stderr before planning."""
    for message in warnings_for(sweep):
        print(f"cimsweep: warning: {message}", file=stream or sys.stderr)


def _module_name(sweep: Sweep) -> str:
    return str(sweep.values["user_model"]).partition(":")[0]


@cache
def _module_file(name: str) -> str | None:
    try:
        spec = importlib.util.find_spec(name)
    except (ImportError, ValueError) as exc:
        raise ConfigError(f"params.user_model: cannot find module {name!r} ({exc})") from None
    if spec is None:
        raise ConfigError(
            f"params.user_model: no module {name!r} on the Python path (expected "
            "'package.module:Name', importable from the working directory)"
        )
    return spec.origin if spec.origin and os.path.isfile(spec.origin) else None


def user_model_files(sweep: Sweep) -> list[str]:
    """The user model's module file and checkpoint (rule inputs: editing either reruns)."""
    files = []
    origin = _module_file(_module_name(sweep))
    if origin:
        files.append(portable_path(origin))
    if sweep.values["user_checkpoint"]:
        files.append(str(sweep.values["user_checkpoint"]))
    return files


def check_user_model(sweep: Sweep) -> None:
    """Import the user model, build it with its kwargs, load its checkpoint and run one batch
    of each data set's input shape through it, before any job runs."""
    if "user" not in sweep.grid.get("model", [sweep.values["model"]]):
        return
    import torch

    from cimsweep.data import dataset_info
    from cimsweep.nn.models import load_user_model

    checkpoint = str(sweep.values["user_checkpoint"])
    if checkpoint and not Path(checkpoint).is_file():
        raise ConfigError(f"params.user_checkpoint: file {checkpoint!r} does not exist")
    _module_file(_module_name(sweep))
    kwargs = json.loads(str(sweep.values["user_model_kwargs"]) or "{}")
    try:
        model = load_user_model(str(sweep.values["user_model"]), kwargs, checkpoint or None)
    except TypeError as exc:  # wrong kwargs
        raise ConfigError(
            f"params.user_model {sweep.values['user_model']!r} with kwargs {kwargs}: {exc}"
        ) from None
    except ValueError as exc:
        raise ConfigError(f"params.user_model: {exc}") from None
    model.eval()
    for dataset in sweep.grid.get("dataset", [sweep.values["dataset"]]):
        info = dataset_info(dataset, sweep.values["data_dir"], sweep.values["image_size"])
        try:
            with torch.no_grad():
                out = model(torch.zeros((2, *info.in_shape)))
        except Exception as exc:  # a user's network may raise anything on a wrong shape
            raise ConfigError(
                f"params.user_model {sweep.values['user_model']!r} fails on {dataset} inputs of "
                f"shape {tuple(info.in_shape)} ({type(exc).__name__}: {exc})"
            ) from None
        if tuple(out.shape) != (2, info.num_classes):
            raise ConfigError(
                f"params.user_model {sweep.values['user_model']!r} maps {dataset} inputs "
                f"{tuple(info.in_shape)} to outputs of shape {tuple(out.shape)[1:]}; expected "
                f"({info.num_classes},) (one logit per class)"
            )


def portable_path(path: str | os.PathLike[str]) -> str:
    """``path`` relative to the working directory when it lies below it, else absolute: rule
    inputs that do not change when the project folder moves."""
    absolute = Path(path).resolve()
    try:
        return str(absolute.relative_to(Path.cwd().resolve()))
    except ValueError:
        return str(absolute)
