"""Readers for the official on-disk formats of the supported data sets.

Every data set lives under ``data_dir``, either in its own sub-folder (the folder its official
archive unpacks to, e.g. ``data/cifar-10-batches-py``) or directly in ``data_dir``.
:func:`check_data_dir` says which files are expected and how to fetch them;
:func:`load_arrays` returns raw uint8 images (N, C, H, W) and int64 labels.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from . import cifar, folder, idx


@dataclass(frozen=True)
class Layout:
    """One on-disk format of a data set: candidate folders and the files that must exist."""

    label: str
    folders: tuple[str, ...]
    files: tuple[str, ...]
    loader: Callable[[Path], tuple[np.ndarray | None, ...]]
    gz_optional: bool = False

    def present(self, root: Path) -> bool:
        if self.gz_optional:
            return all(idx.find_file(root, f) is not None for f in self.files)
        return all((root / f).is_file() for f in self.files)

    def find(self, data_dir: Path) -> Path | None:
        """The first candidate folder holding every file, or None."""
        for root in [data_dir / f for f in self.folders] + [data_dir]:
            if root.is_dir() and self.present(root):
                return root
        return None


def _cifar_layouts(name: str) -> tuple[Layout, ...]:
    py_train, py_test = cifar.PY_FILES[name]
    bin_train, bin_test = cifar.BIN_FILES[name]
    return (
        Layout(
            "python version",
            (cifar.PY_DIRS[name],),
            (*py_train, *py_test),
            lambda r: cifar.load_python(r, name),
        ),
        Layout(
            "binary version",
            (cifar.BIN_DIRS[name],),
            (*bin_train, *bin_test),
            lambda r: cifar.load_binary(r, name),
        ),
    )


def _mnist_layout(folders: tuple[str, ...]) -> tuple[Layout, ...]:
    return (Layout("IDX files", folders, tuple(idx.FILES.values()), idx.load_mnist_like, True),)


LAYOUTS: dict[str, tuple[Layout, ...]] = {
    "cifar10": _cifar_layouts("cifar10"),
    "cifar100": _cifar_layouts("cifar100"),
    "mnist": _mnist_layout(("mnist", "MNIST/raw", "MNIST")),
    "fashion_mnist": _mnist_layout(
        ("fashion_mnist", "fashion-mnist", "FashionMNIST/raw", "FashionMNIST")
    ),
}
FOLDER_DATASETS = {"imagefolder": ("imagefolder", "imagenet")}
DOWNLOADABLE = ("cifar10", "cifar100", "mnist", "fashion_mnist")


def _folder_root(name: str, data_dir: Path) -> Path | None:
    for root in [data_dir / f for f in FOLDER_DATASETS[name]] + [data_dir]:
        if (root / "train").is_dir() and folder.class_names(root / "train"):
            return root
    return None


def _expectation(name: str, data_dir: Path) -> str:
    if name in FOLDER_DATASETS:
        subs = " or ".join(f"{data_dir / f}" for f in FOLDER_DATASETS[name])
        return (
            f"expected an image folder tree {subs} (or {data_dir} itself) holding "
            "train/<class>/<images> and optionally val/<class>/<images>; there is no "
            "automatic download (ImageNet requires registration at https://image-net.org)"
        )
    options = []
    for lay in LAYOUTS[name]:
        gz = "[.gz]" if lay.gz_optional else ""
        files = ", ".join(f + gz for f in lay.files)
        options.append(f"{lay.label} in {data_dir / lay.folders[0]}: {files}")
    return (
        "expected one of: "
        + "; ".join(options)
        + f". Fetch it with `python -m cimsweep.download {name} {data_dir}`"
    )


def check_data_dir(dataset: str, data_dir: str | Path | None) -> None:
    """Raise ValueError naming the expected files (and the download command) when the data
    set's files are not under ``data_dir``. The embedded ``digits`` set needs no files."""
    if dataset == "digits":
        return
    if dataset not in LAYOUTS and dataset not in FOLDER_DATASETS:
        known = sorted(["digits", *LAYOUTS, *FOLDER_DATASETS])
        raise ValueError(f"unknown dataset {dataset!r}; expected one of {known}")
    if not data_dir:
        raise ValueError(f"dataset {dataset!r} needs data_dir (the folder holding its files)")
    root = Path(data_dir)
    if dataset in FOLDER_DATASETS:
        folder.require_pillow()
        if _folder_root(dataset, root) is None:
            raise ValueError(f"{dataset}: no data under {root}: {_expectation(dataset, root)}")
        return
    if not any(lay.find(root) for lay in LAYOUTS[dataset]):
        raise ValueError(f"{dataset}: no data under {root}: {_expectation(dataset, root)}")


def load_arrays(
    dataset: str, data_dir: str | Path, image_size: int = 32
) -> tuple[np.ndarray, np.ndarray, np.ndarray | None, np.ndarray | None]:
    """(x_train, y_train, x_test, y_test) as uint8 (N, C, H, W) and int64 labels.

    The test pair is None when the data set has no official test split (an image folder
    without ``val/``); the caller then splits the training set.
    """
    check_data_dir(dataset, data_dir)
    root = Path(data_dir)
    if dataset in FOLDER_DATASETS:
        found = _folder_root(dataset, root)
        assert found is not None
        return folder.load_folder(found, image_size)  # type: ignore[return-value]
    for lay in LAYOUTS[dataset]:
        found = lay.find(root)
        if found is not None:
            return lay.loader(found)  # type: ignore[return-value]
    raise AssertionError("unreachable: check_data_dir passed")


def folder_classes(dataset: str, data_dir: str | Path) -> list[str]:
    """Class names of an image-folder data set (sorted training folders)."""
    check_data_dir(dataset, data_dir)
    found = _folder_root(dataset, Path(data_dir))
    assert found is not None
    return folder.class_names(found / "train")
