"""One function per workflow step: read input files, call the library, write outputs atomically.

The Snakemake scripts in ``workflow/scripts/`` only translate ``snakemake.input/params/output``
into a call of one of these, so every step can be run and tested without Snakemake.
"""

from __future__ import annotations

import json
import logging
import time
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from cimsweep.io import read_json, read_npz, write_json, write_npz, write_with
from cimsweep.workflow.config import derive_seed, point_key
from cimsweep.workflow.params import PARAMS, Value, conditional_params
from cimsweep.workflow.stages import CalibValues, DataValues, InferValues, TrainValues

# The steps after the grid live in :mod:`cimsweep.workflow.tabulate`; re-exported here.
from cimsweep.workflow.tabulate import (
    COMPONENTS,
    METRICS,
    POINT_KEYS,
    PPA_TOTALS,
    _jsonable,
    aggregate,
    plot_layer_diagnostics,
    plot_table_figure,
    point_record,
    write_sweep_config,
)

if TYPE_CHECKING:
    import torch

    from cimsweep.data import DatasetInfo

log = logging.getLogger("cimsweep")


def setup_logging(log_path: str | None) -> None:
    """Send cimsweep's progress (INFO) to ``log_path``, the rule's log; warnings also to stderr."""
    console = logging.StreamHandler()
    console.setLevel(logging.WARNING)
    handlers: list[logging.Handler] = [console]
    if log_path:
        Path(log_path).parent.mkdir(parents=True, exist_ok=True)
        handlers.append(logging.FileHandler(log_path, mode="w"))
    logging.basicConfig(
        level=logging.WARNING,
        format="%(asctime)s %(levelname)s %(name)s: %(message)s",
        handlers=handlers,
        force=True,
    )
    logging.getLogger("cimsweep").setLevel(logging.INFO)


@contextmanager
def failure_recorded(out_json: str, values: Mapping[str, Value]) -> Iterator[None]:
    """Turn a run-time configuration failure of one grid point into a ``failed`` result file.

    The simulator or estimator raising ValueError, ArithmeticError or RuntimeError for this
    point (e.g. a configuration that is impossible only at run time) writes
    ``{"status": "failed", "error": ...}`` so the sweep's other points, the table and the
    figures go on. Out-of-memory errors are re-raised: a retry with more memory may succeed.
    """
    try:
        yield
    except (ValueError, ArithmeticError, RuntimeError) as exc:
        if "out of memory" in str(exc).lower():
            raise
        log.exception("grid point failed; recorded in %s", out_json)
        error = f"{type(exc).__name__}: {exc}"
        write_json(out_json, {"params": _jsonable(values), "status": "failed", "error": error})


# ---- data -----------------------------------------------------------------------------------
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


# ---- models ---------------------------------------------------------------------------------
def _new_model(
    values: Mapping[str, Value], data_dir: str | None = None, info: DatasetInfo | None = None
) -> tuple[torch.nn.Module, DatasetInfo]:
    """A fresh model and the data set's shape/classes (``info``: from the split file, else
    looked up, which for image folders needs ``data_dir``)."""
    from cimsweep.data import dataset_info
    from cimsweep.nn.models import build_model, load_user_model

    v = TrainValues.from_values(values)
    if info is None:
        info = dataset_info(v.dataset, data_dir, v.image_size)
    if v.model == "user":
        kwargs = json.loads(v.user_model_kwargs or "{}")
        model = load_user_model(v.user_model, kwargs, v.user_checkpoint or None)
    else:
        model = build_model(v.model, info.in_shape, info.num_classes)
    return model, info


def save_checkpoint(path: str, model: torch.nn.Module) -> None:
    """Write a model's state_dict atomically."""
    import torch

    write_with(path, lambda tmp: torch.save(model.state_dict(), tmp))


def load_model(
    path: str, values: Mapping[str, Value], info: DatasetInfo | None = None
) -> torch.nn.Module:
    """Rebuild the zoo model named in ``values`` and load its state_dict (tensors only).

    ``info`` (a :class:`cimsweep.data.DatasetInfo`, e.g. :func:`cimsweep.data.split_info`)
    gives the input shape and class count; without it they are looked up by data set name.
    """
    import torch

    model, _ = _new_model(values, info=info)
    try:
        state = torch.load(path, map_location="cpu", weights_only=True)
        model.load_state_dict(state)
    except Exception as exc:  # torch raises many types for corrupt or foreign files
        raise ValueError(
            f"{path}: cannot load a {values['model']} checkpoint ({type(exc).__name__}: {exc})"
        ) from exc
    model.eval()
    return model


def train(
    split_npz: str,
    out_model: str,
    out_metrics: str,
    values: Mapping[str, Value],
    device: str = "cpu",
    data_dir: str | None = None,
) -> None:
    """Train the configured model on the split; write its state_dict and metrics JSON.

    A per-epoch checkpoint beside ``out_model`` lets a killed job resume; it is removed once
    the model is written.
    """
    import torch

    from cimsweep.data import split_info
    from cimsweep.training import qat
    from cimsweep.training.train import resolve_augment, resolve_device, train_model

    v = TrainValues.from_values(values)
    arrays = load_split(split_npz)
    seed = derive_seed(v.seed, "train", point_key(values))
    torch.manual_seed(seed)
    model, _ = _new_model(values, data_dir, split_info(arrays))
    # Read noise of noise-aware training: its own stream, checkpointed with the others.
    noise_gen = torch.Generator(device=resolve_device(device))
    noise_gen.manual_seed(derive_seed(v.seed, "train-noise", point_key(values)))
    training_settings = {k: values[k] for k in sorted(values) if k in conditional_params()}
    wrapped = qat.wrap(model, values, noise_gen)
    checkpoint = Path(out_model).with_name("checkpoint.pt")
    metrics = train_model(
        model,
        arrays["x_train"],
        arrays["y_train"],
        arrays["x_test"],
        arrays["y_test"],
        epochs=v.epochs,
        lr=v.lr,
        batch_size=v.batch_size,
        weight_decay=v.weight_decay,
        seed=seed,
        optimizer=v.optimizer,
        momentum=v.momentum,
        augment=resolve_augment(v.augment, v.dataset),
        device=device,
        amp=bool(v.amp),
        checkpoint_path=checkpoint,
        generators=[noise_gen],
        signature_extra={"training": v.training, **_jsonable(training_settings)},
    )
    log.info(
        "%s training: test accuracy %.4f%s",
        v.training,
        metrics["test_accuracy"],
        f" (fake-quantized, {len(wrapped)} layers)" if wrapped else "",
    )
    info = split_info(arrays)
    chance = 1 / info.num_classes if info is not None else 0.0
    if metrics["test_accuracy"] < 1.5 * chance:
        log.warning(
            "training reached a test accuracy of %.3f, near chance (%.3f): it diverged or is "
            "far too short; check lr, epochs and the data",
            metrics["test_accuracy"],
            chance,
        )
    metrics["training_ranges"] = qat.unwrap(model)
    save_checkpoint(out_model, model)
    write_json(out_metrics, {"params": _jsonable(values), **metrics})
    checkpoint.unlink(missing_ok=True)


def geometry(out_json: str, values: Mapping[str, Value], data_dir: str | None = None) -> None:
    """Write the crossbar geometry of every CIM layer of the configured model (``data_dir``:
    image folders count their classes there)."""
    from cimsweep.nn.geometry import layer_geometry

    model, info = _new_model(values, data_dir)
    layers = layer_geometry(model, info.in_shape)
    write_json(out_json, {"params": _jsonable(values), "layers": [g.to_dict() for g in layers]})


# ---- calibration and inference --------------------------------------------------------------
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


# ---- PPA ------------------------------------------------------------------------------------
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


__all__ = [
    "COMPONENTS",
    "METRICS",
    "POINT_KEYS",
    "PPA_TOTALS",
    "aggregate",
    "plot_layer_diagnostics",
    "plot_table_figure",
    "point_record",
    "write_sweep_config",
]
