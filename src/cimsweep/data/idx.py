"""IDX files (MNIST, Fashion-MNIST), gzipped or not.

Format (http://yann.lecun.com/exdb/mnist/): two zero bytes, a type byte (0x08 uint8, 0x09
int8, 0x0B int16, 0x0C int32, 0x0D float32, 0x0E float64), a dimension count, then one
big-endian uint32 per dimension and the big-endian data.
"""

from __future__ import annotations

import gzip
from pathlib import Path

import numpy as np

DTYPES = {0x08: ">u1", 0x09: ">i1", 0x0B: ">i2", 0x0C: ">i4", 0x0D: ">f4", 0x0E: ">f8"}
FILES = {
    "train_images": "train-images-idx3-ubyte",
    "train_labels": "train-labels-idx1-ubyte",
    "test_images": "t10k-images-idx3-ubyte",
    "test_labels": "t10k-labels-idx1-ubyte",
}


def parse_idx(data: bytes, source: str = "<bytes>") -> np.ndarray:
    """Array held by the bytes of one IDX file."""
    if len(data) < 4 or data[0] != 0 or data[1] != 0 or data[2] not in DTYPES:
        raise ValueError(f"{source}: not an IDX file (bad magic number {data[:4].hex()})")
    ndim = data[3]
    header = 4 + 4 * ndim
    if len(data) < header:
        raise ValueError(f"{source}: truncated IDX header")
    dims = tuple(int(d) for d in np.frombuffer(data, ">u4", count=ndim, offset=4))
    dtype = np.dtype(DTYPES[data[2]])
    expected = int(np.prod(dims, dtype=np.int64)) * dtype.itemsize
    if len(data) - header != expected:
        raise ValueError(
            f"{source}: IDX header announces {dims} ({expected} B) but {len(data) - header} B "
            "follow"
        )
    return np.frombuffer(data, dtype, offset=header).reshape(dims).astype(dtype.newbyteorder("="))


def read_idx(path: str | Path) -> np.ndarray:
    """Array of an IDX file; ``.gz`` files (or gzip magic) are decompressed."""
    path = Path(path)
    raw = path.read_bytes()
    if raw[:2] == b"\x1f\x8b":
        raw = gzip.decompress(raw)
    return parse_idx(raw, str(path))


def find_file(root: Path, stem: str) -> Path | None:
    """``root/stem`` or ``root/stem.gz``, whichever exists."""
    for name in (stem, stem + ".gz"):
        if (root / name).is_file():
            return root / name
    return None


def load_mnist_like(root: Path) -> tuple[np.ndarray, ...]:
    """(x_train, y_train, x_test, y_test): images (N, 1, 28, 28) uint8, labels int64."""
    arrays: dict[str, np.ndarray] = {}
    for key, stem in FILES.items():
        path = find_file(root, stem)
        if path is None:
            raise FileNotFoundError(f"{root}: missing {stem}[.gz]")
        arrays[key] = read_idx(path)
    out: list[np.ndarray] = []
    for part in ("train", "test"):
        x, y = arrays[f"{part}_images"], arrays[f"{part}_labels"]
        if x.ndim != 3 or y.ndim != 1 or len(x) != len(y):
            raise ValueError(
                f"{root}: {part} images must be (N, H, W) and labels (N,), got {x.shape} and "
                f"{y.shape}"
            )
        out += [x[:, None].astype(np.uint8), y.astype(np.int64)]
    return tuple(out)
