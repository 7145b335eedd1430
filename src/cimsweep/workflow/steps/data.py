"""The data step: the seeded, stratified split file."""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import Any

import numpy as np

from cimsweep.io import read_npz, write_npz
from cimsweep.workflow.config import derive_seed
from cimsweep.workflow.params import PARAMS, Value
from cimsweep.workflow.stages import DataValues
from cimsweep.workflow.steps.logs import log


def runtime_settings(raw_config: Mapping[str, Any]) -> dict[str, Any]:
    """Run-time settings (``data_dir``, ``device``): read by jobs, never part of a result path."""

    given = raw_config.get("params") or {}
    return {n: given.get(n, PARAMS[n].default) for n in ("data_dir", "device")}


def prepare_data(out_npz: str, values: Mapping[str, Value], data_dir: str | None = None) -> None:
    """Split and normalise the data set named in ``values``; write the ``.npz`` split."""
    from cimsweep.data import prepare

    v = DataValues.from_values(values)
    seed = derive_seed(v.seed, "split", v.dataset)
    arrays = prepare(v.dataset, v.test_fraction, seed, data_dir=data_dir, image_size=v.image_size)
    log.info(
        "%s: %d train / %d test samples",
        v.dataset,
        len(arrays["y_train"]),
        len(arrays["y_test"]),
    )
    write_npz(out_npz, **arrays)


def load_split(path: str) -> dict[str, np.ndarray]:
    """Read and check a split file written by :func:`prepare_data`."""
    from cimsweep.data import check_split

    if not Path(path).is_file():
        raise FileNotFoundError(f"{path}: split file does not exist")
    try:
        arrays = read_npz(path)
    except (ValueError, OSError) as exc:
        raise ValueError(f"{path}: not a readable .npz split file ({exc})") from exc
    check_split(arrays, path)
    return arrays
