"""Fetch the official data-set archives, verify their MD5 checksums and unpack them.

Run once before a sweep (never inside workflow jobs)::

    python -m cimsweep.download cifar10 data            # python version (default)
    python -m cimsweep.download cifar10 data --format binary
    python -m cimsweep.download mnist data

URLs and checksums are those published on the data sets' pages:
https://www.cs.toronto.edu/~kriz/cifar.html, http://yann.lecun.com/exdb/mnist/ (served from
the PyTorch mirror) and https://github.com/zalandoresearch/fashion-mnist. ImageNet-style folders
cannot be downloaded automatically (registration required).
"""

from __future__ import annotations

import argparse
import hashlib
import logging
import os
import sys
import tarfile
import tempfile
import urllib.request
from dataclasses import dataclass
from pathlib import Path

log = logging.getLogger(__name__)

_TORONTO = ("https://www.cs.toronto.edu/~kriz/", "https://cave.cs.toronto.edu/kriz/")
_MNIST = ("https://ossci-datasets.s3.amazonaws.com/mnist/", "http://yann.lecun.com/exdb/mnist/")
_FASHION = ("http://fashion-mnist.s3-website.eu-central-1.amazonaws.com/",)


@dataclass(frozen=True)
class Resource:
    """One file to fetch: its name, mirror base URLs, MD5, and whether to unpack it."""

    filename: str
    mirrors: tuple[str, ...]
    md5: str
    extract: bool = False
    subdir: str = ""  # folder (under data_dir) the file is stored in when not extracted

    @property
    def urls(self) -> list[str]:
        return [m + self.filename for m in self.mirrors]


def _idx_set(mirrors: tuple[str, ...], subdir: str, md5s: dict[str, str]) -> tuple[Resource, ...]:
    return tuple(Resource(f"{stem}.gz", mirrors, md5, subdir=subdir) for stem, md5 in md5s.items())


SOURCES: dict[tuple[str, str], tuple[Resource, ...]] = {
    ("cifar10", "python"): (
        Resource("cifar-10-python.tar.gz", _TORONTO, "c58f30108f718f92721af3b95e74349a", True),
    ),
    ("cifar10", "binary"): (
        Resource("cifar-10-binary.tar.gz", _TORONTO, "c32a1d4ab5d03f1284b67883e8d87530", True),
    ),
    ("cifar100", "python"): (
        Resource("cifar-100-python.tar.gz", _TORONTO, "eb9058c3a382ffc7106e4002c42a8d85", True),
    ),
    ("cifar100", "binary"): (
        Resource("cifar-100-binary.tar.gz", _TORONTO, "03b5dce01913d631647c71ecec9e9cb8", True),
    ),
    ("mnist", "idx"): _idx_set(
        _MNIST,
        "mnist",
        {
            "train-images-idx3-ubyte": "f68b3c2dcbeaaa9fbdd348bbdeb94873",
            "train-labels-idx1-ubyte": "d53e105ee54ea40749a09fcbcd1e9432",
            "t10k-images-idx3-ubyte": "9fb629c4189551a2d022fa330f9573f3",
            "t10k-labels-idx1-ubyte": "ec29112dd5afa0611ce80d1b7f02629c",
        },
    ),
    ("fashion_mnist", "idx"): _idx_set(
        _FASHION,
        "fashion_mnist",
        {
            "train-images-idx3-ubyte": "8d4fb7e6c68d591d4c3dfef9ec88bf0d",
            "train-labels-idx1-ubyte": "25c81989df183df01b3e8a0aad5dffbe",
            "t10k-images-idx3-ubyte": "bef4ecab320f06d8554ea6380940ec79",
            "t10k-labels-idx1-ubyte": "bb300cfdad3c16e7a12a480ee83cd310",
        },
    ),
}
DEFAULT_FORMAT = {"cifar10": "python", "cifar100": "python", "mnist": "idx", "fashion_mnist": "idx"}


def md5sum(path: str | Path, chunk: int = 1 << 20) -> str:
    """Hex MD5 of a file (integrity check against the published checksums)."""
    digest = hashlib.md5(usedforsecurity=False)
    with open(path, "rb") as fh:
        while block := fh.read(chunk):
            digest.update(block)
    return digest.hexdigest()


def verify(path: str | Path, md5: str) -> None:
    """Raise ValueError when ``path``'s MD5 differs from ``md5``."""
    got = md5sum(path)
    if got != md5.lower():
        raise ValueError(
            f"{path}: MD5 {got} does not match the published {md5}; the download "
            "is corrupt or incomplete (delete it and retry)"
        )


def fetch(url: str, dest: str | Path, timeout: float = 60.0) -> Path:
    """Stream ``url`` to ``dest`` through a temporary file (no partial file is left behind)."""
    dest = Path(dest)
    dest.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{dest.name}.", suffix=".part", dir=dest.parent)
    try:
        req = urllib.request.Request(url, headers={"User-Agent": "cimsweep-download"})
        with os.fdopen(fd, "wb") as out, urllib.request.urlopen(req, timeout=timeout) as resp:
            total = int(resp.headers.get("Content-Length") or 0)
            done = 0
            while block := resp.read(1 << 20):
                out.write(block)
                done += len(block)
                if total and done % (16 << 20) < len(block):
                    log.info("%s: %.0f%%", dest.name, 100 * done / total)
        os.replace(tmp, dest)
    finally:
        if os.path.exists(tmp):
            os.unlink(tmp)
    return dest


def safe_extract(archive: str | Path, dest: str | Path) -> None:
    """Unpack a tar archive into ``dest``, refusing links, devices and paths leaving ``dest``."""
    dest = Path(dest).resolve()
    with tarfile.open(archive) as tar:
        for member in tar.getmembers():
            target = (dest / member.name).resolve()
            if not (member.isfile() or member.isdir()):
                raise ValueError(f"{archive}: refusing member {member.name!r} (not a plain file)")
            if os.path.isabs(member.name) or not target.is_relative_to(dest):
                raise ValueError(f"{archive}: refusing member {member.name!r} (leaves {dest})")
        if hasattr(tarfile, "data_filter"):
            tar.extractall(dest, filter="data")
        else:  # pragma: no cover - Python < 3.11.4; members were checked above
            tar.extractall(dest)


def obtain(res: Resource, data_dir: Path) -> Path:
    """Download (trying each mirror), verify and, for archives, unpack one resource."""
    dest = data_dir / res.subdir / res.filename
    if dest.is_file():
        try:
            verify(dest, res.md5)
            log.info("%s: present, checksum ok", dest)
        except ValueError:
            log.warning("%s: checksum mismatch, downloading again", dest)
            dest.unlink()
    if not dest.is_file():
        errors = []
        for url in res.urls:
            try:
                log.info("fetching %s", url)
                fetch(url, dest)
                verify(dest, res.md5)
                break
            except (OSError, ValueError) as exc:
                errors.append(f"{url}: {exc}")
                dest.unlink(missing_ok=True)
        else:
            raise RuntimeError(f"could not fetch {res.filename}:\n  " + "\n  ".join(errors))
    if res.extract:
        log.info("unpacking %s into %s", dest, data_dir)
        safe_extract(dest, data_dir)
    return dest


def download(dataset: str, data_dir: str | Path, fmt: str | None = None) -> list[Path]:
    """Fetch, verify and unpack ``dataset`` under ``data_dir``; returns the files fetched."""
    fmt = fmt or DEFAULT_FORMAT.get(dataset, "")
    if (dataset, fmt) not in SOURCES:
        choices = ", ".join(f"{d} ({f})" for d, f in SOURCES)
        raise ValueError(
            f"no download for dataset {dataset!r} format {fmt!r}; available: "
            f"{choices}. ImageNet-style folders must be obtained by hand"
        )
    from cimsweep.data.formats import check_data_dir

    root = Path(data_dir)
    try:
        check_data_dir(dataset, root)
    except ValueError:
        pass
    else:
        log.info("%s: already present under %s, nothing to fetch", dataset, root)
        return []
    root.mkdir(parents=True, exist_ok=True)
    paths = [obtain(res, root) for res in SOURCES[(dataset, fmt)]]
    check_data_dir(dataset, root)
    return paths


def main(argv: list[str] | None = None) -> int:
    """Command line: ``python -m cimsweep.download <dataset> <data_dir> [--format F]``."""
    parser = argparse.ArgumentParser(
        prog="python -m cimsweep.download",
        description=__doc__,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument("dataset", choices=sorted(DEFAULT_FORMAT))
    parser.add_argument("data_dir")
    parser.add_argument(
        "--format",
        choices=sorted({f for _, f in SOURCES}),
        default=None,
        help="archive format (CIFAR: python or binary)",
    )
    parser.add_argument(
        "--keep-archive", action="store_true", help="keep the .tar.gz after unpacking"
    )
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(message)s")
    try:
        paths = download(args.dataset, args.data_dir, args.format)
    except (ValueError, RuntimeError) as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 1
    for path in paths:
        if tarfile.is_tarfile(path) and not args.keep_archive:
            path.unlink()
    print(f"{args.dataset} ready under {args.data_dir}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
