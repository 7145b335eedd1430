"""CIFAR-10 and CIFAR-100 readers: the official "python version" and "binary version".

Layouts (https://www.cs.toronto.edu/~kriz/cifar.html):

* python: pickled dicts with ``b'data'`` (N x 3072 uint8, channel-major 32x32 planes) and
  ``b'labels'`` (CIFAR-10) or ``b'fine_labels'`` (CIFAR-100); read with the restricted
  unpickler of :mod:`.safe_pickle`.
* binary: fixed-length records, ``<label byte(s)><3072 pixel bytes>``; CIFAR-100 records hold
  a coarse then a fine label byte.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

from cimsweep.data import safe_pickle

PIXELS = 3 * 32 * 32

PY_FILES = {
    "cifar10": ([f"data_batch_{i}" for i in range(1, 6)], ["test_batch"]),
    "cifar100": (["train"], ["test"]),
}
BIN_FILES = {
    "cifar10": ([f"data_batch_{i}.bin" for i in range(1, 6)], ["test_batch.bin"]),
    "cifar100": (["train.bin"], ["test.bin"]),
}
PY_DIRS = {"cifar10": "cifar-10-batches-py", "cifar100": "cifar-100-python"}
BIN_DIRS = {"cifar10": "cifar-10-batches-bin", "cifar100": "cifar-100-binary"}
NUM_CLASSES = {"cifar10": 10, "cifar100": 100}


def _check_labels(y: np.ndarray, n: int, classes: int, path: Path) -> np.ndarray:
    if y.shape != (n,):
        raise ValueError(f"{path}: {y.shape[0]} labels for {n} images")
    if n and (y.min() < 0 or y.max() >= classes):
        raise ValueError(f"{path}: labels outside 0..{classes - 1}")
    return y.astype(np.int64)


def read_python_batch(path: str | Path, classes: int) -> tuple[np.ndarray, np.ndarray]:
    """Images (N, 3, 32, 32) uint8 and labels (N,) int64 of one pickled CIFAR batch."""
    path = Path(path)
    try:
        batch = safe_pickle.load(path)
    except safe_pickle.UnsafePickleError:
        raise
    except Exception as exc:  # garbage bytes raise many types (UnpicklingError, EOFError, ...)
        raise ValueError(
            f"{path}: not a pickled CIFAR python batch ({type(exc).__name__}: {exc}); "
            "expected the files of the official 'python version' archive"
        ) from exc
    if not isinstance(batch, dict):
        raise ValueError(f"{path}: expected a pickled dict, got {type(batch).__name__}")
    batch = {k.decode() if isinstance(k, bytes) else k: v for k, v in batch.items()}
    key = "labels" if "labels" in batch else "fine_labels"
    if "data" not in batch or key not in batch:
        raise ValueError(
            f"{path}: batch lacks 'data' or 'labels'/'fine_labels' (keys: {sorted(batch)})"
        )
    data = np.asarray(batch["data"])
    if data.dtype != np.uint8 or data.ndim != 2 or data.shape[1] != PIXELS:
        raise ValueError(
            f"{path}: 'data' must be N x {PIXELS} uint8, got {data.dtype} {data.shape}"
        )
    y = _check_labels(np.asarray(batch[key]), len(data), classes, path)
    return data.reshape(-1, 3, 32, 32), y


def read_binary_batch(
    path: str | Path, classes: int, label_bytes: int
) -> tuple[np.ndarray, np.ndarray]:
    """Images and labels of one binary CIFAR file (the last label byte is the class)."""
    path = Path(path)
    raw = np.fromfile(path, dtype=np.uint8)
    record = label_bytes + PIXELS
    if raw.size % record:
        raise ValueError(
            f"{path}: size {raw.size} B is not a multiple of the {record}-byte record "
            f"({label_bytes} label byte(s) + {PIXELS} pixels)"
        )
    rows = raw.reshape(-1, record)
    y = _check_labels(rows[:, label_bytes - 1].astype(np.int64), len(rows), classes, path)
    return np.ascontiguousarray(rows[:, label_bytes:]).reshape(-1, 3, 32, 32), y


def _concat(parts: list[tuple[np.ndarray, np.ndarray]]) -> tuple[np.ndarray, np.ndarray]:
    return np.concatenate([p[0] for p in parts]), np.concatenate([p[1] for p in parts])


def load_python(root: Path, name: str) -> tuple[np.ndarray, ...]:
    """(x_train, y_train, x_test, y_test) from a python-version directory."""
    train, test = PY_FILES[name]
    k = NUM_CLASSES[name]
    x_tr, y_tr = _concat([read_python_batch(root / f, k) for f in train])
    x_te, y_te = _concat([read_python_batch(root / f, k) for f in test])
    return x_tr, y_tr, x_te, y_te


def load_binary(root: Path, name: str) -> tuple[np.ndarray, ...]:
    """(x_train, y_train, x_test, y_test) from a binary-version directory."""
    train, test = BIN_FILES[name]
    k, lb = NUM_CLASSES[name], 1 if name == "cifar10" else 2
    x_tr, y_tr = _concat([read_binary_batch(root / f, k, lb) for f in train])
    x_te, y_te = _concat([read_binary_batch(root / f, k, lb) for f in test])
    return x_tr, y_tr, x_te, y_te
