"""The inference sample cap (``infer_samples``) and rebuilding models from the split file
(image folders need no ``data_dir`` after data preparation), without Snakemake."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import torch

from cimsweep.data import split_info, stratified_head
from cimsweep.io import read_json, write_json
from cimsweep.workflow.config import ConfigError, load
from cimsweep.workflow.steps import (
    _new_model,
    calibrate,
    geometry,
    infer,
    load_model,
    load_split,
    prepare_data,
    save_checkpoint,
)
from tests.official_formats import balanced_labels, patterned_images, write_image_folder


def test_stratified_head_is_proportional_nested_and_in_file_order() -> None:
    y = np.random.default_rng(0).permutation(np.repeat([0, 1, 2], [50, 30, 20]))
    head = stratified_head(y, 10)
    assert np.all(np.diff(head) > 0)
    assert np.bincount(y[head], minlength=3).tolist() == [5, 3, 2]
    for cls, k in ((0, 5), (1, 3), (2, 2)):  # each class contributes its first k samples
        assert head[y[head] == cls].tolist() == np.flatnonzero(y == cls)[:k].tolist()
    assert set(head) <= set(stratified_head(y, 37))
    assert np.bincount(y[stratified_head(y, 50)]).tolist() == [25, 15, 10]
    assert np.array_equal(stratified_head(y, 10), head)
    for n in (0, 100, 500):
        assert np.array_equal(stratified_head(y, n), np.arange(100))


def _digits_point(tmp_path: Path, infer_samples: int) -> tuple[dict, dict]:
    """Prepare digits, save an untrained MLP, calibrate and infer; return result and split."""
    values = {**load({}).values, "mc_runs": 1, "calib_samples": 64, "test_fraction": 0.1}
    values["infer_samples"] = infer_samples
    split = str(tmp_path / "split.npz")
    if not Path(split).exists():
        prepare_data(split, values)
        torch.manual_seed(0)
        save_checkpoint(str(tmp_path / "m.pt"), _new_model(values)[0])
        write_json(tmp_path / "metrics.json", {"test_accuracy": 0.123})
        calibrate(split, str(tmp_path / "m.pt"), str(tmp_path / "ranges.json"), values)
    out = tmp_path / f"acc{infer_samples}.json"
    args = (str(tmp_path / "m.pt"), str(tmp_path / "metrics.json"), str(tmp_path / "ranges.json"))
    infer(split, *args, str(out), values)
    return read_json(out), load_split(split)


def test_infer_samples_caps_the_evaluated_test_set(tmp_path: Path) -> None:
    capped, arrays = _digits_point(tmp_path, 50)
    assert capped["status"] == "ok" and capped["test_samples"] == 50
    for acc in (*capped["accuracies"], capped["quantized_accuracy"], capped["float_accuracy"]):
        assert abs(acc * 50 - round(acc * 50)) < 1e-6
    # the float accuracy is that of the same 50 samples, not the training step's figure
    keep = stratified_head(arrays["y_test"], 50)
    model = load_model(str(tmp_path / "m.pt"), load({}).values)
    with torch.no_grad():
        pred = model(torch.from_numpy(arrays["x_test"][keep])).argmax(1).numpy()
    assert capped["float_accuracy"] == pytest.approx(np.mean(pred == arrays["y_test"][keep]))
    full, _ = _digits_point(tmp_path, 0)
    assert full["test_samples"] == len(arrays["y_test"]) > 50
    assert full["float_accuracy"] == 0.123  # uncapped: the training step's test accuracy


@pytest.fixture()
def folder_split(tmp_path: Path) -> tuple[Path, dict]:
    y = balanced_labels(12, 3)
    write_image_folder(
        tmp_path / "data" / "imagefolder",
        {"train": (patterned_images(y, (3, 30, 20), 0), y)},
        ["a", "b", "c"],
    )
    values = {**load({}).values, "dataset": "imagefolder", "model": "cnn", "image_size": 12}
    values["test_fraction"] = 0.25
    prepare_data(str(tmp_path / "split.npz"), values, data_dir=str(tmp_path / "data"))
    return tmp_path, values


def test_image_folder_model_rebuilt_from_split_without_data_dir(folder_split) -> None:
    tmp_path, values = folder_split
    arrays = load_split(str(tmp_path / "split.npz"))
    info = split_info(arrays)
    assert info is not None and info.in_shape == (3, 12, 12) and info.num_classes == 3
    assert len(arrays["y_test"]) == 3  # no val/: a stratified quarter held out
    save_checkpoint(str(tmp_path / "m.pt"), _new_model(values, info=info)[0])
    model = load_model(str(tmp_path / "m.pt"), values, info)
    assert model(torch.from_numpy(arrays["x_test"])).shape == (3, 3)
    with pytest.raises(ValueError, match="needs data_dir"):
        load_model(str(tmp_path / "m.pt"), values)
    geometry(str(tmp_path / "geo.json"), values, data_dir=str(tmp_path / "data"))
    assert read_json(tmp_path / "geo.json")["layers"][-1]["cols"] == 3


def test_split_without_num_classes_falls_back_to_lookup() -> None:
    assert split_info({"x_train": np.zeros((2, 1, 8, 8))}) is None


def test_image_size_grid_refused_for_image_folders(folder_split) -> None:
    tmp_path, _ = folder_split
    raw = {
        "params": {"dataset": "imagefolder", "data_dir": str(tmp_path / "data")},
        "grid": {"image_size": [16, 32]},
    }
    with pytest.raises(ConfigError, match="grid.image_size"):
        load(raw)
