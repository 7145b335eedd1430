"""The PPA step: energy, latency and area of one model at one hardware point."""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import Any

from cimsweep.io import read_json, write_json
from cimsweep.workflow.params import Value
from cimsweep.workflow.steps.data import load_split
from cimsweep.workflow.steps.logs import failure_recorded, log
from cimsweep.workflow.steps.models import load_model
from cimsweep.workflow.tabulate import _jsonable


def tech_file(tech_dir: str, node: int) -> str:
    """Path of the technology file for a node (nm)."""
    return str(Path(tech_dir) / f"{node}nm.yaml")


def ppa(
    geometry_json: str,
    tech_yaml: str,
    out_json: str,
    values: Mapping[str, Value],
    split_npz: str | None = None,
    model_pt: str | None = None,
) -> None:
    """Energy, latency and area of one model at one hardware point: the analytical estimate,
    or (``ppa_backend: neurosim``) NeuroSim's C++ run on the trained model's traces."""
    from cimsweep.ppa import estimate, load_tech  # torch-free: PPA jobs start fast
    from cimsweep.ppa.calibration import calibrated, load_calibration

    layers = read_json(geometry_json)["layers"]
    tech = load_tech(tech_yaml)
    with failure_recorded(out_json, values):
        backend = None
        cal = None
        if values.get("ppa_backend", "analytical") == "neurosim":
            backend = _neurosim_backend(split_npz, model_pt, values)
        elif values.get("ppa_calibration"):
            cal = load_calibration(str(values["ppa_calibration"]))
            tech = cal.apply_tech(tech)
        result = estimate(layers, dict(values), tech, backend=backend)
        if cal is not None:
            result = calibrated(result, cal)
        write_json(out_json, {"params": _jsonable(values), "status": "ok", **result})


def _neurosim_backend(
    split_npz: str | None, model_pt: str | None, values: Mapping[str, Value]
) -> Any:
    """The NeuroSim backend with traces of the trained model on the first training image (the
    first image the calibration draws from); NeuroSim's stdout goes to the job's log."""
    import torch

    from cimsweep.data import split_info
    from cimsweep.ppa import normalize_hw
    from cimsweep.ppa.neurosim import NeuroSimBackend
    from cimsweep.ppa.neurosim.model import model_traces

    if not split_npz or not model_pt:
        raise ValueError("ppa_backend: neurosim needs the split file and the trained model")
    arrays = load_split(split_npz)
    model = load_model(model_pt, values, split_info(arrays))
    image = torch.from_numpy(arrays["x_train"][0])
    hw = normalize_hw(values)
    traces = model_traces(model, image, hw["weight_precision"], hw["input_precision"])
    backend = NeuroSimBackend(str(values["neurosim_dir"]), traces)
    return _LoggedBackend(backend)


class _LoggedBackend:
    """Runs a NeuroSim backend and copies its stdout into the job's log."""

    name = "neurosim"

    def __init__(self, inner: Any) -> None:
        self.inner = inner

    def estimate(self, layers: Any, hw: Mapping[str, Any], tech: Mapping[str, Any]) -> dict:
        """See :meth:`cimsweep.ppa.neurosim.NeuroSimBackend.estimate`."""
        try:
            return self.inner.estimate(layers, hw, tech)
        finally:
            log.info("NeuroSim output:\n%s", self.inner.stdout)
