"""Data sets: the embedded scikit-learn digits default.

Splits are stratified and seeded; normalisation statistics (per channel mean and std) come from
the training split only and are stored beside the arrays.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np


@dataclass(frozen=True)
class DatasetInfo:
    """Static facts about a data set: image shape (C, H, W) and class count."""

    in_shape: tuple[int, int, int]
    num_classes: int


DATASETS: dict[str, DatasetInfo] = {"digits": DatasetInfo((1, 8, 8), 10)}


def dataset_info(name: str) -> DatasetInfo:
    """Look up a data set, naming the valid choices when ``name`` is unknown."""
    try:
        return DATASETS[name]
    except KeyError:
        raise ValueError(f"unknown dataset {name!r}; expected one of {sorted(DATASETS)}") from None


def load_raw(name: str) -> tuple[np.ndarray, np.ndarray]:
    """Images (N, C, H, W) float32 and labels (N,) int64 of a data set, unnormalised."""
    dataset_info(name)
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


def prepare(name: str, test_fraction: float, seed: int) -> dict[str, np.ndarray]:
    """Split and normalise a data set; returns the arrays stored in the ``.npz`` split file."""
    x, y = load_raw(name)
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


def check_split(arrays: dict[str, np.ndarray], path: str) -> None:
    """Raise a ValueError naming ``path`` if a split file lacks arrays or has inconsistent shapes."""
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
