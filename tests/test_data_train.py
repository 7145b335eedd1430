"""Data split, training, checkpoints and geometry, without Snakemake."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from cimsweep.data import prepare, stratified_split
from cimsweep.io import read_json
from cimsweep.nn.geometry import LayerGeometry, layer_geometry
from cimsweep.nn.models import build_model
from cimsweep.workflow.config import load
from cimsweep.workflow.steps import load_model, load_split, prepare_data, train


def test_split_is_stratified_seeded_and_normalised_on_train_only() -> None:
    a = prepare("digits", 0.2, seed=3)
    b = prepare("digits", 0.2, seed=3)
    c = prepare("digits", 0.2, seed=4)
    assert np.array_equal(a["x_test"], b["x_test"])
    assert not np.array_equal(a["y_test"], c["y_test"])
    assert len(a["y_train"]) + len(a["y_test"]) == 1797
    train_freq = np.bincount(a["y_train"]) / len(a["y_train"])
    test_freq = np.bincount(a["y_test"]) / len(a["y_test"])
    assert np.abs(train_freq - test_freq).max() < 0.01
    # training split standardised exactly, test split only approximately
    assert abs(a["x_train"].mean()) < 1e-5 and abs(a["x_train"].std() - 1) < 1e-4
    assert abs(a["x_test"].mean()) > 1e-6


def test_stratified_split_indices_partition_the_data() -> None:
    y = np.repeat(np.arange(5), 20)
    tr, te = stratified_split(y, 0.25, seed=0)
    assert len(np.intersect1d(tr, te)) == 0 and len(tr) + len(te) == 100
    assert np.all(np.bincount(y[te]) == 5)


@pytest.mark.parametrize("name", ["mlp", "cnn"])
def test_models_reach_95_percent_and_round_trip(tmp_path, name: str) -> None:
    values = {**load({}).values, "model": name, "epochs": 30}
    prepare_data(str(tmp_path / "split.npz"), values)
    train(str(tmp_path / "split.npz"), str(tmp_path / "m.pt"), str(tmp_path / "m.json"), values)
    metrics = read_json(tmp_path / "m.json")
    assert metrics["test_accuracy"] >= 0.95
    model = load_model(str(tmp_path / "m.pt"), values)
    x = torch.from_numpy(load_split(str(tmp_path / "split.npz"))["x_test"])
    y = torch.from_numpy(load_split(str(tmp_path / "split.npz"))["y_test"])
    acc = (model(x).argmax(1) == y).float().mean().item()
    assert acc == pytest.approx(metrics["test_accuracy"])


def test_training_is_deterministic(tmp_path) -> None:
    values = {**load({}).values, "epochs": 3}
    prepare_data(str(tmp_path / "split.npz"), values)
    for tag in "ab":
        train(
            str(tmp_path / "split.npz"),
            str(tmp_path / f"{tag}.pt"),
            str(tmp_path / f"{tag}.json"),
            values,
        )
    a = torch.load(tmp_path / "a.pt", weights_only=True)
    b = torch.load(tmp_path / "b.pt", weights_only=True)
    assert all(torch.equal(a[k], b[k]) for k in a)


def test_corrupt_checkpoint_is_refused_with_file_name(tmp_path) -> None:
    values = load({}).values
    bad = tmp_path / "model.pt"
    bad.write_bytes(b"not a checkpoint")
    with pytest.raises(ValueError, match="model.pt"):
        load_model(str(bad), values)


def test_missing_split_names_the_file(tmp_path) -> None:
    with pytest.raises(FileNotFoundError, match="nope.npz"):
        load_split(str(tmp_path / "nope.npz"))


def test_geometry_of_conv_is_im2col() -> None:
    layers = layer_geometry(build_model("cnn", (1, 8, 8), 10), (1, 8, 8))
    first = layers[0]
    assert (first.kind, first.rows, first.cols, first.vectors) == ("conv2d", 9, 8, 64)
    assert layers[1].rows == 9 * 8
    assert layers[-1].kind == "linear" and layers[-1].vectors == 1
    assert LayerGeometry.from_dict(first.to_dict()) == first
    assert sum(g.macs for g in layers) == 9 * 8 * 64 + 72 * 16 * 64 + 256 * 10
