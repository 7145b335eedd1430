"""Readers of the official data-set formats, on small files the tests write themselves."""

from __future__ import annotations

import os
import pickle
from pathlib import Path

import numpy as np
import pytest
import torch

from cimsweep.data import check_data_dir, dataset_info, prepare, random_crop_flip
from cimsweep.data.formats import load_arrays
from cimsweep.data.idx import parse_idx, read_idx
from cimsweep.data.safe_pickle import UnsafePickleError, loads
from tests.official_formats import (
    balanced_labels,
    idx_bytes,
    random_images,
    write_cifar_binary,
    write_cifar_python,
    write_idx_set,
    write_image_folder,
)


def _cifar10_py(root: Path, n: int = 20) -> tuple[np.ndarray, np.ndarray]:
    """CIFAR-10 python version, ``n`` images per batch (pickle protocols 4 and 2 alternate)."""
    xs = [random_images(n, i) for i in range(6)]
    ys = [balanced_labels(n, 10, i) for i in range(6)]
    train = (np.concatenate(xs[:5]), np.concatenate(ys[:5]))
    write_cifar_python(root, "cifar10", train, (xs[5], ys[5]), protocols=(4, 2))
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
    x = random_images(20, 7)
    fine = np.arange(80, 100)
    write_cifar_python(tmp_path, "cifar100", (x, fine), (x, fine), protocols=(5,))
    x_tr, y_tr, _, y_te = load_arrays("cifar100", tmp_path)
    assert np.array_equal(x_tr, x) and np.array_equal(y_tr, fine) and np.array_equal(y_te, fine)


def test_cifar_binary_versions(tmp_path: Path) -> None:
    x = random_images(20, 1)
    y = np.arange(20) % 10
    write_cifar_binary(tmp_path, "cifar10", (np.concatenate([x] * 5), np.tile(y, 5)), (x, y))
    assert (tmp_path / "cifar-10-batches-bin/data_batch_5.bin").stat().st_size == 20 * 3073
    x_tr, y_tr, x_te, y_te = load_arrays("cifar10", tmp_path)
    assert np.array_equal(x_tr, np.concatenate([x] * 5)) and np.array_equal(y_te, y)
    fine = np.arange(20) + 70
    c100 = write_cifar_binary(tmp_path, "cifar100", (x, fine), (x, fine))
    x_tr, y_tr, _, _ = load_arrays("cifar100", tmp_path)
    assert np.array_equal(x_tr, x) and np.array_equal(y_tr, fine)
    (c100 / "test.bin").write_bytes((c100 / "test.bin").read_bytes()[:-1])
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


@pytest.mark.parametrize("gz", [False, True])
@pytest.mark.parametrize("name,folder", [("mnist", "mnist"), ("fashion_mnist", "fashion_mnist")])
def test_idx_mnist_like(tmp_path: Path, gz: bool, name: str, folder: str) -> None:
    x = random_images(20, 2, (28, 28))
    y = (np.arange(20) % 10).astype(np.uint8)
    assert idx_bytes(x)[:4] == b"\x00\x00\x08\x03" and idx_bytes(y)[:4] == b"\x00\x00\x08\x01"
    write_idx_set(tmp_path / folder, (x, y), (x[:5], y[:5]), gz=gz)
    assert (tmp_path / folder / "t10k-images-idx3-ubyte.gz").is_file() == gz
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
    assert np.array_equal(parse_idx(idx_bytes(arr, 0x0C)), arr)
    f = np.linspace(0, 1, 6, dtype=np.float32).reshape(2, 3)
    assert np.array_equal(parse_idx(idx_bytes(f, 0x0D)), f)
    bad = tmp_path / "train-images-idx3-ubyte"
    bad.write_bytes(b"\x12\x34\x08\x03" + b"\x00" * 12)
    with pytest.raises(ValueError, match="magic"):
        read_idx(bad)
    with pytest.raises(ValueError, match="announces"):
        parse_idx(idx_bytes(np.zeros((2, 2), np.uint8))[:-1])


def test_image_folder(tmp_path: Path) -> None:
    splits = {
        "train": (random_images(6, 0, (3, 20, 30)), np.array([0, 0, 0, 1, 1, 1])),
        "val": (random_images(2, 1, (3, 20, 30)), np.array([0, 1])),
    }
    write_image_folder(tmp_path / "imagefolder", splits, ["cat", "dog"])
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
    from cimsweep.data import download as dl

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

    from cimsweep.data.download import safe_extract

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
    from cimsweep.data.download import SOURCES, download

    assert SOURCES[("cifar10", "python")][0].md5 == "c58f30108f718f92721af3b95e74349a"
    assert len(SOURCES[("mnist", "idx")]) == 4
    with pytest.raises(ValueError, match="ImageNet"):
        download("imagefolder", "/nonexistent")
