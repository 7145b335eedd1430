"""Writers of small data sets in the exact official on-disk formats (tests only).

CIFAR-10/100 "python version" (pickled dicts of byte-string keys) and "binary version"
(fixed-length records), MNIST-style IDX files (gzipped or not) and ImageNet-style folder trees,
laid out as their official archives unpack (``cifar-10-batches-py/``, ``mnist/``, ...).
"""

from __future__ import annotations

import gzip
import pickle
import struct
from collections.abc import Sequence
from pathlib import Path

import numpy as np

Split = tuple[np.ndarray, np.ndarray]  # uint8 images (N, C, H, W), integer labels (N,)


def random_images(n: int, seed: int, shape: tuple[int, ...] = (3, 32, 32)) -> np.ndarray:
    """``n`` uniform random uint8 images."""
    return np.random.default_rng(seed).integers(0, 256, (n, *shape), dtype=np.uint8)


def patterned_images(labels: np.ndarray, shape: tuple[int, int, int], seed: int) -> np.ndarray:
    """uint8 images whose class is visible: noise in 0..95 plus a bright horizontal band
    (+150) at rows ``(label % 10) * band .. + band``, ``band = H // 10`` (a small CNN learns
    it in a few epochs)."""
    c, h, w = shape
    x = np.random.default_rng(seed).integers(0, 96, (len(labels), c, h, w), dtype=np.uint8)
    band = max(1, h // 10)
    for i, label in enumerate(labels):
        r0 = (int(label) % 10) * band
        x[i, :, r0 : r0 + band, :] += 150
    return x


def balanced_labels(n: int, classes: int, offset: int = 0) -> np.ndarray:
    """``n`` labels cycling through ``classes`` (int64)."""
    return (np.arange(n) + offset) % classes


def _py_batch(x: np.ndarray, labels: Sequence[int], key: bytes, extra: dict) -> dict:
    return {
        b"batch_label": b"testing batch",
        key: [int(v) for v in labels],
        b"data": np.ascontiguousarray(x.reshape(len(x), -1)),
        b"filenames": [b"img%d.png" % i for i in range(len(x))],
        **extra,
    }


def write_cifar_python(
    root: Path, name: str, train: Split, test: Split, protocols: Sequence[int] = (4,)
) -> Path:
    """CIFAR python version under ``root``: CIFAR-10 splits ``train`` into ``data_batch_1..5``
    plus ``test_batch`` and ``batches.meta``; CIFAR-100 writes ``train``, ``test`` (fine and
    coarse labels) and ``meta``. Batch ``i`` is pickled with ``protocols[i % len]``."""
    if name == "cifar10":
        folder = root / "cifar-10-batches-py"
        names = [f"data_batch_{k}" for k in range(1, 6)]
        parts = list(zip(np.array_split(train[0], 5), np.array_split(train[1], 5), strict=True))
        key, extra, meta_name = b"labels", {}, "batches.meta"
        meta = {b"label_names": [b"class%d" % k for k in range(10)], b"num_vis": 3072}
    elif name == "cifar100":
        folder = root / "cifar-100-python"
        names, parts = ["train"], [train]
        key, meta_name = b"fine_labels", "meta"
        meta = {
            b"fine_label_names": [b"fine%d" % k for k in range(100)],
            b"coarse_label_names": [b"coarse%d" % k for k in range(20)],
        }
    else:
        raise ValueError(f"not a CIFAR data set: {name!r}")
    folder.mkdir(parents=True, exist_ok=True)
    test_name = "test_batch" if name == "cifar10" else "test"
    for i, (fname, (x, y)) in enumerate([*zip(names, parts, strict=True), (test_name, test)]):
        if name == "cifar100":
            extra = {b"coarse_labels": [int(v) // 5 for v in y]}
        batch = _py_batch(x, y, key, extra)
        (folder / fname).write_bytes(pickle.dumps(batch, protocol=protocols[i % len(protocols)]))
    (folder / meta_name).write_bytes(pickle.dumps(meta, protocol=2))
    return folder


def write_cifar_binary(root: Path, name: str, train: Split, test: Split) -> Path:
    """CIFAR binary version: ``<label><3072 px>`` records (CIFAR-100: ``<coarse><fine><px>``)."""
    c100 = name == "cifar100"
    folder = root / ("cifar-100-binary" if c100 else "cifar-10-batches-bin")
    folder.mkdir(parents=True, exist_ok=True)

    def records(x: np.ndarray, y: np.ndarray) -> np.ndarray:
        labels = [y[:, None] // 5, y[:, None]] if c100 else [y[:, None]]
        return np.concatenate([*(v.astype(np.uint8) for v in labels), x.reshape(len(x), -1)], 1)

    if c100:
        records(*train).tofile(folder / "train.bin")
        records(*test).tofile(folder / "test.bin")
    else:
        for k, (x, y) in enumerate(
            zip(np.array_split(train[0], 5), np.array_split(train[1], 5), strict=True), 1
        ):
            records(x, y).tofile(folder / f"data_batch_{k}.bin")
        records(*test).tofile(folder / "test_batch.bin")
    return folder


def idx_bytes(arr: np.ndarray, type_code: int = 0x08) -> bytes:
    """One IDX file: magic (0, 0, type, ndim), big-endian uint32 dims, big-endian data."""
    header = bytes([0, 0, type_code, arr.ndim]) + struct.pack(f">{arr.ndim}I", *arr.shape)
    return header + arr.astype(arr.dtype.newbyteorder(">")).tobytes()


def write_idx_set(root: Path, train: Split, test: Split, gz: bool = True) -> Path:
    """MNIST-style IDX files in ``root`` (images (N, 28, 28) uint8, labels (N,) uint8)."""
    root.mkdir(parents=True, exist_ok=True)
    files = {
        "train-images-idx3-ubyte": train[0].reshape(-1, *train[0].shape[-2:]),
        "train-labels-idx1-ubyte": np.asarray(train[1], dtype=np.uint8),
        "t10k-images-idx3-ubyte": test[0].reshape(-1, *test[0].shape[-2:]),
        "t10k-labels-idx1-ubyte": np.asarray(test[1], dtype=np.uint8),
    }
    for stem, arr in files.items():
        data = idx_bytes(arr)
        if gz:
            (root / f"{stem}.gz").write_bytes(gzip.compress(data))
        else:
            (root / stem).write_bytes(data)
    return root


def write_image_folder(root: Path, splits: dict[str, Split], classes: Sequence[str]) -> Path:
    """``root/<split>/<class>/<i>.png`` from (N, 3, H, W) uint8 images and class indices."""
    from PIL import Image

    for split, (x, y) in splits.items():
        for cls in classes:
            (root / split / cls).mkdir(parents=True, exist_ok=True)
        for i, (img, label) in enumerate(zip(x, y, strict=True)):
            Image.fromarray(img.transpose(1, 2, 0)).save(root / split / classes[label] / f"{i}.png")
    return root
