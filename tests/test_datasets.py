"""Readers of the official data-set formats, on small files the tests write themselves."""

from __future__ import annotations

import gzip
import os
import pickle
import struct
from pathlib import Path

import numpy as np
import pytest
import torch

from cimsweep.data import check_data_dir, dataset_info, prepare, random_crop_flip
from cimsweep.datasets import load_arrays
from cimsweep.datasets.idx import parse_idx, read_idx
from cimsweep.datasets.safe_pickle import UnsafePickleError, loads


def _images(n: int, seed: int, shape: tuple[int, ...] = (3, 32, 32)) -> np.ndarray:
    return np.random.default_rng(seed).integers(0, 256, (n, *shape), dtype=np.uint8)


def _write_py_batch(path: Path, x: np.ndarray, labels: list[int], key: bytes, proto: int) -> None:
    batch = {
        b"batch_label": b"testing batch",
        key: labels,
        b"data": x.reshape(len(x), -1),
        b"filenames": [b"img%d.png" % i for i in range(len(x))],
    }
    path.write_bytes(pickle.dumps(batch, protocol=proto))


def _cifar10_py(root: Path, n: int = 20) -> tuple[np.ndarray, np.ndarray]:
    folder = root / "cifar-10-batches-py"
    folder.mkdir(parents=True)
    xs, ys = [], []
    for i, name in enumerate([*(f"data_batch_{k}" for k in range(1, 6)), "test_batch"]):
        x = _images(n, i)
        y = [(j + i) % 10 for j in range(n)]
        _write_py_batch(folder / name, x, y, b"labels", proto=2 if i % 2 else 4)
        xs.append(x)
        ys.append(np.array(y))
    return np.concatenate(xs), np.concatenate(ys)


def test_cifar10_python_batches_read_exactly(tmp_path: Path) -> None:
    x, y = _cifar10_py(tmp_path)
    x_tr, y_tr, x_te, y_te = load_arrays("cifar10", tmp_path)
    assert x_tr.shape == (100, 3, 32, 32) and x_tr.dtype == np.uint8
    assert np.array_equal(x_tr, x[:100]) and np.array_equal(y_tr, y[:100])
    assert np.array_equal(x_te, x[100:]) and np.array_equal(y_te, y[100:])
    # the folder itself may be given as data_dir
    assert np.array_equal(load_arrays("cifar10", tmp_path / "cifar-10-batches-py")[2], x[100:])


def test_cifar100_python_uses_fine_labels(tmp_path: Path) -> None:
    folder = tmp_path / "cifar-100-python"
    folder.mkdir()
    x = _images(20, 7)
    fine = list(range(80, 100))
    for name in ("train", "test"):
        batch = {b"data": x.reshape(20, -1), b"fine_labels": fine, b"coarse_labels": [1] * 20}
        (folder / name).write_bytes(pickle.dumps(batch, protocol=5))
    x_tr, y_tr, _, y_te = load_arrays("cifar100", tmp_path)
    assert np.array_equal(x_tr, x) and np.array_equal(y_tr, fine) and np.array_equal(y_te, fine)


def test_cifar_binary_versions(tmp_path: Path) -> None:
    x = _images(20, 1)
    y = np.arange(20) % 10
    c10 = tmp_path / "cifar-10-batches-bin"
    c10.mkdir()
    rec = np.concatenate([y[:, None].astype(np.uint8), x.reshape(20, -1)], axis=1)
    for name in [*(f"data_batch_{k}.bin" for k in range(1, 6)), "test_batch.bin"]:
        rec.tofile(c10 / name)
    x_tr, y_tr, x_te, y_te = load_arrays("cifar10", tmp_path)
    assert np.array_equal(x_tr, np.concatenate([x] * 5)) and np.array_equal(y_te, y)
    c100 = tmp_path / "cifar-100-binary"
    c100.mkdir()
    fine = np.arange(20, dtype=np.uint8) + 70
    rec100 = np.concatenate([np.full((20, 1), 3, np.uint8), fine[:, None], x.reshape(20, -1)], 1)
    for name in ("train.bin", "test.bin"):
        rec100.tofile(c100 / name)
    x_tr, y_tr, _, _ = load_arrays("cifar100", tmp_path)
    assert np.array_equal(x_tr, x) and np.array_equal(y_tr, fine)
    (c100 / "test.bin").write_bytes(rec100.tobytes()[:-1])
    with pytest.raises(ValueError, match="test.bin.*multiple"):
        load_arrays("cifar100", tmp_path)


class _Evil:
    def __reduce__(self):
        return (os.system, ("echo pwned > /tmp/cimsweep_pwned",))


def test_malicious_pickle_is_refused(tmp_path: Path) -> None:
    folder = tmp_path / "cifar-10-batches-py"
    folder.mkdir()
    evil = pickle.dumps({b"data": _Evil(), b"labels": [0]}, protocol=2)
    with pytest.raises(UnsafePickleError, match="refusing to unpickle global (posix|os|nt)"):
        loads(evil)
    for name in [*(f"data_batch_{k}" for k in range(1, 6)), "test_batch"]:
        (folder / name).write_bytes(evil)
    with pytest.raises(UnsafePickleError, match="data_batch_1"):
        load_arrays("cifar10", tmp_path)
    with pytest.raises(UnsafePickleError, match="builtins.eval"):
        loads(b"cbuiltins\neval\n(S'1+1'\ntR.")
    assert not Path("/tmp/cimsweep_pwned").exists()


def _idx(arr: np.ndarray, type_code: int = 0x08) -> bytes:
    header = bytes([0, 0, type_code, arr.ndim]) + struct.pack(f">{arr.ndim}I", *arr.shape)
    return header + arr.astype(arr.dtype.newbyteorder(">")).tobytes()


@pytest.mark.parametrize("gz", [False, True])
@pytest.mark.parametrize("name,folder", [("mnist", "mnist"), ("fashion_mnist", "fashion_mnist")])
def test_idx_mnist_like(tmp_path: Path, gz: bool, name: str, folder: str) -> None:
    root = tmp_path / folder
    root.mkdir()
    x = _images(20, 2, (28, 28))
    y = (np.arange(20) % 10).astype(np.uint8)
    files = {
        "train-images-idx3-ubyte": x,
        "train-labels-idx1-ubyte": y,
        "t10k-images-idx3-ubyte": x[:5],
        "t10k-labels-idx1-ubyte": y[:5],
    }
    for stem, arr in files.items():
        data = _idx(arr)
        assert data[:4] == (b"\x00\x00\x08\x03" if arr.ndim == 3 else b"\x00\x00\x08\x01")
        if gz:
            (root / f"{stem}.gz").write_bytes(gzip.compress(data))
        else:
            (root / stem).write_bytes(data)
    x_tr, y_tr, x_te, y_te = load_arrays(name, tmp_path)
    assert x_tr.shape == (20, 1, 28, 28) and np.array_equal(x_tr[:, 0], x)
    assert np.array_equal(y_tr, y) and y_tr.dtype == np.int64
    assert np.array_equal(x_te[:, 0], x[:5]) and np.array_equal(y_te, y[:5])
    arrays = prepare(name, 0.2, 0, data_dir=tmp_path)
    assert arrays["x_train"].shape == (20, 1, 28, 28) and arrays["x_train"].dtype == np.float32
    assert abs(arrays["x_train"].mean()) < 1e-5 and abs(arrays["x_train"].std() - 1) < 1e-4
    assert np.allclose(arrays["mean"], x.mean() / 255, atol=1e-6)


def test_idx_types_and_bad_magic(tmp_path: Path) -> None:
    arr = np.arange(12, dtype=np.int32).reshape(3, 4) - 5
    assert np.array_equal(parse_idx(_idx(arr, 0x0C)), arr)
    f = np.linspace(0, 1, 6, dtype=np.float32).reshape(2, 3)
    assert np.array_equal(parse_idx(_idx(f, 0x0D)), f)
    bad = tmp_path / "train-images-idx3-ubyte"
    bad.write_bytes(b"\x12\x34\x08\x03" + b"\x00" * 12)
    with pytest.raises(ValueError, match="magic"):
        read_idx(bad)
    with pytest.raises(ValueError, match="announces"):
        parse_idx(_idx(np.zeros((2, 2), np.uint8))[:-1])


def test_image_folder(tmp_path: Path) -> None:
    from PIL import Image

    rng = np.random.default_rng(0)
    for split, n in (("train", 3), ("val", 1)):
        for cls in ("cat", "dog"):
            d = tmp_path / "imagefolder" / split / cls
            d.mkdir(parents=True)
            for i in range(n):
                img = rng.integers(0, 256, (20, 30, 3), dtype=np.uint8)
                Image.fromarray(img).save(d / f"{i}.png")
    assert dataset_info("imagefolder", tmp_path, image_size=16).num_classes == 2
    x_tr, y_tr, x_te, y_te = load_arrays("imagefolder", tmp_path, image_size=16)
    assert x_tr.shape == (6, 3, 16, 16) and list(y_tr) == [0, 0, 0, 1, 1, 1]
    assert x_te.shape == (2, 3, 16, 16) and list(y_te) == [0, 1]
    arrays = prepare("imagefolder", 0.2, 0, data_dir=tmp_path, image_size=16)
    assert arrays["x_test"].shape == (2, 3, 16, 16)


def test_check_data_dir_names_files_and_download(tmp_path: Path) -> None:
    check_data_dir("digits", None)
    with pytest.raises(ValueError, match=r"data_batch_1.*python -m cimsweep.download cifar10"):
        check_data_dir("cifar10", tmp_path)
    with pytest.raises(ValueError, match=r"t10k-labels-idx1-ubyte\[.gz\]"):
        check_data_dir("mnist", tmp_path)
    with pytest.raises(ValueError, match="train/<class>"):
        check_data_dir("imagefolder", tmp_path)
    with pytest.raises(ValueError, match="unknown dataset"):
        check_data_dir("svhn", tmp_path)


def test_random_crop_flip_is_seeded_and_shape_preserving() -> None:
    x = torch.arange(2 * 3 * 8 * 8, dtype=torch.float32).reshape(2, 3, 8, 8)
    a = random_crop_flip(x, torch.Generator().manual_seed(1))
    b = random_crop_flip(x, torch.Generator().manual_seed(1))
    assert a.shape == x.shape and torch.equal(a, b)
    # no padding, no flip: identity; flip only: mirror or identity per sample
    assert torch.equal(random_crop_flip(x, torch.Generator(), pad=0, flip=False), x)
    f = random_crop_flip(x, torch.Generator().manual_seed(0), pad=0)
    for i in range(2):
        assert torch.equal(f[i], x[i]) or torch.equal(f[i], x[i].flip(2))
    # a crop is a shifted window of the zero-padded image
    c = random_crop_flip(x, torch.Generator().manual_seed(3), pad=2, flip=False)
    padded = torch.nn.functional.pad(x, (2, 2, 2, 2))
    windows = [padded[0, :, i : i + 8, j : j + 8] for i in range(5) for j in range(5)]
    assert any(torch.equal(c[0], w) for w in windows)


# ---- download: checksum and unpack logic on local archives (no network) ---------------------
def _cifar_tarball(tmp_path: Path) -> Path:
    src = tmp_path / "src"
    _cifar10_py(src, n=2)
    archive = tmp_path / "cifar-10-python.tar.gz"
    import tarfile

    with tarfile.open(archive, "w:gz") as tar:
        tar.add(src / "cifar-10-batches-py", arcname="cifar-10-batches-py")
    return archive


def test_download_verifies_and_unpacks_local_archive(tmp_path: Path, monkeypatch) -> None:
    from cimsweep import download as dl

    archive = _cifar_tarball(tmp_path)
    good = dl.md5sum(archive)
    res = dl.Resource(archive.name, ("file://bad-host/", f"{tmp_path.as_uri()}/"), good, True)
    monkeypatch.setitem(dl.SOURCES, ("cifar10", "python"), (res,))
    data = tmp_path / "data"
    assert dl.main(["cifar10", str(data)]) == 0
    check_data_dir("cifar10", data)
    assert load_arrays("cifar10", data)[0].shape == (10, 3, 32, 32)
    assert not (data / archive.name).exists()  # archive removed after unpacking
    assert dl.download("cifar10", data) == []  # already present: nothing fetched

    bad = dl.Resource(archive.name, (f"{tmp_path.as_uri()}/",), "0" * 32, True)
    monkeypatch.setitem(dl.SOURCES, ("cifar10", "python"), (bad,))
    with pytest.raises(RuntimeError, match="does not match the published"):
        dl.download("cifar10", tmp_path / "other")
    assert not (tmp_path / "other" / archive.name).exists()  # corrupt file not kept
    with pytest.raises(ValueError, match="does not match"):
        dl.verify(archive, "0" * 32)


def test_safe_extract_refuses_escaping_members(tmp_path: Path) -> None:
    import io
    import tarfile

    from cimsweep.download import safe_extract

    archive = tmp_path / "evil.tar"
    with tarfile.open(archive, "w") as tar:
        info = tarfile.TarInfo("../escape.txt")
        info.size = 2
        tar.addfile(info, io.BytesIO(b"hi"))
    with pytest.raises(ValueError, match="leaves"):
        safe_extract(archive, tmp_path / "out")
    assert not (tmp_path / "escape.txt").exists()
    with tarfile.open(archive, "w") as tar:
        link = tarfile.TarInfo("link")
        link.type = tarfile.SYMTYPE
        link.linkname = "/etc/passwd"
        tar.addfile(link)
    with pytest.raises(ValueError, match="not a plain file"):
        safe_extract(archive, tmp_path / "out")


def test_download_knows_official_checksums() -> None:
    from cimsweep.download import SOURCES, download

    assert SOURCES[("cifar10", "python")][0].md5 == "c58f30108f718f92721af3b95e74349a"
    assert len(SOURCES[("mnist", "idx")]) == 4
    with pytest.raises(ValueError, match="ImageNet"):
        download("imagefolder", "/nonexistent")
