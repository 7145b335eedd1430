"""The whole workflow on tiny data sets written in the official formats: CIFAR-10 (python
version), MNIST (gzipped IDX) and an ImageNet-style image folder, as one sweep with ``dataset``
as its grid axis (one Snakemake run: every job is a process start, the dominant cost here).
The CIFAR binary versions and CIFAR-100 are covered by the readers' tests."""

from __future__ import annotations

import os
import shutil
from pathlib import Path

import pandas as pd
import pytest

from cimsweep.io import read_json, read_npz
from tests.conftest import REPO, planned_jobs, snakemake, write_config
from tests.official_formats import (
    balanced_labels,
    patterned_images,
    write_cifar_python,
    write_idx_set,
    write_image_folder,
)

pytestmark = pytest.mark.workflow

N_TRAIN, N_TEST, INFER_SAMPLES = 300, 40, 30
IMAGE_SIZE = 24  # imagefolder images (written 20 x 36) are resized and cropped to this
FOLDER_CLASSES = ["ant", "bee", "cat"]
DATASETS = ["cifar10", "mnist", "imagefolder"]


def _split(n: int, classes: int, shape: tuple[int, int, int], seed: int):
    y = balanced_labels(n, classes, offset=seed)
    return patterned_images(y, shape, seed), y


@pytest.fixture(scope="module")
def data_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    root = tmp_path_factory.mktemp("data")
    c32 = (3, 32, 32)
    write_cifar_python(
        root, "cifar10", _split(N_TRAIN, 10, c32, 0), _split(N_TEST, 10, c32, 1), protocols=(2,)
    )
    write_idx_set(
        root / "mnist", _split(N_TRAIN, 10, (1, 28, 28), 2), _split(N_TEST, 10, (1, 28, 28), 3)
    )
    folder_shape = (3, 20, 36)
    write_image_folder(
        root / "imagefolder",
        {"train": _split(60, 3, folder_shape, 6), "val": _split(15, 3, folder_shape, 7)},
        FOLDER_CLASSES,
    )
    return root


@pytest.fixture(scope="module")
def run(data_dir: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    directory = tmp_path_factory.mktemp("datasets_run")
    config = {
        "params": {
            "data_dir": str(data_dir),
            "device": "cpu",
            "model": "lenet5",
            "image_size": IMAGE_SIZE,
            "epochs": 2,
            "batch_size": 32,
            "lr": 0.005,
            "mc_runs": 1,
            "calib_samples": 32,
            "infer_samples": INFER_SAMPLES,
        },
        "grid": {"dataset": DATASETS},
        "figures": {"draw": ["accuracy_vs_energy"]},
    }
    write_config(directory, config)
    snakemake(directory, "--cores", "2")
    return directory


def test_every_dataset_point_ok_with_valid_accuracies(run: Path) -> None:
    table = pd.read_csv(run / "results/tables/sweep.csv")
    assert sorted(table["dataset"]) == sorted(DATASETS)
    assert (table["status"] == "ok").all(), table["error"].tolist()
    for col in ("float_accuracy", "quantized_accuracy", "accuracy_mean"):
        assert table[col].between(0.0, 1.0).all(), col
    assert table["energy_J"].gt(0).all()
    for ext in ("pdf", "png"):
        assert (run / f"results/figures/accuracy_vs_energy.{ext}").stat().st_size > 1000


def test_splits_hold_the_files_data(run: Path) -> None:
    """Each split holds exactly the official train/test split of the files written."""
    expected = {
        "cifar10": ((N_TRAIN, 3, 32, 32), N_TEST, 10),
        "mnist": ((N_TRAIN, 1, 28, 28), N_TEST, 10),
        "imagefolder": ((60, 3, IMAGE_SIZE, IMAGE_SIZE), 15, 3),
    }
    for name, (train_shape, n_test, classes) in expected.items():
        arrays = read_npz(run / f"results/{name}/data/split.npz")
        assert arrays["x_train"].shape == train_shape, name
        assert len(arrays["y_test"]) == n_test, name
        assert int(arrays["num_classes"]) == classes, name
        geometry = read_json(run / f"results/{name}/geometry/lenet5.json")["layers"]
        assert geometry[-1]["cols"] == classes, name


def test_inference_uses_the_capped_stratified_test_subset(run: Path) -> None:
    for path in (run / "results").rglob("accuracy.json"):
        result = read_json(path)
        n = min(INFER_SAMPLES, 15 if "imagefolder" in str(path) else N_TEST)
        assert result["test_samples"] == n, path
        for acc in (*result["accuracies"], result["quantized_accuracy"]):
            assert abs(acc * n - round(acc * n)) < 1e-6, (path, acc)


def test_learnable_sets_beat_chance(run: Path) -> None:
    """The class is a bright band in the images: two epochs of LeNet-5 beat chance (10 %)."""
    table = pd.read_csv(run / "results/tables/sweep.csv")
    for name in ("cifar10", "mnist"):
        assert table[table.dataset == name]["float_accuracy"].min() > 0.3, name


@pytest.mark.parametrize(
    "name,dataset,points", [("cifar10_vgg8", "cifar10", 72), ("cifar100_resnet18", "cifar100", 18)]
)
def test_sweep_configs_plan_on_official_files(
    tmp_path: Path, name: str, dataset: str, points: int
) -> None:
    """The shipped sweep configs validate and plan one training and every grid point, with
    their ``data_dir: data`` holding (tiny) official-format files."""
    shutil.copy(REPO / "config" / "sweeps" / f"{name}.yaml", tmp_path / "config.yaml")
    classes = 10 if dataset == "cifar10" else 100
    write_cifar_python(
        tmp_path / "data",
        dataset,
        _split(10, classes, (3, 32, 32), 0),
        _split(5, classes, (3, 32, 32), 1),
    )
    jobs = planned_jobs(tmp_path)
    assert jobs["train"] == 1 and jobs["prepare_data"] == 1
    assert jobs["infer"] == points
    assert jobs["ppa"] == points // 3  # read_noise (3 values) is read by inference only


def test_user_model_geometry_job(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """The PPA geometry job of ``model: user`` builds the user's network (its settings reach
    the job) with the data set's input shape and class count."""
    pkg = tmp_path / "pkg" / "userpkg"
    pkg.mkdir(parents=True)
    (pkg / "__init__.py").write_text("")
    (pkg / "nets.py").write_text(
        "from torch import nn\n\n\n"
        "def Net():\n"
        "    return nn.Sequential(nn.Flatten(), nn.Linear(64, 16), nn.ReLU(), nn.Linear(16, 10))\n"
    )
    paths = [str(tmp_path / "pkg"), *filter(None, [os.environ.get("PYTHONPATH")])]
    monkeypatch.setenv("PYTHONPATH", os.pathsep.join(paths))
    write_config(tmp_path, {"params": {"model": "user", "user_model": "userpkg.nets:Net"}})
    snakemake(tmp_path, "--cores", "1", "results/digits/geometry/user.json")
    layers = read_json(tmp_path / "results/digits/geometry/user.json")["layers"]
    assert [(g["rows"], g["cols"]) for g in layers] == [(64, 16), (16, 10)]
