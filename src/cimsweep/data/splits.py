"""Data sets: the embedded scikit-learn digits default and file-based sets read from the
official formats (:mod:`cimsweep.data.formats`): CIFAR-10/100, MNIST, Fashion-MNIST and
ImageNet-style image folders.

Splits are stratified and seeded where a data set has no official test split (digits, image
folders without ``val/``); otherwise the official train/test split is used and
``test_fraction`` is ignored. Normalisation statistics (per channel mean and std) come from the
training split only and are stored beside the arrays. Image pixels are scaled to [0, 1] before
normalising (digits keep their 0..16 scale).
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np

if TYPE_CHECKING:
    import torch

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class DatasetInfo:
    """Static facts about a data set: image shape (C, H, W) and class count."""

    in_shape: tuple[int, int, int]
    num_classes: int


DATASETS: dict[str, DatasetInfo] = {
    "digits": DatasetInfo((1, 8, 8), 10),
    "mnist": DatasetInfo((1, 28, 28), 10),
    "fashion_mnist": DatasetInfo((1, 28, 28), 10),
    "cifar10": DatasetInfo((3, 32, 32), 10),
    "cifar100": DatasetInfo((3, 32, 32), 100),
}
# Data sets whose shape and classes depend on the files (image size, class folders).
FOLDER_DATASETS = ("imagefolder",)
# Data sets trained with random-crop + flip augmentation under ``augment="auto"``.
AUGMENTED_BY_DEFAULT = ("cifar10", "cifar100", "imagefolder")


def dataset_info(
    name: str, data_dir: str | Path | None = None, image_size: int = 32
) -> DatasetInfo:
    """Look up a data set, naming the valid choices when ``name`` is unknown.

    Image-folder data sets need ``data_dir`` (their class count is the number of class
    folders) and take their shape from ``image_size``.
    """
    if name in FOLDER_DATASETS:
        if data_dir is None:
            raise ValueError(f"dataset {name!r} needs data_dir to count its class folders")
        from cimsweep.data.formats import folder_classes

        return DatasetInfo((3, image_size, image_size), len(folder_classes(name, data_dir)))
    try:
        return DATASETS[name]
    except KeyError:
        known = sorted([*DATASETS, *FOLDER_DATASETS])
        raise ValueError(f"unknown dataset {name!r}; expected one of {known}") from None


def check_data_dir(name: str, data_dir: str | Path | None) -> None:
    """Raise ValueError (expected files, download command) when ``name``'s files are missing."""
    from cimsweep.data.formats import check_data_dir as _check

    _check(name, data_dir)


def load_raw(name: str, data_dir: str | Path | None = None) -> tuple[np.ndarray, np.ndarray]:
    """Images (N, C, H, W) float32 and labels (N,) int64 of the digits set, unnormalised."""
    dataset_info(name, data_dir)
    if name != "digits":
        raise ValueError(f"load_raw only serves the embedded digits set; use prepare({name!r})")
    from sklearn.datasets import load_digits

    digits = load_digits()
    x = digits.images.astype(np.float32)[:, None, :, :]
    y = digits.target.astype(np.int64)
    return x, y


def stratified_split(
    y: np.ndarray, test_fraction: float, seed: int
) -> tuple[np.ndarray, np.ndarray]:
    """Train and test index arrays with each class split in the same proportion."""
    rng = np.random.default_rng(seed)
    train_idx, test_idx = [], []
    for cls in np.unique(y):
        idx = np.flatnonzero(y == cls)
        rng.shuffle(idx)
        n_test = int(round(test_fraction * idx.size))
        test_idx.append(idx[:n_test])
        train_idx.append(idx[n_test:])
    return np.sort(np.concatenate(train_idx)), np.sort(np.concatenate(test_idx))


def channel_stats(x: np.ndarray, scale: float = 1.0, chunk: int = 4096) -> tuple[np.ndarray, ...]:
    """Per-channel mean and std (float64, shape (C,)) of ``x * scale``, in chunks."""
    c = x.shape[1]
    total = np.zeros(c)
    total_sq = np.zeros(c)
    for i in range(0, len(x), chunk):
        part = x[i : i + chunk].astype(np.float64) * scale
        total += part.sum(axis=(0, 2, 3))
        total_sq += np.square(part).sum(axis=(0, 2, 3))
    n = len(x) * x.shape[2] * x.shape[3]
    mean = total / n
    std = np.sqrt(np.maximum(total_sq / n - mean**2, 0.0))
    return mean, std


def normalize(
    x: np.ndarray, mean: np.ndarray, std: np.ndarray, scale: float = 1.0, chunk: int = 4096
) -> np.ndarray:
    """``(x * scale - mean) / std`` per channel as float32 (chunked: bounded extra memory)."""
    out = np.empty(x.shape, dtype=np.float32)
    m = mean.reshape(1, -1, 1, 1).astype(np.float32)
    s = std.reshape(1, -1, 1, 1).astype(np.float32)
    for i in range(0, len(x), chunk):
        out[i : i + chunk] = (x[i : i + chunk].astype(np.float32) * np.float32(scale) - m) / s
    return out


def _normalised(
    x_train: np.ndarray,
    y_train: np.ndarray,
    x_test: np.ndarray,
    y_test: np.ndarray,
    scale: float,
) -> dict[str, np.ndarray]:
    mean, std = channel_stats(x_train, scale)
    std = np.where(std > 0, std, 1.0)
    return {
        "x_train": normalize(x_train, mean, std, scale),
        "y_train": y_train.astype(np.int64),
        "x_test": normalize(x_test, mean, std, scale),
        "y_test": y_test.astype(np.int64),
        "mean": mean.astype(np.float32),
        "std": std.astype(np.float32),
    }


def _prepare_digits(test_fraction: float, seed: int) -> dict[str, np.ndarray]:
    x, y = load_raw("digits")
    train_idx, test_idx = stratified_split(y, test_fraction, seed)
    x_train, x_test = x[train_idx], x[test_idx]
    mean = x_train.mean(axis=(0, 2, 3), keepdims=True)
    std = x_train.std(axis=(0, 2, 3), keepdims=True)
    std = np.where(std > 0, std, 1.0).astype(np.float32)
    return {
        "x_train": ((x_train - mean) / std).astype(np.float32),
        "y_train": y[train_idx],
        "x_test": ((x_test - mean) / std).astype(np.float32),
        "y_test": y[test_idx],
        "mean": mean.reshape(-1).astype(np.float32),
        "std": std.reshape(-1).astype(np.float32),
    }


def prepare(
    name: str,
    test_fraction: float,
    seed: int,
    data_dir: str | Path | None = None,
    image_size: int = 32,
) -> dict[str, np.ndarray]:
    """Split and normalise a data set; returns the arrays stored in the ``.npz`` split file.

    Besides the arrays and normalisation statistics, ``num_classes`` (a 0-d int64 array)
    records the class count, so later steps rebuild the model from the split alone
    (:func:`split_info`) without the data files.
    """
    info = dataset_info(name, data_dir, image_size)
    num_classes = np.asarray(info.num_classes, dtype=np.int64)
    if name == "digits":
        return {**_prepare_digits(test_fraction, seed), "num_classes": num_classes}
    from cimsweep.data.formats import load_arrays

    assert data_dir is not None  # dataset_info / check_data_dir refuse None
    x_tr, y_tr, x_te, y_te = load_arrays(name, data_dir, image_size)
    if x_te is None or y_te is None:
        log.info("%s: no official test split; holding out %.3g (stratified)", name, test_fraction)
        train_idx, test_idx = stratified_split(y_tr, test_fraction, seed)
        x_tr, y_tr, x_te, y_te = x_tr[train_idx], y_tr[train_idx], x_tr[test_idx], y_tr[test_idx]
    else:
        log.info("%s: official split, test_fraction ignored", name)
    return {**_normalised(x_tr, y_tr, x_te, y_te, 1.0 / 255.0), "num_classes": num_classes}


def split_info(arrays: dict[str, np.ndarray]) -> DatasetInfo | None:
    """Image shape and class count recorded in a split file, or None for a split written
    before ``num_classes`` was stored."""
    if "num_classes" not in arrays:
        return None
    shape = tuple(int(d) for d in arrays["x_train"].shape[1:])
    return DatasetInfo((shape[0], shape[1], shape[2]), int(arrays["num_classes"]))


def stratified_head(y: np.ndarray, n: int) -> np.ndarray:
    """Indices (sorted) of ``n`` samples spread over the classes in proportion to their counts,
    chosen deterministically (no random draw): each class's samples in file order are
    interleaved by their relative rank ``(rank + 0.5) / class_size`` and the first ``n`` are
    kept. A larger ``n`` keeps every sample of a smaller one; ``n <= 0`` or ``n >= len(y)``
    keeps all."""
    if n <= 0 or n >= len(y):
        return np.arange(len(y))
    _, inverse, counts = np.unique(y, return_inverse=True, return_counts=True)
    order = np.argsort(inverse, kind="stable")
    rank = np.empty(len(y), dtype=np.int64)
    starts = np.concatenate([[0], np.cumsum(counts)[:-1]])
    rank[order] = np.arange(len(y)) - np.repeat(starts, counts)
    key = (rank + 0.5) / counts[inverse]
    return np.sort(np.argsort(key, kind="stable")[:n])


def random_crop_flip(
    x: torch.Tensor, generator: torch.Generator, pad: int = 4, flip: bool = True
) -> torch.Tensor:
    """Training augmentation of a batch (N, C, H, W): random crop after zero-padding by ``pad``
    pixels (zero = the channel mean after normalisation) and a horizontal flip with p = 0.5.

    Random draws come from ``generator`` (a CPU generator), so the result is the same on every
    device for the same seed.
    """
    import torch
    import torch.nn.functional as F

    n, _, h, w = x.shape
    if pad > 0:
        padded = F.pad(x, (pad, pad, pad, pad))
        oy = torch.randint(0, 2 * pad + 1, (n,), generator=generator).to(x.device)
        ox = torch.randint(0, 2 * pad + 1, (n,), generator=generator).to(x.device)
        rows = (oy[:, None] + torch.arange(h, device=x.device))[:, None, :, None]
        cols = (ox[:, None] + torch.arange(w, device=x.device))[:, None, None, :]
        batch = torch.arange(n, device=x.device)[:, None, None, None]
        chan = torch.arange(x.shape[1], device=x.device)[None, :, None, None]
        x = padded[batch, chan, rows, cols]
    if flip:
        mask = (torch.rand(n, generator=generator) < 0.5).to(x.device)
        x = torch.where(mask[:, None, None, None], x.flip(3), x)
    return x


def check_split(arrays: dict[str, np.ndarray], path: str) -> None:
    """Raise a ValueError naming ``path`` if a split file lacks arrays or has bad shapes."""
    required = ("x_train", "y_train", "x_test", "y_test")
    missing = [k for k in required if k not in arrays]
    if missing:
        raise ValueError(f"{path}: split file lacks arrays {missing}; expected {list(required)}")
    for part in ("train", "test"):
        x, y = arrays[f"x_{part}"], arrays[f"y_{part}"]
        if x.ndim != 4 or y.ndim != 1 or len(x) != len(y):
            raise ValueError(
                f"{path}: x_{part} must be (N, C, H, W) and y_{part} (N,), got "
                f"{x.shape} and {y.shape}"
            )
