"""The model steps: build, train, save and load a model; its crossbar geometry."""

from __future__ import annotations

import json
from collections.abc import Mapping
from pathlib import Path
from typing import TYPE_CHECKING

from cimsweep.io import write_json, write_with
from cimsweep.workflow.config import derive_seed, point_key
from cimsweep.workflow.params import Value, conditional_params
from cimsweep.workflow.stages import TrainValues
from cimsweep.workflow.steps.data import load_split
from cimsweep.workflow.steps.logs import log
from cimsweep.workflow.tabulate import _jsonable

if TYPE_CHECKING:
    import torch

    from cimsweep.data import DatasetInfo


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
